"""Survey files: every format and CRS lands on the same doors; bad input fails cleanly."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLE_BASE, SAMPLE_ID

from ridermap.crs import from_wgs84
from ridermap.ingest import bundle_from_sources


def _units_table(sample_bundle, crs: str) -> pd.DataFrame:
    """Unit doors of buildings 5-12 as a grid worker would type them, in ``crs``."""
    u = sample_bundle.units
    u = u[~u["source"].str.startswith("osm:") & u["building_id"].str.match(r".*-b[5-9]$")]  # numbered in OSM
    b = sample_bundle.buildings.set_index("id")
    x, y = from_wgs84(u.geometry.x.values, u.geometry.y.values, crs)
    return pd.DataFrame(
        {
            "小区": "锦华苑",
            "楼号": [b.loc[i, "number"] for i in u["building_id"]],
            "单元号": u["number"].values,
            "x": np.asarray(x),
            "y": np.asarray(y),
            "id": u["id"].values,
        }
    )


def _write(df: pd.DataFrame, tmp_path, fmt: str, crs: str):
    if fmt in ("csv", "csv-gbk"):
        path = tmp_path / "units.csv"
        out = df.rename(columns={"x": "经度", "y": "纬度"}).drop(columns="id")
        out.to_csv(path, index=False, encoding="gb18030" if fmt == "csv-gbk" else "utf-8")
        return path
    if fmt == "xlsx":
        path = tmp_path / "survey.xlsx"
        with pd.ExcelWriter(path) as xw:
            df.rename(columns={"x": "lon", "y": "lat"}).drop(columns="id").to_excel(xw, sheet_name="单元", index=False)
        return path
    file_crs = "EPSG:4326" if crs in ("gcj02", "bd09") else crs  # AMap exports say WGS84
    gdf = gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(df["x"], df["y"]), crs=file_crs)
    path = tmp_path / {"geojson": "units.geojson", "gpkg": "survey.gpkg", "shp": "units.shp", "kml": "units.kml"}[fmt]
    gdf.to_file(path, layer="units" if fmt in ("gpkg", "kml") else None, engine="pyogrio")
    return path


CASES = [
    ("csv", "EPSG:4326"),
    ("csv", "gcj02"),
    ("csv-gbk", "gcj02"),
    ("csv", "bd09"),
    ("xlsx", "gcj02"),
    ("xlsx", "EPSG:4544"),
    ("geojson", "EPSG:4326"),
    ("geojson", "gcj02"),
    ("gpkg", "EPSG:4544"),
    ("gpkg", "EPSG:4490"),
    ("shp", "EPSG:32648"),
    ("kml", "EPSG:4326"),
]


@pytest.mark.parametrize("fmt, crs", CASES)
def test_every_format_and_crs_lands_on_the_same_doors(tmp_path, sample_bundle, fmt, crs):
    df = _units_table(sample_bundle, crs)
    path = _write(df, tmp_path, fmt, crs)
    declared = crs if fmt in ("csv", "csv-gbk", "xlsx") or crs in ("gcj02", "bd09") else None
    bundle = bundle_from_sources([SAMPLE_BASE, path], crs=declared, admin_code="510104")
    got = bundle.units.set_index("id")
    want = sample_bundle.units.set_index("id")
    # the community id differs (no communities sheet): compare by building + unit
    key = lambda g: {(i.split("-b", 1)[1]): p for i, p in zip(g.index, g.geometry)}  # noqa: E731
    got_k = key(got)
    want_k = {k: p for k, p in key(want).items() if k.split("-")[0] in df["楼号"].values}
    assert set(want_k) <= set(got_k)
    metric = sample_bundle.communities.estimate_utm_crs()
    ga = gpd.GeoSeries([got_k[k] for k in sorted(want_k)], crs=4326).to_crs(metric)
    wa = gpd.GeoSeries([want_k[k] for k in sorted(want_k)], crs=4326).to_crs(metric)
    assert ga.distance(wa).max() < 0.05  # metres


def test_gbk_csv_with_chinese_headers_and_names(tmp_path):
    path = tmp_path / "设施.csv"
    path.write_bytes("类型,名称,经度,纬度\n充电桩,锦华苑南门充电桩,104.0891,30.6524\n".encode("gbk"))
    bundle = bundle_from_sources([SAMPLE_BASE, path], admin_code="510104")
    assert "锦华苑南门充电桩" in set(bundle.facilities["name"])


def test_survey_numbers_an_unnumbered_osm_building(sample_bundle):
    b = sample_bundle.buildings.set_index("id")
    assert b.loc[f"{SAMPLE_ID}-b10", "label"] == "10号楼"
    assert "survey.xlsx:buildings" in b.loc[f"{SAMPLE_ID}-b10", "source"]
    assert b.loc[f"{SAMPLE_ID}-b10", "source"].startswith("osm:way/")


def test_survey_gate_rules_override_osm(sample_bundle):
    g = sample_bundle.gates.set_index("name")
    assert g.loc["南门", "rider_access"] == "ride" and g.loc["南门", "hours"].startswith("Mo-Su")
    assert g.loc["东门", "rider_access"] == "walk"
    assert g.loc["北门", "rider_access"] == "none" and bool(g.loc["北门", "locked"])


def test_every_row_is_traceable(sample_bundle):
    for name, layer in sample_bundle.layers().items():
        assert layer["source"].ne("").all(), name
    assert sample_bundle.units["source"].str.contains(r"survey\.xlsx:units:\d+").sum() == 18


# --- unreadable input: one line naming the file, exit 2, no traceback, no output --------------


def _bad(tmp_path, name: str, content: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


BAD = {
    "empty": ("units.csv", b"", ["units.csv", "empty"]),
    "truncated_osm": ("x.osm", SAMPLE_BASE.read_text(encoding="utf-8")[:3000], ["x.osm"]),
    "truncated_xlsx": ("survey.xlsx", (ROOT / "data/sample/survey.xlsx").read_bytes()[:2000], ["survey.xlsx", "XLSX"]),
    "wrong_extension": ("units.txt", "a,b\n1,2\n", ["units.txt", "unsupported file type"]),
    "missing_columns": ("units.csv", "小区,楼号\n锦华苑,5\n", ["units.csv", "missing column"]),
    "bad_gpkg": ("survey.gpkg", b"SQLite format 3\x00garbage", ["survey.gpkg"]),
    "not_osm": ("x.osm", "<html>hello</html>", ["x.osm"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_one_line_exit_2_no_output(tmp_path, case):
    from cli import main

    name, content, expected = BAD[case]
    bad = _bad(tmp_path, name, content)
    out = tmp_path / "out.gpkg"
    result = CliRunner().invoke(main, ["ingest", str(SAMPLE_BASE), bad, "-o", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ridermap: error:"), result.output
    assert "Traceback" not in result.output
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp file left


# --- bad rows: a finding naming file, row and column; the row is left out, the rest used -------
# (until issue 9 these stopped `ingest` with exit 2 at the first bad row)

BAD_ROWS = {
    "swapped": (
        "facilities.csv",
        "kind,lon,lat\ncharger,104.0891,30.6524\ntoilet,30.6524,104.0891\n",
        ["facilities.csv", "row 3", "swapped"],
    ),
    "non_numeric": (
        "facilities.csv",
        "kind,lon,lat\ncharger,104.08x,30.65\n",
        ["facilities.csv", "row 2", "column lon", "'104.08x'", "not a number"],
    ),
    "invalid_polygon": (
        "buildings.csv",
        'number,wkt\n20,"POLYGON ((104.088 30.652, 104.089 30.653, 104.089 30.652, 104.088 30.653, 104.088 30.652))"\n',
        ["buildings.csv", "row 2", "invalid polygon"],
    ),
    "duplicate_ids": (
        "facilities.csv",
        "id,kind,lon,lat\nc1,charger,104.0891,30.6524\nc1,toilet,104.0892,30.6525\n",
        ["facilities.csv", "row 3", "duplicate id 'c1'", "row 2"],
    ),
    "bad_kind": (
        "facilities.csv",
        "kind,lon,lat\nspaceship,104.0891,30.6524\n",
        ["facilities.csv", "row 2", "kind 'spaceship'"],
    ),
    "unknown_building": (
        "units.csv",
        "楼号,单元号,经度,纬度\n99,1,104.0891,30.6524\n",
        ["units.csv", "row 2", "building '99' not found"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_row_is_a_finding_and_skipped(tmp_path, case):
    from cli import main

    name, content, expected = BAD_ROWS[case]
    bad = _bad(tmp_path, name, content)
    result = CliRunner().invoke(main, ["validate", str(SAMPLE_BASE), bad, "--no-routes", "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if name in ln and ln.startswith("ERROR")]
    assert len(lines) == 1, result.output
    for part in expected:
        assert part in lines[0], (part, lines[0])
    # ingest goes on with the rows it can use
    out = tmp_path / "out.gpkg"
    ingested = CliRunner().invoke(main, ["ingest", str(SAMPLE_BASE), bad, "-o", str(out)])
    assert ingested.exit_code == 0 and out.exists(), ingested.output
    layer = name.split(".")[0]
    sources = getattr(bundle_from_sources([SAMPLE_BASE, bad]), layer)["source"]
    bad_row = expected[1].split()[1]
    assert not sources.str.contains(f"{name}:{layer}:{bad_row}", regex=False).any()
    if case in ("swapped", "duplicate_ids"):  # the good row before it is used
        assert sources.str.contains(f"{name}:{layer}:2", regex=False).any()


def test_unknown_crs_option(tmp_path):
    from cli import main

    result = CliRunner().invoke(main, ["ingest", str(SAMPLE_BASE), "--crs", "mars", "-o", str(tmp_path / "o.gpkg")])
    assert result.exit_code == 2 and "unknown CRS 'mars'" in result.output
    assert not (tmp_path / "o.gpkg").exists()


def test_undeclared_gcj02_survey_names_the_fix(tmp_path):
    from cli import main

    result = CliRunner().invoke(
        main, ["validate", str(SAMPLE_BASE), str(ROOT / "data/sample/survey.xlsx"), "--no-routes", "--lang", "en"]
    )
    assert result.exit_code == 1
    assert "survey.xlsx sheet buildings row 2" in result.output and 'declare crs = "gcj02"' in result.output
    zh = CliRunner().invoke(main, ["validate", str(SAMPLE_BASE), str(ROOT / "data/sample/survey.xlsx"), "--no-routes"])
    assert (
        zh.exit_code == 1
        and "survey.xlsx 工作表“buildings”第 2 行" in zh.output
        and '请声明 crs = "gcj02"' in zh.output
    )


def test_surveyed_gate_rules_are_no_longer_inferred(sample_bundle):
    """The sample's OSM gates carry no access tag (rule 待核实); its survey sets every rule."""
    gates = sample_bundle.gates.set_index("name")
    assert gates.loc["南门", "rider_access"] == "ride" and gates.loc["北门", "rider_access"] == "none"
    assert not any("rider_access" in v.split(",") for v in gates["inferred"])
