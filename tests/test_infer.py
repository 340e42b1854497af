"""Inference where OSM is silent: unit doors, clipped outlines, gate candidates, names.

``tests/data/compound_doors.osm`` (authored, see tests/data/README.md) holds
one unnamed compound whose doors, paths and clipped outlines are known
exactly; the real extracts in ../shared/data/osm check the same rules at scale.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import BUPT_ID, SAMPLE_ID, shared_osm

from ridermap.ingest import bundle_from_sources
from ridermap.model.bundle import Bundle
from ridermap.model.finalise import finalise
from ridermap.model.infer import INFERRED_GATE_SOURCE, UNNAMED, infer_gates, infer_names

DOORS = Path(__file__).parent / "data" / "compound_doors.osm"
CID = "110101-w1001"
LON0, LAT0 = 116.4, 39.9  # origin of the metre grid compound_doors.osm was drawn on


def _ll(x: float, y: float) -> tuple[float, float]:
    """Metres east/north of the origin -> lon, lat (the grid of compound_doors.osm)."""
    return LON0 + x / 85390.0, LAT0 + y / 111000.0


def _metres(geom) -> tuple[float, float]:
    return (geom.x - LON0) * 85390.0, (geom.y - LAT0) * 111000.0


@pytest.fixture(scope="module")
def doors():
    return bundle_from_sources([DOORS], admin_code="110101")


def _finding(bundle, code, layer=None):
    hits = [f for f in bundle.findings if f.code == code and (layer is None or f.layer == layer)]
    assert len(hits) == 1, [f.code for f in bundle.findings]
    return hits[0]


# --------------------------------------------------------------------------- unit doors


def test_letter_stem_and_other_refs_are_unit_numbers(doors):
    units = doors.units.set_index("source")
    expected = {  # node: (building, number, label as written)
        13: ("b1", "A", "A"),
        14: ("b1", "B", "B"),
        15: ("b1", "C", "C"),
        20: ("b2", "甲", "甲"),
        21: ("b2", "乙", "乙"),
        22: ("b2", "A", "A座"),
        27: ("b3", "东", "东单元"),
        28: ("b3", "1-2", "1-2"),
        29: ("b3", "3", "3单元"),
        40: ("b4", "2", "2单元"),
        42: ("b4", "1", "一单元"),
    }
    for node, (building, number, label) in expected.items():
        row = units.loc[f"osm:node/{node}"]
        assert (row["building_id"], row["number"], row["label"]) == (f"{CID}-{building}", number, label), node
    assert len(doors.units) == len(expected) + 1  # + the 大堂 door, kept with its label, no number
    lobby = units.loc["osm:node/41"]
    assert (lobby["number"], lobby["label"]) == ("", "大堂")
    assert len(set(doors.units["id"])) == len(doors.units)


def test_doors_that_are_not_homes_are_not_units(doors):
    # service, garage, shop, emergency exit on 3号楼; metro and car-park entrance on 4号楼
    not_homes = {"osm:node/30", "osm:node/31", "osm:node/32", "osm:node/33", "osm:node/38", "osm:node/39"}
    assert not not_homes & set(doors.units["source"])
    # nor gates: not even the metro entrance standing on the compound outline (node 64, on no building)
    assert not (not_homes | {"osm:node/64"}) & set(doors.gates["source"])
    assert "osm:node/64" not in set(doors.units["source"])
    finding = _finding(doors, "osm_entrance_not_unit")
    assert set(finding.value.split()) == not_homes
    assert "railway=subway_entrance" in finding.message_zh and "shop=convenience" in finding.message_en


def test_unparsed_unit_ref_is_reported(doors):
    finding = _finding(doors, "osm_number_unparsed")
    assert finding.value == "osm:node/41" and "大堂" in finding.message_zh and finding.severity == "warning"


# --------------------------------------------------------------------------- clipped and dropped


def test_clipped_building_is_kept_cut_to_its_known_nodes(doors):
    b5 = doors.buildings[doors.buildings["source"] == "osm:way/1015"]
    assert list(b5["number"]) == ["5"] and list(b5["community_id"]) == [CID]
    corners = {tuple(np.round(_metres(shapely.Point(c)), 0)) for c in shapely.get_coordinates(b5.geometry.iloc[0])}
    assert corners == {(170.0, 95.0), (195.0, 95.0), (170.0, 110.0)}  # the three nodes in the file
    clipped = _finding(doors, "osm_way_clipped", "buildings")
    assert clipped.value == "osm:way/1015" and "osm:way/1015" in clipped.message_zh


def test_ways_and_relations_dropped_for_missing_nodes_are_reported(doors):
    assert "osm:way/1016" not in set(doors.buildings["source"])  # two known nodes: no outline
    buildings = _finding(doors, "osm_dropped", "buildings")
    assert buildings.value == "osm:way/1016"
    compounds = _finding(doors, "osm_dropped", "communities")
    assert compounds.value == "osm:relation/2001"
    assert "缺边小区" in compounds.message_zh and "members missing" in compounds.message_en


def test_residential_area_without_building_is_reported(doors):
    assert list(doors.communities["id"]) == [CID]
    finding = _finding(doors, "osm_residential_empty")
    assert finding.value == "osm:way/1002" and "空地小区" in finding.message_zh
    assert finding.severity == "info"  # another compound is left


def test_file_without_compound_says_why(tmp_path):
    text = DOORS.read_text(encoding="utf-8").replace('k="building"', 'k="was:building"')
    path = tmp_path / "nobuildings.osm"
    path.write_text(text, encoding="utf-8")
    bundle = bundle_from_sources([path], admin_code="110101")
    assert bundle.communities.empty
    finding = _finding(bundle, "osm_residential_empty")
    assert finding.severity == "warning" and set(finding.value.split()) == {"osm:way/1001", "osm:way/1002"}
    assert "no compound" in finding.message_en
    path.write_text(text.replace('v="residential"', 'v="retail"'), encoding="utf-8")
    bundle = bundle_from_sources([path], admin_code="110101")
    assert [
        f.code for f in bundle.findings if f.code.startswith("osm_residential") or f.code == "osm_no_residential"
    ] == ["osm_no_residential"]


# --------------------------------------------------------------------------- rule and name


def test_compound_rule_and_name_are_inferred_never_defaulted(doors):
    comm = doors.communities.iloc[0]
    assert comm["rider_access"] == "unknown"
    assert set(comm["inferred"].split(",")) == {"rider_access", "name"}
    assert comm["name"] == "测试路8号"  # the most common address of its buildings (8 twice, 9 once)
    finding = _finding(doors, "name_inferred")
    assert finding.id == CID and "测试路8号" in finding.message_zh and "待核实" in finding.message_zh


def test_survey_rule_is_kept_and_no_longer_inferred(sample_bundle):
    comm = sample_bundle.communities.set_index("id").loc[SAMPLE_ID]
    assert comm["rider_access"] == "ride" and "rider_access" not in comm["inferred"]


def test_finalise_marks_a_missing_rule_unknown():
    gdf = gpd.GeoDataFrame(
        {"id": ["c"], "name": ["x"], "rider_access": [""]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326"
    )
    comm = finalise(Bundle.from_layers({"communities": gdf})).communities.iloc[0]
    assert (comm["rider_access"], comm["inferred"]) == ("unknown", "rider_access")


# --------------------------------------------------------------------------- gate candidates on the file


def test_gate_candidates_where_paths_cross_the_outline(doors):
    gates = doors.gates
    assert len(gates) == 2  # the file maps no gate
    assert (gates["source"] == INFERRED_GATE_SOURCE).all()
    assert (gates["rider_access"] == "unknown").all() and (gates["inferred"] == "location,rider_access").all()
    assert not gates["locked"].any() and (gates["community_id"] == CID).all()
    at = {name: tuple(np.round(_metres(g), 1)) for name, g in zip(gates["name"], gates.geometry)}
    assert set(at) == {"南侧出入口", "东侧出入口"}
    assert at["南侧出入口"] == (90.0, 0.0)  # the footway from 测试路
    x, y = at["东侧出入口"]  # the service road (y=85) and the footway (y=80): one gate
    assert x == 200.0 and y in (80.0, 85.0)
    finding = _finding(doors, "gate_inferred")
    assert finding.id == CID and "推断出入口 2 处" in finding.message_zh and "2 gate(s)" in finding.message_en


def test_through_street_and_sidewalk_are_not_gates(doors):
    pts = [_metres(g) for g in doors.gates.geometry]
    assert all(abs(y - 70) > 5 for _, y in pts)  # 穿行路 crosses the whole block at y=70
    assert all(abs(y - 150) > 5 for _, y in pts)  # the sidewalk along the north outline


# --------------------------------------------------------------------------- infer_gates on inline bundles


def _square_bundle(paths: list[tuple[str, list[tuple[float, float]]]], gates: list[tuple[float, float]] = ()) -> Bundle:
    """A 100 m compound at the origin, ``paths`` as (kind, metre coords), mapped ``gates`` as metre points."""
    comm = gpd.GeoDataFrame(
        {"id": ["c1"], "name": ["甲院"], "rider_access": ["unknown"], "source": ["osm:way/1"]},
        geometry=[shapely.Polygon([_ll(0, 0), _ll(100, 0), _ll(100, 100), _ll(0, 100)])],
        crs="EPSG:4326",
    )
    path_gdf = gpd.GeoDataFrame(
        {"id": [f"p-w{i}" for i in range(len(paths))], "kind": [k for k, _ in paths]},
        geometry=[shapely.LineString([_ll(*c) for c in coords]) for _, coords in paths],
        crs="EPSG:4326",
    )
    gate_gdf = gpd.GeoDataFrame(
        {"id": [f"c1-gn{i}" for i in range(len(gates))], "community_id": "c1", "name": "南门", "rider_access": "ride"},
        geometry=[shapely.Point(_ll(*g)) for g in gates],
        crs="EPSG:4326",
    )
    return Bundle.from_layers({"communities": comm, "paths": path_gdf, "gates": gate_gdf})


def _inferred(bundle: Bundle) -> list[tuple[float, float]]:
    g = bundle.gates[bundle.gates["source"] == INFERRED_GATE_SOURCE]
    return sorted(tuple(np.round(_metres(p), 0)) for p in g.geometry)


def test_crossings_near_a_mapped_gate_are_not_candidates():
    paths = [("footway", [(50, -20), (50, 30)])]
    assert _inferred(infer_gates(_square_bundle(paths, gates=[(62, 0)]))) == []  # 12 m away
    assert _inferred(infer_gates(_square_bundle(paths, gates=[(80, 0)]))) == [(50, 0)]  # 30 m away


def test_crossings_within_merge_distance_are_one_gate():
    near = [("service", [(40, -20), (40, 30)]), ("footway", [(45, -20), (45, 30)])]
    assert len(_inferred(infer_gates(_square_bundle(near)))) == 1
    apart = [("service", [(40, -20), (40, 30)]), ("footway", [(55, -20), (55, 30)])]
    assert _inferred(infer_gates(_square_bundle(apart))) == [(40, 0), (55, 0)]


@pytest.mark.parametrize(
    "kind, coords, expected",
    [
        ("residential", [(-20, 50), (120, 50)], []),  # public through-street: crosses the whole block
        ("residential", [(-20, 50), (40, 50)], [(0, 50)]),  # the compound's own road, ending inside
        ("tertiary", [(-20, 50), (40, 50)], []),  # a city road is never a compound gate
        ("footway", [(-20, 100.5), (120, 100.5)], []),  # a sidewalk glued along the outline
        ("footway", [(-20, 100), (120, 100)], []),  # one running exactly on it
        ("service", [(50, -30), (50, 0)], [(50, 0)]),  # a road that stops at the fence (inside not mapped)
        ("service", [(50, -30), (50, -0.3)], [(50, 0)]),  # ... drawn to the fence without sharing a node
        ("service", [(50, -30), (50, -3)], []),  # ... or stopping 3 m short of it: not on the outline
        ("service", [(50, 30), (50, 0)], []),  # an inside road that stops at the fence: no way out known
        ("steps", [(-10, 20), (10, 20)], [(0, 20)]),
    ],
)
def test_which_crossings_are_gates(kind, coords, expected):
    assert _inferred(infer_gates(_square_bundle([(kind, coords)]))) == expected


def test_link_to_a_sidewalk_along_the_fence_is_not_a_gate():
    paths = [("footway", [(50, -10), (50, 0)]), ("footway", [(-20, 0), (120, 0)])]
    assert _inferred(infer_gates(_square_bundle(paths))) == []
    # the same link with a path going on inside is an entrance
    assert _inferred(infer_gates(_square_bundle(paths + [("footway", [(50, 0), (50, 30)])]))) == [(50, 0)]


def test_candidates_are_named_by_side_and_keep_mapped_names_first():
    paths = [("footway", [(30, -20), (30, 20)]), ("footway", [(70, -20), (70, 20)]), ("path", [(120, 50), (80, 50)])]
    bundle = _square_bundle(paths)
    bundle = bundle.replace(
        gates=gpd.GeoDataFrame(
            {"id": ["c1-gn9"], "community_id": ["c1"], "name": [""]},
            geometry=[shapely.Point(_ll(50, 100))],
            crs="EPSG:4326",
        )
    )
    out = infer_gates(bundle)
    names = dict(zip(out.gates["id"], out.gates["name"]))
    assert names["c1-gn9"] == "北侧出入口"  # the mapped gate keeps the name finalise gave it
    inferred = sorted(n for i, n in names.items() if i != "c1-gn9")
    assert inferred == sorted(["西南侧出入口", "东南侧出入口", "东侧出入口"])
    assert len(set(out.gates["id"])) == len(out.gates)


def test_infer_gates_without_paths_changes_nothing():
    bundle = _square_bundle([])
    assert infer_gates(bundle) is bundle


# --------------------------------------------------------------------------- infer_names


def _compounds(*named: str) -> gpd.GeoDataFrame:
    boxes = [shapely.box(*_ll(0, 0), *_ll(100, 100)), shapely.box(*_ll(300, 0), *_ll(400, 100))]
    return gpd.GeoDataFrame(
        {
            "id": [f"x-w{i}" for i in range(len(named))],
            "name": list(named),
            "source": [f"osm:way/{i}" for i in range(len(named))],
            "inferred": "",
        },
        geometry=boxes[: len(named)],
        crs="EPSG:4326",
    )


def _places(rows):
    return gpd.GeoDataFrame(
        {
            "name": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "source": [f"osm:way/9{i}" for i in range(len(rows))],
            "residential": [r[1] == "landuse" for r in rows],
        },
        geometry=[r[2] for r in rows],
        crs="EPSG:4326",
    )


def test_name_from_a_place_it_lies_in_then_one_beside_it():
    campus = shapely.box(*_ll(-50, -50), *_ll(150, 150))
    comm, findings = infer_names(_compounds("", ""), places=_places([("农学院", "amenity", campus)]))
    assert list(comm["name"]) == ["农学院内小区", UNNAMED]  # the second compound is 150 m off the campus
    hood = shapely.box(*_ll(-50, -50), *_ll(150, 150))
    comm, _ = infer_names(_compounds(""), places=_places([("花园社区", "place", hood)]))
    assert list(comm["name"]) == ["花园社区"]
    beside = shapely.box(*_ll(100, 0), *_ll(200, 100))
    comm, findings = infer_names(_compounds("", "已名"), places=_places([("富润家园", "landuse", beside)]))
    assert list(comm["name"]) == ["富润家园旁小区", "已名"]
    assert list(comm["inferred"]) == ["name", ""] and len(findings) == 1 and findings[0].id == "x-w0"


def test_name_from_own_address_then_street_then_fallback():
    comm = _compounds("", "").assign(addr_street=["学院路", ""], addr_housenumber=["20", ""])
    streets = gpd.GeoDataFrame(
        {"name": ["清华东路"]}, geometry=[shapely.LineString([_ll(300, 150), _ll(400, 150)])], crs="EPSG:4326"
    )
    out, findings = infer_names(comm, streets=streets)
    assert list(out["name"]) == ["学院路20号", "清华东路旁小区"]
    assert "addr:street" in findings[0].message_zh and "清华东路" in findings[1].message_en
    out, _ = infer_names(_compounds("", ""))
    assert list(out["name"]) == [UNNAMED, f"{UNNAMED}2"]  # never the id, never twice the same
    assert all("w" not in n for n in out["name"])


# --------------------------------------------------------------------------- real extracts


def _crossed_away_from_mapped_gates(bundle) -> set[str]:
    """Compounds whose outline a service road or footway crosses > 20 m from their mapped gates (shapely alone)."""
    metric = bundle.communities.estimate_utm_crs()
    comm, paths, gates = (g.to_crs(metric) for g in (bundle.communities, bundle.paths, bundle.gates))
    mapped = gates[gates["source"] != INFERRED_GATE_SOURCE]
    roads = paths[paths["kind"].isin(["service", "footway"])]
    out = set()
    for cid, poly in zip(comm["id"], comm.geometry):
        crossing = roads[roads.crosses(poly)]
        points = [
            p
            for g in crossing.geometry
            for p in shapely.get_parts(g.intersection(poly.boundary))
            if p.geom_type == "Point"
        ]
        own = mapped[mapped["community_id"] == cid]
        if any(own.empty or own.distance(p).min() > 20 for p in points):
            out.add(cid)
    return out


def test_xueyuanlu_crossed_compounds_get_inferred_gates():
    bundle = bundle_from_sources([shared_osm("beijing_xueyuanlu.osm")], admin_code="110108")
    assert len(bundle.communities) == 10
    crossed = _crossed_away_from_mapped_gates(bundle)
    assert crossed  # the extract has such compounds (中建壹品·学府公馆)
    inferred = bundle.gates[bundle.gates["source"] == INFERRED_GATE_SOURCE]
    assert crossed <= set(inferred["community_id"])
    assert (inferred["rider_access"] == "unknown").all() and (inferred["inferred"] == "location,rider_access").all()
    # a compound crossed only where a gate is mapped keeps its mapped gates, nothing added on top
    assert not (inferred["community_id"] == "110108-w609225889").any()
    for cid, name in zip(bundle.communities["id"], bundle.communities["name"]):
        assert name and cid.split("-")[-1] not in name and "小区 w" not in name
    dropped = [f for f in bundle.findings if f.code == "osm_dropped" and f.layer == "communities"]
    assert dropped and "osm:relation/14400092" in dropped[0].value


def test_bupt_mapped_gates_kept_and_candidates_added(bupt_bundle):
    gates = bupt_bundle.gates[bupt_bundle.gates["community_id"] == BUPT_ID]
    mapped = gates[gates["source"] != INFERRED_GATE_SOURCE]
    inferred = gates[gates["source"] == INFERRED_GATE_SOURCE]
    assert "南门" in set(mapped["name"]) and len(mapped) == 4
    assert len(inferred) == 5  # service roads crossing the north and west outline, > 20 m from the mapped gates
    metric = bupt_bundle.communities.estimate_utm_crs()
    m, i = mapped.to_crs(metric), inferred.to_crs(metric)
    assert all(m.distance(p).min() > 20 for p in i.geometry)
    names = list(gates["name"])
    assert len(set(names)) == len(names)


def test_building_address_names_a_compound_only_when_shared():
    comm = _compounds("", "")
    buildings = gpd.GeoDataFrame(
        {
            "community_id": ["x-w0", "x-w0", "x-w0", "x-w1", "x-w1"],
            "addr_street": ["学院路", "学院路", "学院路", "学院路", "学院路"],
            "addr_housenumber": ["5", "5", "7", "1", "2"],
        },
        geometry=[shapely.Point(0, 0)] * 5,
        crs="EPSG:4326",
    )
    out, _ = infer_names(comm, buildings=buildings)
    assert list(out["name"]) == ["学院路5号", UNNAMED]  # 1 and 2: one building each, neither names the compound
    out, _ = infer_names(comm, buildings=buildings.iloc[:4])
    assert list(out["name"]) == ["学院路5号", "学院路1号"]  # the only address of its buildings
