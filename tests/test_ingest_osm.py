"""OSM ingest on the real extracts in ../shared/data/osm (skipped when absent)."""

from __future__ import annotations

import bz2
import re

import osmium
import pytest
import shapely
from conftest import BUPT_ID, MINSK_ID, shared_osm

from ridermap.ids import is_safe_id
from ridermap.ingest import bundle_from_sources
from ridermap.numbers import parse_building_number, parse_unit_number


def _to_pbf(src, dst):
    with osmium.SimpleWriter(str(dst)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj)
    return dst


def _check_bupt(compound):
    b = compound.buildings
    numbered = b[b["number"] != ""]
    assert len(b) == 23
    assert len(numbered) == 21
    assert all(n.isdigit() for n in numbered["number"])  # integers in strings
    assert set(numbered["label"]) <= {f"{n}号楼" for n in range(1, 40)}  # labels as written
    assert len(compound.units) == 17  # every entrance on a building
    names = set(compound.gates["name"])
    assert "南门" in names
    assert any(s.startswith("osm:node/1275371651") for s in compound.gates["source"])  # the lift gates
    assert "charger" in set(compound.facilities["kind"])
    assert (compound.paths["community_id"] == BUPT_ID).sum() > 10  # the compound's own paths
    for layer in ("gates", "buildings", "units", "facilities"):
        assert all(is_safe_id(i) for i in getattr(compound, layer)["id"])


def test_bupt_compound_from_osm_xml(bupt_bundle):
    _check_bupt(bupt_bundle.community(BUPT_ID))


@pytest.mark.parametrize("fmt", ["pbf", "bz2"])
def test_bupt_compound_from_pbf_and_bz2(tmp_path, fmt):
    src = shared_osm("beijing_bupt.osm")
    if fmt == "pbf":
        path = _to_pbf(src, tmp_path / "bupt.osm.pbf")
    else:
        path = tmp_path / "bupt.osm.bz2"
        path.write_bytes(bz2.compress(src.read_bytes()))
    bundle = bundle_from_sources([path], admin_code="110108")
    _check_bupt(bundle.community(BUPT_ID))


def test_ids_are_stable_across_runs(bupt_bundle):
    again = bundle_from_sources([shared_osm("beijing_bupt.osm")], admin_code="110108")
    for layer in ("gates", "buildings", "units", "facilities", "paths"):
        assert list(getattr(again, layer)["id"]) == list(getattr(bupt_bundle, layer)["id"])


def test_minsk_stairwell_entrances_are_units(minsk_bundle):
    compound = minsk_bundle.community(MINSK_ID)
    units = compound.units
    assert len(units) >= 36
    assert (units["number"] != "").sum() >= 36
    assert units["flats"].ne("").sum() > 20


def test_xueyuanlu_named_compounds():
    bundle = bundle_from_sources([shared_osm("beijing_xueyuanlu.osm")], admin_code="110108")
    names = set(bundle.communities["name"])
    assert {"富润家园", "石科院生活区", "静淑苑"} <= names
    skk = bundle.community("110108-w595108678")
    assert len(skk.buildings) == 15
    b10 = skk.buildings[skk.buildings["label"] == "10号楼"].iloc[0]
    assert b10["number"] == "10" and b10["levels"] == 5


def test_clipped_extract_survives(tmp_path):
    """A way whose nodes are missing (as in API exports) is cut, not fatal, and reported."""
    text = shared_osm("beijing_bupt.osm").read_text(encoding="utf-8")
    first_node = text.index("<node")
    end_node = text.index("/>", first_node) + 2
    assert 'id="27547653"' in text[first_node:end_node]  # on footways 120491941 (long) and 120492007 (two nodes)
    text = text[:first_node] + text[end_node:]
    path = tmp_path / "clipped.osm"
    path.write_text(text, encoding="utf-8")
    bundle = bundle_from_sources([path], admin_code="110108")
    assert len(bundle.buildings) > 100
    assert "p-w120491941" in set(bundle.paths["id"]) and "p-w120492007" not in set(bundle.paths["id"])
    found = {(f.code, f.layer): f.value for f in bundle.findings}
    assert found[("osm_way_clipped", "paths")] == "osm:way/120491941"
    assert found[("osm_dropped", "paths")] == "osm:way/120492007"


def test_clipped_building_outline_is_kept(tmp_path):
    """A building whose corner is outside the extract keeps its known nodes (README: clipped ways are kept).

    石科院生活区 10号楼 (way 594886651) loses its second corner, used by no other way.
    """
    text = shared_osm("beijing_xueyuanlu.osm").read_text(encoding="utf-8")
    way = text[text.index('<way id="594886651"') :]
    way = way[: way.index("</way>")]
    refs = re.findall(r'<nd ref="(\d+)"/>', way)
    assert 'k="building"' in way and len(set(refs)) >= 4
    text = re.sub(rf'<node id="{refs[1]}"[^>]*?(/>|>.*?</node>)', "", text, count=1, flags=re.S)
    path = tmp_path / "clipped.osm"
    path.write_text(text, encoding="utf-8")
    bundle = bundle_from_sources([path], admin_code="110108")
    kept = bundle.buildings[bundle.buildings["source"] == "osm:way/594886651"]
    assert len(kept) == 1 and len(bundle.buildings) == 257
    assert shapely.get_num_coordinates(kept.geometry.iloc[0]) == len(refs) - 1  # one corner fewer
    assert [f.value for f in bundle.findings if f.code == "osm_way_clipped"] == ["osm:way/594886651"]


@pytest.mark.parametrize(
    "text, number",
    [
        ("7号楼", "7"),
        ("家属27号楼", "27"),
        ("三号楼", "3"),
        ("十二栋", "12"),
        ("B3座", "B3"),
        ("3幢", "3"),
        ("二十一号楼", "21"),
        ("12", "12"),
        ("１２号楼", "12"),
        ("食堂", ""),
        ("", ""),
    ],
)
def test_building_numbers(text, number):
    assert parse_building_number(text) == number


@pytest.mark.parametrize(
    "text, number",
    [
        ("2单元", "2"),
        ("一单元", "1"),
        ("3", "3"),
        ("02", "2"),
        ("十单元", "10"),
        ("东门", ""),
        ("A", "A"),
        ("b", "B"),
        ("C", "C"),
        ("甲", "甲"),
        ("乙", "乙"),
        ("丙单元", "丙"),
        ("A座", "A"),
        ("Ｂ座", "B"),
        ("东单元", "东"),
        ("1-2", "1-2"),
        ("大堂", ""),
        ("澡堂入口（二、三楼）", ""),
        (None, ""),
    ],
)
def test_unit_numbers(text, number):
    assert parse_unit_number(text) == number


def test_private_compound_paths_are_kept(sample_bundle):
    """osmnx's walk/bike filters drop access=private: ridermap keeps them."""
    inside = sample_bundle.paths[sample_bundle.paths["community_id"] == "510104-jhy"]
    assert inside["access"].eq("private").sum() >= 10
    assert inside["rideable"].any() and (~inside["rideable"]).any()


@pytest.mark.parametrize(
    ("tags", "locked", "expected"),
    [
        ({"barrier": "gate"}, False, "unknown"),  # no tag says: a survey question, never "ride"
        ({"barrier": "lift_gate"}, False, "unknown"),
        ({"barrier": "gate", "access": "yes"}, False, "ride"),
        ({"barrier": "gate", "motorcycle": "yes"}, False, "ride"),
        ({"barrier": "gate", "bicycle": "dismount"}, False, "walk"),
        ({"barrier": "turnstile"}, False, "walk"),
        ({"barrier": "gate", "foot": "no"}, False, "none"),
        ({"barrier": "gate", "access": "yes"}, True, "none"),
    ],
)
def test_gate_rule_comes_from_tags_only(tags, locked, expected):
    from ridermap.ingest.osm import gate_rider_access

    assert gate_rider_access(tags, locked) == expected


def test_untagged_osm_gates_are_marked_inferred(bupt_bundle):
    gates = bupt_bundle.gates
    unknown = gates[gates["rider_access"] == "unknown"]
    assert len(unknown)
    assert all("rider_access" in v.split(",") for v in unknown["inferred"])
