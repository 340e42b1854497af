"""Validation findings on inline bundles and the sample; CLI exit codes."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from conftest import ROOT, SAMPLE_BASE, SAMPLE_ID, SAMPLE_SURVEY, edit_layer

from ridermap.analysis.validate import validate


def _codes(findings):
    return {(f.code, f.severity) for f in findings}


def test_sample_is_clean(sample_bundle):
    findings = validate(sample_bundle, check_routes=False)
    assert [f for f in findings if f.severity == "error"] == []


def test_building_without_number_and_duplicates(sample_bundle):
    def change(b):
        b.loc[b["id"] == f"{SAMPLE_ID}-b3", ["number", "label"]] = ["", "会所"]
        b.loc[b["id"] == f"{SAMPLE_ID}-b4", ["number", "label"]] = ["1", "1号楼"]
        return b

    codes = _codes(validate(edit_layer(sample_bundle, "buildings", change), check_routes=False))
    assert ("building_without_number", "warning") in codes
    assert ("duplicate_building_number", "error") in codes


def test_duplicate_unit_number_and_door_far_from_building(sample_bundle):
    def change(u):
        u.loc[u["id"] == f"{SAMPLE_ID}-b7-u2", "number"] = "1"
        far = u["id"] == f"{SAMPLE_ID}-b8-u1"
        u.loc[far, "geometry"] = shapely.affinity.translate(u.loc[far].geometry.iloc[0], xoff=0.001)  # ~95 m east
        return u

    findings = validate(edit_layer(sample_bundle, "units", change), check_routes=False)
    codes = _codes(findings)
    assert ("duplicate_unit_number", "error") in codes
    assert ("unit_far_from_building", "error") in codes
    far = [f for f in findings if f.code == "unit_far_from_building"][0]
    assert far.id == f"{SAMPLE_ID}-b8-u1" and far.source.startswith("survey.xlsx:units:")


def test_gate_off_boundary_and_no_rider_gate(sample_bundle):
    def change(g):
        g = g.copy()
        g["rider_access"] = "none"
        g.loc[g["name"] == "东门", "geometry"] = shapely.affinity.translate(
            g.loc[g["name"] == "东门"].geometry.iloc[0], xoff=-0.0004
        )
        return g

    codes = _codes(validate(edit_layer(sample_bundle, "gates", change), check_routes=False))
    assert ("gate_off_boundary", "warning") in codes
    assert ("no_rider_gate", "error") in codes


def test_gcj02_shifted_survey_is_detected(sample_bundle):
    """Survey doors read as WGS84 although they are GCJ-02: caught, with the fix named."""
    from ridermap.crs import wgs84_to_gcj02

    def change(u):
        survey = ~u["source"].str.startswith("osm:")
        lon, lat = wgs84_to_gcj02(u.loc[survey].geometry.x.values, u.loc[survey].geometry.y.values)
        u.loc[survey, "geometry"] = gpd.points_from_xy(lon, lat)
        return u

    findings = validate(edit_layer(sample_bundle, "units", change), check_routes=False)
    shifted = [f for f in findings if f.code == "crs_shifted"]
    assert shifted and 'crs = "gcj02"' in shifted[0].message_en and shifted[0].source == "survey.xlsx"


def test_empty_layers(sample_bundle):
    codes = _codes(validate(sample_bundle.replace(facilities=sample_bundle.facilities.iloc[0:0]), check_routes=False))
    assert ("empty_layer", "warning") in codes


def test_unit_unreachable_from_rider_gates(sample_bundle):
    # cut every footway to building 12's doors: they can no longer be reached
    def change(p):
        doors = sample_bundle.units[sample_bundle.units["building_id"] == f"{SAMPLE_ID}-b12"].geometry
        touching = p.geometry.apply(lambda g: any(g.distance(d) < 1e-6 for d in doors))
        return p[~touching]

    findings = validate(edit_layer(sample_bundle, "paths", change))
    unreachable = {f.id for f in findings if f.code == "unit_unreachable"}
    assert unreachable == {f"{SAMPLE_ID}-b12-u1", f"{SAMPLE_ID}-b12-u2"}


@pytest.mark.parametrize(
    "args, code",
    [
        (["validate", str(SAMPLE_BASE), str(SAMPLE_SURVEY), "--crs", "gcj02"], 0),
        (
            ["validate", str(SAMPLE_BASE), str(SAMPLE_SURVEY)],
            1,
        ),  # undeclared GCJ-02: rows not used are data errors (issue 9)
        (["validate", str(ROOT / "nope.osm")], 2),
        (["validate"], 2),
    ],
)
def test_validate_exit_codes(args, code):
    from cli import main

    result = CliRunner().invoke(main, args + ["--no-routes"])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_validate_json_and_exit_1_on_errors(tmp_path, sample_bundle):
    """A model GeoPackage (what ``ingest`` writes) with two doors numbered 1 in building 7."""
    from cli import main
    from ridermap.publish.gpkg import write_gpkg

    units = sample_bundle.units.copy()
    units.loc[units["id"] == f"{SAMPLE_ID}-b7-u2", ["number", "label"]] = ["1", "1单元"]
    gpkg = write_gpkg(sample_bundle.replace(units=units), tmp_path / "edited.gpkg")
    result = CliRunner().invoke(main, ["validate", str(gpkg), "--format", "json", "--no-routes"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.output)
    dup = [f for f in findings if f["code"] == "duplicate_unit_number"]
    assert {f["id"] for f in dup} == {f"{SAMPLE_ID}-b7-u1", f"{SAMPLE_ID}-b7-u2"}
    assert all(f["source"].startswith("survey.xlsx:units:") for f in dup)
    assert all({"severity", "layer", "id", "source", "message_zh", "message_en"} <= set(f) for f in findings)
    text = CliRunner().invoke(main, ["validate", str(gpkg), "--no-routes"])
    assert text.exit_code == 1 and "单元号 1 重复" in text.output and "1 个错误" not in text.output
