"""Rider routes gate -> door: gate rules, parking, hours, turn text, nearest facilities.

The hand-drawn compound is in metres (UTM 48N, Chengdu) so every expected
distance can be added up by hand; the BUPT tests run on real OSM.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import BUPT_ID
from shapely.geometry import LineString, Point, Polygon

from ridermap.analysis.routing import (
    describe,
    hours_apply,
    nearest_facilities,
    off_hours_bundle,
    parse_hours,
    plan_routes,
    rider_routes,
    route_steps,
)
from ridermap.model.bundle import Bundle

UTM = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0


def _m(geom):
    return shapely.affinity.translate(geom, X0, Y0)


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    rows = [dict(r) for r in rows]
    return gpd.GeoDataFrame(rows, geometry=[_m(r.pop("geometry")) for r in rows], crs=UTM).to_crs("EPSG:4326")


def _metric(geom):
    return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(UTM).iloc[0]


def hand_bundle(*, compound_access="ride", south=None, north=None, east=None, parking=True) -> Bundle:
    """A 100 m square compound in a ring street 10 m around it.

    South gate (50, 0) and north gate (50, 100) on a rideable inner road
    x = 50; a footway y = 40 from the inner road to the east gate (100, 40)
    and a footway stub out to the east street; a public rider parking at
    (112, 40) and a charger at (50, -15). Unit U1 (55, 20) is 5 m off the
    inner road; U2 (70, 45) is 5 m off the footway.
    """
    ring = [(-10, -10), (110, -10), (110, 110), (-10, 110), (-10, -10)]
    paths = [
        {"id": f"street{i}", "kind": "residential", "rideable": True, "geometry": LineString(ring[i : i + 2])}
        for i in range(4)
    ] + [
        {"id": "stub_s", "kind": "service", "rideable": True, "geometry": LineString([(50, -10), (50, 0)])},
        {"id": "stub_n", "kind": "service", "rideable": True, "geometry": LineString([(50, 100), (50, 110)])},
        {"id": "stub_e", "kind": "footway", "rideable": False, "geometry": LineString([(100, 40), (110, 40)])},
        {
            "id": "inner",
            "kind": "service",
            "access": "private",
            "rideable": True,
            "community_id": "c1",
            "geometry": LineString([(50, 0), (50, 40), (50, 100)]),
        },
        {
            "id": "foot",
            "kind": "footway",
            "access": "private",
            "rideable": False,
            "community_id": "c1",
            "geometry": LineString([(50, 40), (100, 40)]),
        },
    ]
    gate = {"rider_access": "ride", "locked": False, "hours": ""}
    gates = [
        {"id": "c1-gs", "community_id": "c1", "name": "南门", **gate, **(south or {}), "geometry": Point(50, 0)},
        {"id": "c1-gn", "community_id": "c1", "name": "北门", **gate, **(north or {}), "geometry": Point(50, 100)},
        {
            "id": "c1-ge",
            "community_id": "c1",
            "name": "东门",
            **{**gate, "rider_access": "walk"},
            **(east or {}),
            "geometry": Point(100, 40),
        },
    ]
    facilities = [{"id": "f-charger-1", "kind": "charger", "name": "充电桩", "geometry": Point(50, -15)}]
    if parking:
        facilities.append(
            {"id": "f-rider_parking-1", "kind": "rider_parking", "name": "东门外停车点", "geometry": Point(112, 40)}
        )
    return Bundle.from_layers(
        {
            "communities": _gdf(
                [
                    {
                        "id": "c1",
                        "name": "小区",
                        "rider_access": compound_access,
                        "geometry": Polygon([(0, 0), (100, 0), (100, 100), (0, 100)]),
                    }
                ]
            ),
            "gates": _gdf(gates),
            "buildings": _gdf(
                [
                    {
                        "id": "c1-b1",
                        "community_id": "c1",
                        "number": "1",
                        "label": "1号楼",
                        "geometry": Polygon([(55, 15), (95, 15), (95, 35), (55, 35)]),
                    }
                ]
            ),
            "units": _gdf(
                [
                    {
                        "id": "c1-b1-u1",
                        "community_id": "c1",
                        "building_id": "c1-b1",
                        "number": "1",
                        "label": "1单元",
                        "geometry": Point(55, 20),
                    },
                    {
                        "id": "c1-b1-u2",
                        "community_id": "c1",
                        "building_id": "c1-b1",
                        "number": "2",
                        "label": "2单元",
                        "geometry": Point(70, 45),
                    },
                ]
            ),
            "facilities": _gdf(facilities),
            "paths": _gdf(paths),
        }
    )


def _start_xy(route) -> np.ndarray:
    return np.asarray(_metric(route.legs[0].geometry).coords[0]) - (X0, Y0)


def test_rides_in_through_the_nearest_gate_then_walks_the_last_metres():
    routes = rider_routes(hand_bundle())
    u1, u2 = routes["c1-b1-u1"], routes["c1-b1-u2"]
    assert (u1.gate_id, u1.entry, u1.parking_id) == ("c1-gs", "ride", "")
    assert [leg.mode for leg in u1.legs] == ["ride", "walk"]
    assert (u1.ride_m, u1.walk_m) == pytest.approx((20.0, 5.0), abs=1e-3)
    assert np.allclose(_start_xy(u1), (50, 0), atol=1e-3)  # the route starts at the gate
    end = np.asarray(_metric(u1.legs[-1].geometry).coords[-1]) - (X0, Y0)
    assert np.allclose(end, (55, 20), atol=1e-3)  # and ends at the door
    # U2: ride 40 m up the inner road, walk 20 m along the footway + 5 m spur
    assert (u2.gate_id, u2.entry) == ("c1-gs", "ride")
    assert (u2.ride_m, u2.walk_m) == pytest.approx((40.0, 25.0), abs=1e-3)
    assert u1.legs[0].gate_id == "c1-gs" and u1.gates_used == ("c1-gs",)


def test_locked_gate_is_never_used_riders_go_round():
    routes = rider_routes(hand_bundle(south={"locked": True}))
    u1 = routes["c1-b1-u1"]
    assert u1.gate_id == "c1-gn"
    assert "c1-gs" not in u1.gates_used
    assert (u1.ride_m, u1.walk_m) == pytest.approx((80.0, 5.0), abs=1e-3)
    assert np.allclose(_start_xy(u1), (50, 100), atol=1e-3)


def test_walk_only_compound_parks_at_the_rider_parking_and_walks_in():
    routes = rider_routes(hand_bundle(compound_access="walk"))
    u2 = routes["c1-b1-u2"]
    assert (u2.entry, u2.parking_id, u2.gate_id) == ("walk", "f-rider_parking-1", "c1-ge")
    assert {leg.mode for leg in u2.legs} == {"walk"}
    # outside: 2 m spur to the street corner + 10 m stub; inside: 30 m footway + 5 m spur
    assert [leg.gate_id for leg in u2.legs] == ["", "c1-ge"]
    assert [leg.length_m for leg in u2.legs] == pytest.approx([12.0, 35.0], abs=1e-3)
    assert np.allclose(_start_xy(u2), (112, 40), atol=1e-3)


def test_without_parking_riders_park_at_a_gate_open_to_walking():
    routes = rider_routes(hand_bundle(compound_access="walk", parking=False))
    u1 = routes["c1-b1-u1"]
    assert (u1.entry, u1.parking_id, u1.gate_id) == ("walk", "", "c1-gs")
    assert u1.walk_m == pytest.approx(25.0, abs=1e-3) and u1.ride_m == 0


def test_no_gate_riders_may_use_means_no_route():
    routes = rider_routes(hand_bundle(south={"locked": True}, north={"rider_access": "none"}, east={"locked": True}))
    assert routes == {"c1-b1-u1": None, "c1-b1-u2": None}


def test_unknown_rule_gate_gives_a_walk_route_not_a_ride():
    """An inferred gate of unknown rule: riders park at it and walk in, never ride through."""
    unknown = {"rider_access": "unknown", "inferred": "location,rider_access", "source": "inferred:crossing"}
    routes = rider_routes(hand_bundle(south=unknown, north={"locked": True}, east={"locked": True}, parking=False))
    u1 = routes["c1-b1-u1"]
    assert u1 is not None and (u1.entry, u1.gate_id) == ("walk", "c1-gs")
    assert {leg.mode for leg in u1.legs} == {"walk"} and u1.ride_m == 0
    assert u1.walk_m == pytest.approx(25.0, abs=1e-3)
    # the same gate with a known ride rule is ridden through
    ride = rider_routes(hand_bundle(north={"locked": True}, east={"locked": True}, parking=False))["c1-b1-u1"]
    assert ride.entry == "ride" and ride.ride_m == pytest.approx(20.0, abs=1e-3)


def test_unknown_compound_rule_does_not_restrict_its_gates():
    u1 = rider_routes(hand_bundle(compound_access="unknown"))["c1-b1-u1"]
    assert (u1.gate_id, u1.entry) == ("c1-gs", "ride")
    assert (u1.ride_m, u1.walk_m) == pytest.approx((20.0, 5.0), abs=1e-3)


def test_hours_give_a_second_plan_for_outside_the_hours():
    b = hand_bundle(south={"hours": "Mo-Fr 07:00-09:00"}, north={"locked": True})
    plan = plan_routes(b)
    inside, outside = plan.routes["c1-b1-u1"], plan.off_hours["c1-b1-u1"]
    assert (inside.entry, inside.gate_id) == ("ride", "c1-gs")
    assert outside.entry == "walk" and outside.ride_m == 0
    assert plan.schedules["c1-gs"][0] == ((420, 540),)
    off = off_hours_bundle(b)
    assert off.gates.set_index("id").loc["c1-gs", "rider_access"] == "walk"
    assert off.gates.set_index("id").loc["c1-gn", "locked"]  # locked stays locked
    assert off_hours_bundle(hand_bundle()) is None
    assert plan_routes(hand_bundle()).off_hours == {}


@pytest.mark.parametrize(
    ("text", "day", "expected"),
    [
        ("24/7", 3, ((0, 1440),)),
        ("Mo-Su 00:00-11:00,13:30-17:00,19:30-24:00", 6, ((0, 660), (810, 1020), (1170, 1440))),
        ("Mo-Fr 07:00-09:00,17:00-19:00; Sa,Su off", 5, ()),
        ("Mo-Fr 07:00-09:00; Fr 08:00-10:00", 4, ((480, 600),)),  # a later rule replaces a day
        ("Sa-Mo 10:00-12:00", 0, ((600, 720),)),  # wrapping day range
        ("Fr 22:00-02:00", 5, ((0, 120),)),  # past midnight continues on Saturday
    ],
)
def test_parse_hours(text, day, expected):
    assert parse_hours(text)[day] == expected


@pytest.mark.parametrize("text", ["", "PH off", "Jan-Mar 08:00-10:00", "Mo-Fr sunrise-sunset", "Mo 25:00-26:00"])
def test_parse_hours_outside_the_subset_is_none(text):
    assert parse_hours(text) is None


def test_hours_apply():
    s = parse_hours("Mo-Fr 07:00-09:00")
    assert hours_apply(s, 0, 7 * 60) and not hours_apply(s, 0, 9 * 60) and not hours_apply(s, 6, 8 * 60)


def test_route_steps_turns_and_jogs():
    # north 120 m, right (east) 45 m
    assert route_steps(np.array([[0, 0], [0, 120], [45, 120]])) == (("right", 120.0), ("arrive", 45.0))
    # west then south: a left turn
    assert route_steps(np.array([[0, 0], [-50, 0], [-50, -30]]))[0][0] == "left"
    # a 3 m jog does not make two turns
    steps = route_steps(np.array([[0, 0], [0, 50], [3, 50], [3, 100]]), short_m=6.0, simplify_m=0.5)
    assert [t for t, _ in steps] == ["arrive"]
    assert route_steps(np.array([[0, 0], [0, 0]])) == (("arrive", 0.0),)


def test_describe_in_chinese_and_english():
    b = hand_bundle(compound_access="walk")
    routes = rider_routes(b)
    names = {"gate_names": {"c1-ge": "东门", "c1-gs": "南门"}, "parking_names": {"f-rider_parking-1": "东门外停车点"}}
    zh = describe(routes["c1-b1-u2"], lang="zh", destination="1号楼2单元", **names)
    assert zh == ["在东门外停车点停车", "步行约10米到东门", "从东门步行进入", "步行约35米到达1号楼2单元"]
    en = describe(routes["c1-b1-u2"], lang="en", destination="Bldg 1, Unit 2", **names)
    assert en[0] == "Park at 东门外停车点" and en[-1] == "Walk about 35 m to Bldg 1, Unit 2"
    ride = describe(rider_routes(hand_bundle())["c1-b1-u2"], lang="zh", destination="1号楼2单元", **names)
    # 40 m up the inner road; the 25 m on foot (east 20 m, then north to the door) is too short for turns
    assert ride == ["从南门骑行进入", "骑行约40米后停车", "步行约25米到达1号楼2单元"]
    detailed = describe(
        rider_routes(hand_bundle())["c1-b1-u2"], lang="zh", destination="1号楼2单元", detail_m=10, **names
    )
    assert detailed[-2:] == ["直行约20米，左转", "步行约5米到达1号楼2单元"]


def test_nearest_facilities_by_path_distance():
    near = nearest_facilities(hand_bundle())
    row = near[(near["unit_id"] == "c1-b1-u1") & (near["kind"] == "charger")].iloc[0]
    # 5 spur + 20 inner road + 10 stub + 5 spur
    assert row["facility_id"] == "f-charger-1"
    assert row["distance_m"] == pytest.approx(40.0, abs=1e-3)
    assert set(near["kind"]) == {"charger", "rider_parking"}
    with pytest.raises(ValueError, match="unknown facility kinds"):
        nearest_facilities(hand_bundle(), kinds=("spaceport",))


# --- real data: BUPT compound way 1376112785 ------------------------------------------
def _usable_gates(bundle) -> set[str]:
    """Gates riders may use: ride or walk, or of unknown rule (待核实: on foot)."""
    g = bundle.gates
    return set(g.loc[g["rider_access"].isin(["ride", "walk", "unknown"]) & ~g["locked"], "id"])


def test_bupt_every_unit_gets_a_route_from_a_gate_riders_may_use(bupt_bundle):
    one = bupt_bundle.community(BUPT_ID)
    assert len(one.units) >= 10
    plan = plan_routes(one)
    usable = _usable_gates(one) & set(one.gates.loc[one.gates["community_id"] == BUPT_ID, "id"])
    gates = one.gates.set_index("id")
    for uid in one.units["id"]:
        r = plan.routes[uid]
        assert r is not None, uid
        assert r.gate_id in usable, (uid, r.gate_id)
        assert r.length_m > 0 and r.legs[-1].mode == "walk"
        if r.entry == "ride":
            # a ride route starts at its gate
            start = _metric(Point(r.legs[0].geometry.coords[0]))
            assert start.distance(_metric(gates.loc[r.gate_id, "geometry"])) < 10.0
    assert len(plan.nearest) > 0


def test_bupt_a_locked_gate_is_never_used(bupt_bundle):
    one = bupt_bundle.community(BUPT_ID)
    before = rider_routes(one)
    used = {r.gate_id for r in before.values() if r is not None}
    gates = one.gates.copy()
    gates["locked"] = gates["id"].isin(used)  # lock every gate used so far
    after = rider_routes(one.replace(gates=gates))
    for uid, r in after.items():
        if r is not None:
            assert not set(r.gates_used) & used, uid
            assert r.gate_id in _usable_gates(one.replace(gates=gates))
    # a gate tagged locked=yes is no way in: riders get another gate or no route, never that one
    assert all(r is None or r.gate_id not in used for r in after.values())
