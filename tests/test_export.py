"""``ridermap export``: the platform GeoJSON (against its own JSON Schema) and the osmChange of the survey."""

from __future__ import annotations

import json

import jsonschema
import pytest
from conftest import ROOT, SAMPLE_ID


@pytest.fixture(scope="module")
def schema():
    from ridermap.publish.export import SCHEMA_PATH

    data = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(data)
    return data


def test_platform_export_validates_against_its_schema(sample_bundle, schema, tmp_path):
    from ridermap.publish.export import write_platform

    files = write_platform(sample_bundle, tmp_path, ids=[SAMPLE_ID], data_date="2026-11")
    doc = json.loads((tmp_path / f"{SAMPLE_ID}.geojson").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("compound") == 1 and kinds.count("gate") == 3 and kinds.count("unit_door") == 26
    doors = {f["properties"]["id"]: f["properties"] for f in doc["features"] if f["properties"]["kind"] == "unit_door"}
    assert doors[f"{SAMPLE_ID}-b1-u2"]["address"] == "锦华苑 1号楼 2单元"
    gates = {f["properties"]["name"]: f["properties"] for f in doc["features"] if f["properties"]["kind"] == "gate"}
    assert gates["南门"]["rider_access"] == "ride" and gates["南门"]["hours"].startswith("Mo-Su")
    assert gates["北门"]["locked"] is True
    assert {f["properties"]["facility_kind"] for f in doc["features"] if f["properties"]["kind"] == "facility"} >= {
        "rider_parking",
        "charger",
        "parcel_locker",
    }
    assert (tmp_path / "platform-export.schema.json").read_bytes() == (
        ROOT / "ridermap" / "publish" / "platform-export.schema.json"
    ).read_bytes()
    # a wrong document fails: the schema is not a rubber stamp
    bad = json.loads(json.dumps(doc))
    bad["features"][1]["properties"]["rider_access"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    assert len(files) == 2


def test_platform_export_marks_inferred_gates_unconfirmed(schema):
    from conftest import shared_osm

    from ridermap.ingest import bundle_from_sources
    from ridermap.publish.export import platform_collection

    bundle = bundle_from_sources([shared_osm("beijing_xueyuanlu.osm")], admin_code="110108")
    for cid in bundle.community_ids():
        doc = platform_collection(bundle.community(cid), cid)
        jsonschema.validate(doc, schema)
        for f in doc["features"]:
            p = f["properties"]
            if p["kind"] == "gate" and p["rider_access"] == "unknown":
                assert p["confirmed"] is False


def test_osm_change_applied_to_the_input_gives_back_the_survey(sample_bundle, tmp_path):
    import osmium

    from ridermap.ingest import bundle_from_sources
    from ridermap.publish.export import write_osm_change

    base = ROOT / "data" / "sample" / "base.osm"
    osc = write_osm_change(sample_bundle, [str(base)], tmp_path / "changes.osc")
    # it parses as OSM change data
    seen = {"node": 0, "way": 0}
    for obj in osmium.FileProcessor(str(osc)):
        seen["node" if obj.is_node() else "way"] += 1
    assert seen["node"] >= 18 and seen["way"] >= 3
    # applied to the OSM input, OSM alone now says what the survey said
    applied = tmp_path / "applied.osm"
    merge = osmium.MergeInputReader()
    merge.add_file(str(osc))
    reader, writer = osmium.io.Reader(str(base)), osmium.io.Writer(str(applied))
    merge.apply_to_reader(reader, writer)
    writer.close()
    reader.close()
    before = bundle_from_sources([str(base)], admin_code="510104")
    after = bundle_from_sources([str(applied)], admin_code="510104")
    assert len(before.units) < len(after.units) == len(sample_bundle.units) == 26

    def numbers(b):  # (building label, unit number) of every door: ids differ (the survey named the compound)
        label = dict(zip(b.buildings["id"], b.buildings["label"]))
        return sorted((label[bid], n) for bid, n in zip(b.units["building_id"], b.units["number"]))

    assert numbers(after) == numbers(sample_bundle)
    assert sorted(after.buildings["number"]) == sorted(sample_bundle.buildings["number"])
    cols = ["name", "rider_access", "hours", "locked"]
    assert after.gates[cols].sort_values("name").to_dict("records") == sample_bundle.gates[cols].sort_values(
        "name"
    ).to_dict("records")


def test_osm_change_leaves_out_what_ridermap_inferred(tmp_path):
    from conftest import shared_osm

    from ridermap.ingest import bundle_from_sources
    from ridermap.publish.export import osm_change

    path = shared_osm("beijing_xueyuanlu.osm")
    bundle = bundle_from_sources([path], admin_code="110108")
    assert (bundle.gates["source"].str.contains("inferred")).any()
    data, counts = osm_change(bundle, [str(path)])
    assert counts == {"create": 0, "modify": 0}  # OSM alone and inferences: nothing to give back
    assert b"<create />" in data and b"<modify />" in data


def test_cli_export_both_targets(tmp_path):
    from click.testing import CliRunner
    from conftest import SAMPLE_CONFIG

    from ridermap.cli import main

    out = tmp_path / "export"
    for target in ("platform", "osm"):
        result = CliRunner().invoke(
            main, ["-q", "export", "--config", str(SAMPLE_CONFIG), "--to", target, "-o", str(out)]
        )
        assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {f"{SAMPLE_ID}.geojson", "platform-export.schema.json", "changes.osc"}
    result = CliRunner().invoke(
        main, ["export", "--config", str(SAMPLE_CONFIG), "--to", "platform", "--community", "nope", "-o", str(out)]
    )
    assert result.exit_code == 2 and "nope" in result.output and "Traceback" not in result.output
