"""The shared path network: splitting, fences and gates, snapping, distances, routes.

Geometry is drawn in metres (UTM 48N, Chengdu) and handed to the bundle in
WGS84, so every expected distance below can be added up by hand.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from ridermap.analysis.network import distance_matrix, nearest_distances, network_from_bundle, route, routes, snap
from ridermap.errors import ConfigError, ValidationError
from ridermap.model.bundle import Bundle

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0
REPO = Path(__file__).resolve().parents[1]
SHARED_OSM = REPO.parent / "shared" / "data" / "osm"


def _m(geom):
    """Shift a geometry drawn around (0, 0) to the UTM origin used here."""
    return shapely.affinity.translate(geom, X0, Y0)


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(rows, geometry=[_m(r.pop("geometry")) for r in rows], crs=UTM)
    return gdf.to_crs("EPSG:4326")


def _wgs(points) -> gpd.GeoSeries:
    return gpd.GeoSeries([_m(p) for p in points], crs=UTM).to_crs("EPSG:4326")


def hand_bundle(*, south_access: str = "ride", south_locked: bool = True) -> Bundle:
    """A 100 m square compound inside a ring street 10 m around it.

    South gate (50, 0) and north gate (50, 100) with stubs to the ring; an
    internal service road joins them; a public footway from the west street
    crosses the fence at (0, 50) without a gate and must be cut there.
    """
    ring = [(-10, -10), (110, -10), (110, 110), (-10, 110), (-10, -10)]
    paths = [
        {"id": "street_s", "kind": "residential", "rideable": True, "geometry": LineString(ring[0:2])},
        {"id": "street_e", "kind": "residential", "rideable": True, "geometry": LineString(ring[1:3])},
        {"id": "street_n", "kind": "residential", "rideable": True, "geometry": LineString(ring[2:4])},
        {"id": "street_w", "kind": "residential", "rideable": True, "geometry": LineString(ring[3:5])},
        {"id": "stub_s", "kind": "service", "rideable": True, "geometry": LineString([(50, -10), (50, 0)])},
        {"id": "stub_n", "kind": "service", "rideable": True, "geometry": LineString([(50, 100), (50, 110)])},
        {
            "id": "inner",
            "kind": "service",
            "access": "private",
            "rideable": True,
            "community_id": "c1",
            "geometry": LineString([(50, 0), (50, 50), (50, 100)]),
        },
        {"id": "cut", "kind": "footway", "rideable": False, "geometry": LineString([(-10, 50), (50, 50)])},
    ]
    return Bundle.from_layers(
        {
            "communities": _gdf(
                [
                    {
                        "id": "c1",
                        "name": "小区",
                        "rider_access": "ride",
                        "geometry": Polygon([(0, 0), (100, 0), (100, 100), (0, 100)]),
                    }
                ]
            ),
            "gates": _gdf(
                [
                    {
                        "id": "g_s",
                        "community_id": "c1",
                        "name": "南门",
                        "rider_access": south_access,
                        "locked": south_locked,
                        "geometry": Point(50, 0),
                    },
                    {
                        "id": "g_n",
                        "community_id": "c1",
                        "name": "北门",
                        "rider_access": "ride",
                        "locked": False,
                        "geometry": Point(50, 100),
                    },
                ]
            ),
            "paths": _gdf(paths),
        }
    )


# three units, two chargers
UNITS = [Point(55, 20), Point(50, 80), Point(30, -15)]
CHARGERS = [Point(50, -15), Point(120, 50)]


def test_locked_gate_forces_detour_hand_checked():
    net = network_from_bundle(hand_bundle(south_locked=True))
    for mode in ("ride", "walk"):
        dist, src = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode=mode)
        # U1: C2 (120,50) -> 10 spur, 60 up the east street, 60 west, 10 stub, 80 down, 5 spur
        # U2: 10 + 60 + 60 + 10 + 20; U3 (outside): C1 5 spur, 20 along the south street, 5 spur
        assert dist == pytest.approx([225.0, 160.0, 30.0], abs=1e-3), mode
        assert src.tolist() == [1, 1, 0]


def test_open_gate_takes_the_short_way():
    net = network_from_bundle(hand_bundle(south_locked=False))
    dist, src = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="ride")
    # U1: 5 + 10 stub + 20 + 5; U2: 5 + 10 + 80 (C1) beats 160 (C2)
    assert dist == pytest.approx([40.0, 95.0, 30.0], abs=1e-3)
    assert src.tolist() == [0, 0, 0]


def test_walk_only_gate_joins_walking_only():
    net = network_from_bundle(hand_bundle(south_access="walk", south_locked=False))
    ride, _ = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="ride")
    walk, _ = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="walk")
    assert ride == pytest.approx([225.0, 160.0, 30.0], abs=1e-3)
    assert walk == pytest.approx([40.0, 95.0, 30.0], abs=1e-3)


def test_access_none_gate_joins_nothing():
    net = network_from_bundle(hand_bundle(south_access="none", south_locked=False))
    walk, _ = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="walk")
    assert walk == pytest.approx([225.0, 160.0, 30.0], abs=1e-3)


def test_unknown_rule_gate_joins_walking_only():
    """An inferred gate of unknown rule (待核实) is usable on foot, never for riding through."""
    net = network_from_bundle(hand_bundle(south_access="unknown", south_locked=False))
    ride, _ = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="ride")
    walk, _ = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="walk")
    assert ride == pytest.approx([225.0, 160.0, 30.0], abs=1e-3)
    assert walk == pytest.approx([40.0, 95.0, 30.0], abs=1e-3)


@pytest.mark.parametrize(("rule", "ride_u1"), [("unknown", 40.0), ("walk", np.inf), ("ride", 40.0)])
def test_unknown_compound_rule_does_not_cap_its_gates(rule, ride_u1):
    b = hand_bundle(south_locked=False)
    comm = b.communities.copy()
    comm["rider_access"] = rule
    net = network_from_bundle(b.replace(communities=comm))
    ride, _ = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS[:1]), mode="ride")
    assert ride[0] == pytest.approx(ride_u1, abs=1e-3)


def test_fence_cuts_a_path_crossing_the_boundary_without_a_gate():
    net = network_from_bundle(hand_bundle(south_locked=True))
    # from the west street end of the footway to the inner road: only via the north gate
    dist, _ = nearest_distances(net, _wgs([Point(-10, 50)]), _wgs([Point(50, 50)]), mode="walk")
    assert dist[0] == pytest.approx(60 + 60 + 10 + 50, abs=1e-3)
    # the cut footway still serves its outside part: (-10,50) -> (-5,50)
    dist, _ = nearest_distances(net, _wgs([Point(-10, 50)]), _wgs([Point(-5, 50)]), mode="walk")
    assert dist[0] == pytest.approx(5.0, abs=1e-3)


def test_without_compound_polygon_paths_connect_freely():
    b = hand_bundle(south_locked=True)
    b = b.replace(communities=b.communities.iloc[0:0], gates=b.gates.iloc[0:0])
    net = network_from_bundle(b)
    dist, _ = nearest_distances(net, _wgs([Point(-10, 50)]), _wgs([Point(50, 50)]), mode="walk")
    assert dist[0] == pytest.approx(60.0, abs=1e-3)


def test_gate_node_and_route_through_the_north_gate():
    net = network_from_bundle(hand_bundle(south_locked=True))
    assert set(net.gate_node) == {"g_s", "g_n"}
    origin = Point(60, -15)  # east of the stub, so going east round the ring is shorter
    r = route(net, _wgs([origin]).iloc[0], _wgs([UNITS[1]]).iloc[0], mode="ride")
    assert r is not None
    assert r.length_m == pytest.approx(5 + 50 + 120 + 60 + 10 + 20, abs=1e-3)
    assert r.gate_ids == ["g_n"]
    assert r.path_ids == ["street_s", "street_e", "street_n", "stub_n", "inner"]
    line = gpd.GeoSeries([r.geometry], crs="EPSG:4326").to_crs(UTM).iloc[0]
    assert line.length == pytest.approx(r.length_m, abs=1e-2)
    assert Point(line.coords[0]).distance(_m(origin)) < 1e-3
    assert Point(line.coords[-1]).distance(_m(UNITS[1])) < 1e-3


def test_route_unreachable_is_none():
    b = hand_bundle(south_locked=True)
    gates = b.gates.copy()
    gates["locked"] = True
    net = network_from_bundle(b.replace(gates=gates))
    assert route(net, _wgs([CHARGERS[0]]).iloc[0], _wgs([UNITS[1]]).iloc[0], mode="walk") is None
    dist, src = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="walk")
    assert np.isinf(dist[:2]).all() and src[:2].tolist() == [-1, -1]
    assert dist[2] == pytest.approx(30.0, abs=1e-3)


def test_snap_onto_edge_not_node_and_respects_fence():
    net = network_from_bundle(hand_bundle())
    s = snap(net, _wgs([Point(30, -14), Point(3, 50)]))
    # (30,-14) lands mid-edge on the south street, 4 m off
    assert s.distance_m[0] == pytest.approx(4.0, abs=1e-6)
    assert net.edge_path_id[s.edge[0]] == "street_s"
    assert s.snapped_xy[0] - [X0, Y0] == pytest.approx([30.0, -10.0], abs=1e-6)
    # (3,50) is inside: it snaps onto the inner road 47 m away, not the cut footway stub outside 3 m away
    # (the footway's inside part (0..50) is nearer: 0 m)
    assert net.edge_zone[s.edge[1]] == 0
    assert s.distance_m[1] == pytest.approx(0.0, abs=1e-6)


def test_crossing_without_shared_vertex_and_loose_end_are_joined():
    # an X with no common vertex, and a footway ending 0.6 m short of the horizontal line
    paths = gpd.GeoDataFrame(
        {
            "id": ["h", "v", "t"],
            "kind": ["residential", "residential", "footway"],
            "rideable": [True, True, False],
        },
        geometry=[
            _m(LineString([(0, 0), (100, 0)])),
            _m(LineString([(50, -50), (50, 50)])),
            _m(LineString([(80, 40), (80, 0.6)])),
        ],
        crs=UTM,
    ).to_crs("EPSG:4326")
    net = network_from_bundle(Bundle.from_layers({"paths": paths}))
    dist, _ = nearest_distances(net, _wgs([Point(0, 0)]), _wgs([Point(50, 50), Point(80, 40)]), mode="walk")
    assert dist == pytest.approx([100.0, 80 + 39.4], abs=1e-2)
    # the crossing splits both lines: 4 edges + 2 pieces of h at x=80 + footway
    assert (net.edge_path_id == "h").sum() == 3
    assert (net.edge_path_id == "v").sum() == 2


def test_gate_a_few_metres_off_is_snapped():
    b = hand_bundle(south_locked=False)
    gates = b.gates.copy()
    gates.loc[gates["id"] == "g_s", "geometry"] = _wgs([Point(53, 2)]).iloc[0]
    net = network_from_bundle(b.replace(gates=gates))
    dist, _ = nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="ride")
    assert dist == pytest.approx([40.0, 95.0, 30.0], abs=1e-3)


def test_matches_networkx_on_random_grid():
    rng = np.random.default_rng(7)
    lines = []
    for i in range(8):
        lines.append(LineString([(0, i * 30), (210, i * 30)]))
        lines.append(LineString([(i * 30, 0), (i * 30, 210)]))
    paths = gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(len(lines))], "kind": "residential", "rideable": True},
        geometry=[_m(ln) for ln in lines],
        crs=UTM,
    ).to_crs("EPSG:4326")
    net = network_from_bundle(Bundle.from_layers({"paths": paths}))
    # crossings are split: 8 lines x 7 pieces x 2 directions
    assert net.n_edges == 2 * 8 * 7
    g = nx.Graph()
    for u, v, w in zip(net.edge_u, net.edge_v, net.edge_length_m):
        g.add_edge(int(u), int(v), weight=float(w))
    pts = rng.uniform(0, 210, size=(40, 2))
    grid = np.round(pts / 30) * 30  # on nodes: no spur, exact node distances
    src, dst = grid[:5], grid[5:]
    dist, which = nearest_distances(net, _wgs([Point(p) for p in src]), _wgs([Point(p) for p in dst]), mode="ride")
    node_of = {tuple(np.round(xy - [X0, Y0], 3)): i for i, xy in enumerate(net.node_xy)}
    lengths = nx.multi_source_dijkstra_path_length(g, {node_of[tuple(p)] for p in src})
    assert dist == pytest.approx([lengths[node_of[tuple(p)]] for p in dst], abs=1e-3)
    full = distance_matrix(net, _wgs([Point(p) for p in src]), _wgs([Point(p) for p in dst]), mode="ride")
    assert full.min(axis=1) == pytest.approx(dist, abs=1e-6)
    assert full[np.arange(len(dst)), which] == pytest.approx(dist, abs=1e-6)


def test_routes_one_origin_many_destinations():
    net = network_from_bundle(hand_bundle(south_locked=False))
    out = routes(net, _wgs([CHARGERS[0]]).iloc[0], _wgs(UNITS), mode="walk")
    assert [round(r.length_m, 3) for r in out] == [40.0, 95.0, 30.0]


def test_no_paths_is_a_clear_error():
    with pytest.raises(ValidationError, match="paths"):
        network_from_bundle(Bundle.empty())


def test_unknown_mode_is_a_clear_error():
    net = network_from_bundle(hand_bundle())
    with pytest.raises(ConfigError, match="bike"):
        nearest_distances(net, _wgs(CHARGERS), _wgs(UNITS), mode="bike")


def test_sample_network():
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config

    bundle = bundle_from_config(load_config(REPO / "data" / "sample" / "ridermap.toml"))
    net = network_from_bundle(bundle)
    assert set(net.gate_node) == set(bundle.gates["id"])
    gates = bundle.gates.set_index("id")
    dist, _ = nearest_distances(
        net, gpd.GeoSeries([gates.geometry["510104-jhy-gn100001"]], crs="EPSG:4326"), bundle.units.geometry, mode="walk"
    )
    assert np.isfinite(dist).all()
    # the locked north gate joins nothing: from the north street, walkers go round by the east gate
    north_street = gpd.GeoSeries([Point(bundle.paths.set_index("id").geometry["p-w2008"].coords[1])], crs="EPSG:4326")
    locked, _ = nearest_distances(net, north_street, bundle.units.geometry, mode="walk")
    gates_open = bundle.gates.assign(locked=False, rider_access="ride")
    opened, _ = nearest_distances(
        network_from_bundle(bundle.replace(gates=gates_open)), north_street, bundle.units.geometry, mode="walk"
    )
    assert opened.min() == pytest.approx(161.0, abs=1.0)  # 15 m stub, 20 m footway, round the inner roads
    assert locked.min() > opened.min() + 100


@pytest.mark.skipif(
    not (SHARED_OSM / "beijing_xueyuanlu.osm").is_file(), reason="../shared/data/osm/beijing_xueyuanlu.osm not present"
)
def test_xueyuanlu_network_joins_every_gate():
    from ridermap.ingest import bundle_from_sources

    bundle = bundle_from_sources([str(SHARED_OSM / "beijing_xueyuanlu.osm")], admin_code="110108")
    net = network_from_bundle(bundle)
    assert net.n_edges > 500
    # thin OSM: some gates have no path through them and are linked straight to the nearest path
    assert set(net.gate_node) == set(bundle.gates["id"])
    doors = bundle.buildings.geometry.representative_point()
    assert (snap(net, doors, mode="walk").edge >= 0).all()
    dist, _ = nearest_distances(net, bundle.facilities.geometry, doors, mode="walk")
    nine_gates = (bundle.buildings["community_id"] == "110108-w609225889").to_numpy()
    assert np.isfinite(dist[nine_gates]).mean() > 0.9


def test_max_snap_m_asks_whether_a_point_is_on_a_mapped_path():
    net = network_from_bundle(hand_bundle(south_locked=False))
    # U1 and U3 are 5 m off their paths, U2 is on the inner road; C1 is 5 m off, C2 10 m
    sources = snap(net, _wgs(CHARGERS), mode="walk")
    strict, _ = nearest_distances(net, sources, _wgs(UNITS), mode="walk", max_snap_m=4.0)
    loose, _ = nearest_distances(net, sources, _wgs(UNITS), mode="walk", max_snap_m=6.0)
    assert strict[1] == pytest.approx(95.0, abs=1e-3) and np.isinf(strict[[0, 2]]).all()
    assert loose == pytest.approx([40.0, 95.0, 30.0], abs=1e-3)
    # applied to the sources too: C2 (10 m off) drops out, C1 (5 m) serves everyone
    net_closed_south = network_from_bundle(hand_bundle(south_locked=True))
    both, src = nearest_distances(net_closed_south, _wgs(CHARGERS), _wgs(UNITS), mode="walk", max_snap_m=6.0)
    assert both == pytest.approx([5 + 60 + 120 + 60 + 10 + 80 + 5, 5 + 60 + 120 + 60 + 10 + 20, 30.0], abs=1e-3)
    assert src.tolist() == [0, 0, 0]
