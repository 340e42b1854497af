"""Planner gaps: hand-checked distances, gap flags, summaries, siting, reports, CLI.

Geometry is drawn in metres (UTM_48N 48N) and handed over in WGS84 so the
expected distances can be added up by hand.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_CONFIG, SAMPLE_ID, UTM_48N, X0, Y0, chromium_path, gap_table_ids, local_gdf, shared_osm
from shapely.geometry import LineString, Point, Polygon

from ridermap.analysis.gaps import compound_access, doors, gap_report
from ridermap.analysis.network import distance_matrix, network_from_bundle
from ridermap.analysis.siting import candidate_sites, coverage, propose_sites, solve_lscp, solve_mclp
from ridermap.config import Config
from ridermap.model.bundle import Bundle


def district(
    *, south_locked: bool = True, south_access: str = "ride", north_access: str = "ride", locker=None
) -> Bundle:
    """A 100 m compound in a ring street 10 m around it; gates south (50,0) and north (50,100).

    Three unit doors: U1 (55,20) and U2 (50,80) inside, U3 (30,-15) outside.
    Two chargers: C1 (50,-15) by the south gate, C2 (120,50) east of the ring.
    """
    ring = [(-10, -10), (110, -10), (110, 110), (-10, 110), (-10, -10)]
    paths = [
        {"id": f"street{i}", "kind": "residential", "rideable": True, "geometry": LineString(ring[i : i + 2])}
        for i in range(4)
    ]
    paths += [
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
    ]
    facilities = [
        {"id": "C1", "kind": "charger", "name": "南门充电桩", "geometry": Point(50, -15)},
        {"id": "C2", "kind": "charger", "name": "东侧充电桩", "geometry": Point(120, 50)},
    ]
    if locker is not None:
        facilities.append({"id": "L1", "kind": "parcel_locker", "name": "快递柜", "geometry": locker})
    return Bundle.from_layers(
        {
            "communities": local_gdf(
                [
                    {
                        "id": "c1",
                        "name": "示例小区",
                        "rider_access": "ride",
                        "geometry": Polygon([(0, 0), (100, 0), (100, 100), (0, 100)]),
                    }
                ]
            ),
            "gates": local_gdf(
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
                        "rider_access": north_access,
                        "locked": False,
                        "geometry": Point(50, 100),
                    },
                ]
            ),
            "units": local_gdf(
                [
                    {
                        "id": "U1",
                        "community_id": "c1",
                        "building_id": "B1",
                        "label": "1单元",
                        "geometry": Point(55, 20),
                    },
                    {
                        "id": "U2",
                        "community_id": "c1",
                        "building_id": "B1",
                        "label": "2单元",
                        "geometry": Point(50, 80),
                    },
                    {"id": "U3", "community_id": "", "building_id": "B9", "label": "临街", "geometry": Point(30, -15)},
                ]
            ),
            "facilities": local_gdf(facilities),
            "paths": local_gdf(paths),
        }
    )


TARGETS = {"charger": 200.0, "parcel_locker": 200.0}


def test_hand_checked_locked_gate_detour():
    report = gap_report(district(south_locked=True), targets_m=TARGETS)
    u = report.units.set_index("id")
    # U1: C2 10 + 60 + 60 + 10 + 80 + 5 (the locked south gate forces the north detour);
    # U2: C2 10 + 60 + 60 + 10 + 20; U3: C1 5 + 20 + 5 along the street outside
    assert u.loc[["U1", "U2", "U3"], "charger_m"].to_numpy() == pytest.approx([225.0, 160.0, 30.0], abs=1e-3)
    assert u.loc[["U1", "U2", "U3"], "charger_id"].tolist() == ["C2", "C2", "C1"]
    assert u.loc[["U1", "U2", "U3"], "charger_gap"].tolist() == [True, False, False]
    assert u.loc["U1", "n_gaps"] == 1
    comm = report.communities.set_index("id")
    assert comm.loc["c1", "charger_gaps"] == 1
    assert comm.loc["c1", "charger_coverage_pct"] == 50.0
    assert report.district["kinds"]["charger"]["gaps"] == 1
    assert report.district["kinds"]["charger"]["coverage_pct"] == pytest.approx(66.7, abs=0.05)


def test_hand_checked_open_gate():
    report = gap_report(district(south_locked=False), targets_m=TARGETS)
    u = report.units.set_index("id")
    assert u.loc[["U1", "U2", "U3"], "charger_m"].to_numpy() == pytest.approx([40.0, 95.0, 30.0], abs=1e-3)
    assert not u["charger_gap"].any()


def test_walk_only_gate_differs_between_riding_and_walking():
    report = gap_report(district(south_locked=False, south_access="walk"), targets_m=TARGETS)
    u = report.units.set_index("id")
    assert u.loc[["U1", "U2"], "charger_ride_m"].to_numpy() == pytest.approx([225.0, 160.0], abs=1e-3)
    assert u.loc[["U1", "U2"], "charger_walk_m"].to_numpy() == pytest.approx([40.0, 95.0], abs=1e-3)
    # chargers are judged riding
    assert u.loc[["U1", "U2"], "charger_m"].to_numpy() == pytest.approx([225.0, 160.0], abs=1e-3)


def test_unreachable_door_is_inf_and_in_gap():
    # the compound has usable gates, but no charger stands anywhere: inf and in gap, not no_gate
    b = district(south_locked=False)
    b = b.replace(facilities=b.facilities[b.facilities["kind"] != "charger"])
    report = gap_report(b, targets_m=TARGETS)
    u = report.units.set_index("id")
    assert np.isinf(u.loc[["U1", "U2"], "charger_m"]).all()
    assert u.loc[["U1", "U2"], "charger_id"].tolist() == ["", ""]
    assert u.loc[["U1", "U2"], "charger_gap"].all()
    assert u.loc[["U1", "U2"], "charger_status"].tolist() == ["gap", "gap"]
    assert not u["no_gate"].any()


@pytest.mark.parametrize("how", ["locked", "none", "removed"])
def test_compound_without_usable_gate_is_no_gate_not_a_gap(how):
    b = district()
    gates = b.gates.copy()
    if how == "locked":
        gates["locked"] = True
    elif how == "none":
        gates["locked"] = False
        gates["rider_access"] = "none"
    else:
        gates = gates.iloc[:0]
    report = gap_report(b.replace(gates=gates), targets_m=TARGETS)
    u = report.units.set_index("id")
    inside = ["U1", "U2"]
    assert u.loc[inside, "no_gate"].all() and not u.loc["U3", "no_gate"]
    assert u.loc[inside, "charger_status"].tolist() == ["no_gate", "no_gate"]
    assert u.loc[inside, "parcel_locker_status"].tolist() == ["no_gate", "no_gate"]
    assert np.isnan(u.loc[inside, "charger_m"].to_numpy(dtype=float)).all()
    assert np.isnan(u.loc[inside, "charger_walk_m"].to_numpy(dtype=float)).all()
    assert not u.loc[inside, "charger_gap"].any() and (u.loc[inside, "n_gaps"] == 0).all()
    # the street door outside is still judged: 30 m to C1
    assert u.loc["U3", "charger_status"] == "ok"
    comm = report.communities.set_index("id")
    assert comm.loc["c1", "no_gate"] and comm.loc["c1", "usable_gates"] == 0
    assert comm.loc["c1", "doors"] == 2 and comm.loc["c1", "no_gate_doors"] == 2
    assert comm.loc["c1", "charger_gaps"] == 0 and comm.loc["c1", "doors_with_gaps"] == 0
    assert np.isnan(comm.loc["c1", "charger_coverage_pct"])  # nothing assessed: no percentage
    d = report.district
    assert d["no_gate_doors"] == 2 and d["compounds_no_gate"] == ["c1"]
    # the district denominator leaves the no_gate doors out: U3 alone, covered
    assert d["kinds"]["charger"] == {
        **d["kinds"]["charger"],
        "doors": 1,
        "gaps": 0,
        "no_gate_doors": 2,
        "coverage_pct": 100.0,
    }
    # siting never tries to cover a no_gate door
    net = network_from_bundle(b.replace(gates=gates))
    result = propose_sites(
        report,
        b.replace(gates=gates),
        net,
        kind="charger",
        k=2,
        candidates=candidate_sites(b.replace(gates=gates), net),
    )
    assert result.gap_doors == 0 and len(result.sites) == 0


def test_unknown_gate_is_usable_on_foot_and_does_not_close_the_compound():
    # both gates of unknown rule (inferred candidates): walkable, not rideable, compound not closed
    b = district(south_locked=False, south_access="unknown", north_access="unknown", locker=Point(110, -60))
    gates = b.gates.copy()
    gates["inferred"] = "location,rider_access"
    b = b.replace(gates=gates)
    access = compound_access(b).set_index("id")
    assert not access.loc["c1", "no_gate"] and access.loc["c1", "usable_gates"] == 2
    assert not access.loc["c1", "closed_to_riders"]
    report = gap_report(b, targets_m=TARGETS)
    u = report.units.set_index("id")
    assert u.loc[["U1", "U2"], "charger_walk_m"].to_numpy() == pytest.approx([40.0, 95.0], abs=1e-3)
    assert np.isinf(u.loc[["U1", "U2"], "charger_ride_m"]).all()  # nobody rides through an unconfirmed gate
    # lockers do not count as gaps: the compound is not closed to riders
    assert u.loc[["U1", "U2"], "parcel_locker_status"].tolist() == ["not_applicable", "not_applicable"]
    # an unknown compound rule does not restrict known gates
    comms = b.communities.copy()
    comms["rider_access"] = "unknown"
    open_gates = district(south_locked=False).gates
    report2 = gap_report(b.replace(communities=comms, gates=open_gates), targets_m=TARGETS)
    assert report2.units.set_index("id").loc[["U1", "U2"], "charger_ride_m"].to_numpy() == pytest.approx(
        [40.0, 95.0], abs=1e-3
    )
    assert not compound_access(b.replace(communities=comms, gates=open_gates))["closed_to_riders"].any()


def test_closed_compound_with_and_without_locker():
    # both gates walk-only: closed to riders; the locker just outside the north gate serves it
    closed = district(south_locked=False, south_access="walk", north_access="walk", locker=Point(50, 104))
    access = compound_access(closed).set_index("id")
    assert access.loc["c1", "closed_to_riders"] and access.loc["c1", "has_locker"]
    report = gap_report(closed, targets_m=TARGETS)
    u = report.units.set_index("id")
    # walking from the locker: 4 m to the stub, in by the north gate
    assert u.loc[["U1", "U2"], "parcel_locker_m"].to_numpy() == pytest.approx([4 + 80 + 5, 4 + 20], abs=1e-3)
    assert u.loc[["U1", "U2"], "parcel_locker_gap"].tolist() == [False, False]
    assert report.district["closed_with_locker"] == ["c1"] and report.district["closed_without_locker"] == []

    far = district(south_locked=False, south_access="walk", north_access="walk", locker=Point(110, -60))
    access = compound_access(far).set_index("id")
    assert access.loc["c1", "closed_to_riders"] and not access.loc["c1", "has_locker"]
    report = gap_report(far, targets_m=TARGETS)
    assert report.district["closed_without_locker"] == ["c1"]
    u = report.units.set_index("id")
    # 50 m spur to the ring corner, 60 m west, 10 m stub, in by the south gate, then 20 + 5 or 80 m north
    assert u.loc[["U1", "U2"], "parcel_locker_m"].to_numpy() == pytest.approx([145.0, 200.0], abs=1e-3)
    assert u.loc[["U1", "U2"], "parcel_locker_gap"].tolist() == [False, False]  # exactly on target is no gap
    tighter = gap_report(far, targets_m={**TARGETS, "parcel_locker": 199.0}).units.set_index("id")
    assert tighter.loc[["U1", "U2"], "parcel_locker_gap"].tolist() == [False, True]

    # an open compound: locker distances are reported but never a gap
    open_ = gap_report(district(south_locked=False, locker=Point(110, -60)), targets_m=TARGETS)
    assert not open_.units["parcel_locker_gap"].any()
    assert np.isnan(open_.communities.set_index("id").loc["c1", "parcel_locker_coverage_pct"])


def test_buildings_without_units_get_a_door():
    b = district()
    building = local_gdf(
        [
            {
                "id": "B7",
                "community_id": "c1",
                "number": "7",
                "label": "7号楼",
                "geometry": Polygon([(70, 60), (90, 60), (90, 70), (70, 70)]),
            }
        ]
    )
    d = doors(b.replace(buildings=building))
    assert d.set_index("id").loc["B7", "door"] == "building"
    assert len(d) == 4


def _grid_network(n: int = 5, step: float = 40.0):
    lines = [LineString([(0, i * step), ((n - 1) * step, i * step)]) for i in range(n)]
    lines += [LineString([(i * step, 0), (i * step, (n - 1) * step)]) for i in range(n)]
    paths = local_gdf(
        [{"id": f"p{i}", "kind": "residential", "rideable": True, "geometry": ln} for i, ln in enumerate(lines)]
    )
    return network_from_bundle(Bundle.from_layers({"paths": paths}))


def _wgs(points_m) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(X0 + x, Y0 + y) for x, y in points_m], crs=UTM_48N).to_crs("EPSG:4326")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mclp_equals_brute_force_over_all_k_subsets(seed):
    rng = np.random.default_rng(seed)
    net = _grid_network()
    clients = rng.uniform(0, 160, (14, 2))
    cands = rng.uniform(0, 160, (7, 2))
    cost = distance_matrix(net, _wgs(cands), _wgs(clients), mode="walk")
    radius = 70.0
    weights = rng.integers(1, 4, len(clients))
    covers = cost <= radius
    for k in (1, 2, 3):
        best = max(weights[covers[:, list(s)].any(axis=1)].sum() for s in itertools.combinations(range(len(cands)), k))
        chosen, covered = solve_mclp(cost, radius_m=radius, k=k, weights=weights)
        assert len(chosen) <= k
        assert covered == best
        assert weights[covers[:, chosen].any(axis=1)].sum() == best
    # LSCP: the smallest subset covering every coverable client
    reach = covers.any(axis=1)
    sub = cost[reach]
    fewest = next(
        k
        for k in range(1, len(cands) + 1)
        if any((sub[:, list(s)] <= radius).any(axis=1).all() for s in itertools.combinations(range(len(cands)), k))
    )
    picked = solve_lscp(sub, radius_m=radius)
    assert len(picked) == fewest
    assert (sub[:, picked] <= radius).any(axis=1).all()


def test_coverage_merges_identical_clients():
    cost = np.array([[10, 500], [20, 600], [500, 5], [np.inf, np.inf]])
    rows, weights, client_row = coverage(cost, radius_m=100)
    assert weights.sum() == 4 and len(rows) == 3
    assert (rows[client_row] == (cost <= 100)).all()


def test_propose_sites_uses_network_distance_and_user_candidates():
    b = district(south_locked=True)
    net = network_from_bundle(b)
    report = gap_report(b, targets_m=TARGETS, network=net)
    # U1 is in gap (225 m); a candidate inside at (50,30) covers it, one just outside the fence at (-5,20)
    # is 15 m away as the crow flies but far along the paths
    user = gpd.GeoDataFrame({"id": ["inside", "outside"]}, geometry=list(_wgs([(50, 30), (-5, 20)])), crs="EPSG:4326")
    cands = candidate_sites(b, net, sources=(), user=user)
    res = propose_sites(report, b, net, kind="charger", k=1, candidates=cands)
    assert res.gap_doors == 1 and res.coverable == 1 and res.mclp_covered == 1 and res.lscp_sites == 1
    mclp = res.sites[res.sites["method"] == "mclp"]
    assert mclp["candidate_id"].tolist() == ["inside"]
    assert mclp["unit_ids"].tolist() == ["U1"]


def test_generated_candidates():
    b = district()
    net = network_from_bundle(b)
    cands = candidate_sites(b, net)
    assert set(cands["source"]) == {"gate_front", "junction", "parking_edge"}
    assert set(cands.loc[cands["source"] == "gate_front", "id"]) == {"gate:g_n"}  # the locked south gate is no front


def test_sample_report_lists_every_unit(sample_bundle, sample_config):
    report = gap_report(sample_bundle, config=sample_config)
    assert list(report.units["id"]) == list(sample_bundle.units["id"])
    for kind in ("charger", "rider_parking", "parcel_locker", "toilet", "rider_station"):
        assert np.isfinite(report.units[f"{kind}_m"]).all(), kind
    # the east gate is walk-only: walking to the east parking is shorter than riding for some doors
    assert (report.units["rider_parking_walk_m"] < report.units["rider_parking_ride_m"] - 1).any()


def test_write_gaps_sample(tmp_path, sample_bundle, sample_config):
    from ridermap.publish.gaps import write_gaps

    out = tmp_path / "gaps"
    files = write_gaps(sample_bundle, out, config=dataclasses.replace(sample_config, language="en"), k=2)
    assert all(f.is_file() for f in files)
    table = pd.read_csv(out / "units.csv", encoding="utf-8-sig")
    assert list(table["id"]) == list(sample_bundle.units["id"])
    assert {"charger_m", "rider_parking_m", "parcel_locker_m", "toilet_m", "rider_station_m"} <= set(table.columns)
    assert table.columns[0] == "id" and table.loc[1, "address"] == "锦华苑 1号楼 2单元"
    layer = pyogrio.read_dataframe(out / "gaps.gpkg", layer="doors")
    assert len(layer) == len(sample_bundle.units)
    assert layer["charger_gap"].dtype == bool
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["district"]["doors"] == len(sample_bundle.units)
    assert {s["kind"] for s in summary["siting"]} >= {"charger", "rider_parking"}
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert set(sites["method"]) <= {"mclp", "lscp"}
    page = (out / "gaps.html").read_text(encoding="utf-8")
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)
    assert (out / "lib" / "leaflet.js").is_file()
    pdf = out / "pdf" / f"{SAMPLE_ID}.pdf"
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "NotoSans" in fonts and "Type 3" in fonts and "DejaVu" not in fonts
    # rasterise and look: the door colours are on the page
    png = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-singlefile", str(pdf), str(png)], check=True)
    from PIL import Image

    pixels = np.asarray(Image.open(f"{png}.png").convert("RGB")).reshape(-1, 3).astype(int)
    for colour in ("#2e7d32", "#f9a825"):  # no gap, one gap
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).sum(axis=1) < 40).sum() > 5, colour


def test_gap_map_in_a_real_browser(tmp_path, sample_bundle, sample_config):
    from ridermap.publish.gaps import write_gaps

    chromium = chromium_path()
    playwright = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "gaps"
    write_gaps(sample_bundle, out, config=sample_config, k=1, pdf=False)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "gaps.html").as_uri())
        page.wait_for_function("typeof L !== 'undefined'")
        drawn = page.evaluate("""() => {
            const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])[0];
            let n = 0;
            map.eachLayer(layer => { if (layer instanceof L.CircleMarker && layer.feature) n++; });
            return n;
        }""")
        browser.close()
    assert not errors
    assert all(u.startswith("file://") for u in requests), requests
    assert drawn >= len(sample_bundle.units)


def test_gap_figure_replaces_characters_the_font_lacks(sample_bundle, sample_config):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ridermap.render.gapmap import gap_figure

    comm = sample_bundle.communities.copy()
    comm["name"] = "锦华苑\U0001f600\u202e"
    bundle = sample_bundle.replace(communities=comm)
    report = gap_report(bundle, config=sample_config)
    fig = gap_figure(report, bundle, SAMPLE_ID)
    FigureCanvasAgg(fig).draw()  # a missing-glyph warning would fail the suite
    assert any(t.get_text().startswith("锦华苑□ ·") for t in fig.texts)


def test_cli_gaps(tmp_path):
    import cli
    from ridermap.ingest.candidates import read_candidates

    cands = tmp_path / "cands.csv"
    cands.write_text("id,经度,纬度\nA,104.0890,30.6530\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli.main,
        ["gaps", "--config", str(SAMPLE_CONFIG), "-o", str(out), "--no-pdf", "--candidates", str(cands), "-k", "1"],
    )
    assert result.exit_code == 0, result.output
    assert (out / "units.csv").is_file() and not (out / "pdf").exists()
    read = read_candidates(str(cands))
    assert read["id"].tolist() == ["user:A"]
    assert (read.geometry.x.iloc[0], read.geometry.y.iloc[0]) == pytest.approx((104.0890, 30.6530))
    gcj = read_candidates(str(cands), crs="gcj02")  # AMap coordinates are moved back by a few hundred metres
    assert 100 < gcj.to_crs(UTM_48N).distance(read.to_crs(UTM_48N)).iloc[0] < 1000
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nx\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli.main, ["gaps", "--config", str(SAMPLE_CONFIG), "-o", str(tmp_path / "o2"), "--candidates", str(bad)]
    )
    assert result.exit_code == 2
    assert "bad.csv" in result.output and "lon" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o2").exists()


def test_xueyuanlu_report_lists_every_door():
    from ridermap.ingest import bundle_from_sources

    bundle = bundle_from_sources([str(shared_osm("beijing_xueyuanlu.osm"))], admin_code="110108")
    report = gap_report(bundle, config=Config())
    compound_buildings = bundle.buildings[bundle.buildings["community_id"] != ""]
    assert set(report.units["id"]) == set(bundle.units["id"]) | set(compound_buildings["id"])
    # the toilets are reachable on foot from most doors of the compound with nine gates
    nine = report.units["community_id"] == "110108-w609225889"
    assert np.isfinite(report.units.loc[nine, "toilet_m"]).mean() > 0.9
    # compounds without any gate are no_gate, counted apart from gaps
    comm = report.communities.set_index("id")
    gated = set(bundle.gates.loc[~bundle.gates["locked"] & (bundle.gates["rider_access"] != "none"), "community_id"])
    for cid in comm.index:
        assert comm.loc[cid, "no_gate"] == (cid not in gated), cid
        doors_here = report.units[report.units["community_id"] == cid]
        if cid not in gated:
            assert comm.loc[cid, "no_gate_doors"] == len(doors_here) and comm.loc[cid, "doors_with_gaps"] == 0
            assert (doors_here["toilet_status"] == "no_gate").all()
        else:
            assert comm.loc[cid, "no_gate_doors"] == 0
    assert report.district["no_gate_doors"] == int(comm["no_gate_doors"].sum()) > 0


def test_no_gate_in_reports_map_and_pdf(tmp_path):
    """A compound whose gates were removed: no_gate in the CSV, grey in the map, named in the PDF legend, draft band."""
    from ridermap.publish.gaps import write_gaps

    b = district()
    b = b.replace(gates=b.gates.iloc[:0])
    out = tmp_path / "gaps"
    write_gaps(b, out, config=Config(targets_m=TARGETS), k=1)
    table = gap_table_ids(pd.read_csv(out / "units.csv", encoding="utf-8-sig")).set_index("id")
    assert table.loc["U1", "no_gate"] == 1 and table.loc["U1", "charger_status"] == "no_gate"
    assert np.isnan(table.loc["U1", "charger_m"]) and table.loc["U1", "charger_gap"] == 0
    assert table.loc["U3", "no_gate"] == 0 and table.loc["U3", "charger_status"] == "ok"
    summary = gap_table_ids(pd.read_csv(out / "summary.csv", encoding="utf-8-sig")).set_index("id")
    assert summary.loc["c1", "no_gate_doors"] == 2 and summary.loc["c1", "charger_gaps"] == 0
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert data["district"]["no_gate_doors"] == 2
    assert all(s["gap_doors"] == 0 for s in data["siting"])
    page = (out / "gaps.html").read_text(encoding="utf-8")
    assert "不可达：无可用出入口" in page and "#9e9e9e" in page
    text = subprocess.run(
        ["pdftotext", "-raw", str(out / "pdf" / "c1.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    assert "不可达：无可用出入口" in flat and "草图/DRAFT" in flat  # no confirmed gate: draft under auto
    # the band can be switched off
    write_gaps(b, out, config=Config(targets_m=TARGETS, draft=False), k=1, html=False)
    text = subprocess.run(
        ["pdftotext", "-raw", str(out / "pdf" / "c1.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "DRAFT" not in text and "不可达：无可用出入口" in re.sub(r"\s+", "", text)


def test_confirmed_gates_give_no_draft_band(tmp_path):
    from ridermap.publish.gaps import write_gaps

    out = tmp_path / "gaps"
    write_gaps(district(south_locked=False), out, config=Config(targets_m=TARGETS), k=1, html=False)
    text = subprocess.run(
        ["pdftotext", "-raw", str(out / "pdf" / "c1.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "DRAFT" not in text and "不可达" not in text


def test_planner_tables_in_chinese_with_addresses_targets_and_described_proposals(
    tmp_path, sample_bundle, sample_config
):
    from ridermap.publish.gaps import write_gaps

    out = tmp_path / "gaps"
    write_gaps(sample_bundle, out, config=sample_config, k=2, html=False, pdf=False)
    units = pd.read_csv(out / "units.csv", encoding="utf-8-sig")
    assert list(units.columns[:4]) == ["编号", "小区编号", "地址", "无可用出入口"]
    assert "充电桩距离（米）" in units.columns and "骑手停车点状态" in units.columns
    assert units.loc[0, "地址"] == "锦华苑 1号楼 1单元"
    summary = gap_table_ids(pd.read_csv(out / "summary.csv", encoding="utf-8-sig")).set_index("id")
    assert summary.loc[SAMPLE_ID, "charger_target_m"] == 300 and summary.loc[SAMPLE_ID, "charger_mode"] == "ride"
    assert summary.loc[SAMPLE_ID, "rider_parking_mode"] == "walk"
    sites = gap_table_ids(pd.read_csv(out / "sites.csv", encoding="utf-8-sig"))
    assert len(sites) and sites["near"].str.contains("约").all()
    first = sites.iloc[0]
    assert first["covers"].count("锦华苑") == min(first["newly_covered"], 8)
    # the GeoPackage: five typed layers, as QGIS opens them
    layers = dict(pyogrio.list_layers(out / "gaps.gpkg"))
    assert layers == {
        "compounds": "MultiPolygon",
        "buildings": "MultiPolygon",
        "doors": "Point",
        "facilities": "Point",
        "proposals": "Point",
    }
    doors = pyogrio.read_dataframe(out / "gaps.gpkg", layer="doors")
    assert doors.loc[0, "address"] == "锦华苑 1号楼 1单元" and doors["charger_gap"].dtype == bool
    assert len(pyogrio.read_dataframe(out / "gaps.gpkg", layer="buildings")) == len(sample_bundle.buildings)


def test_gap_map_page_has_title_language_zoom_metric_scale_numbers_and_a_folding_legend(
    tmp_path, sample_bundle, sample_config
):
    from playwright.sync_api import sync_playwright

    from ridermap.publish.gaps import write_gaps

    out = tmp_path / "gaps"
    write_gaps(sample_bundle, out, config=sample_config, k=2, pdf=False)
    page_html = (out / "gaps.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in page_html and "<title>骑手设施缺口图</title>" in page_html
    assert "user-scalable=no" not in page_html
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path())
        for width, height, folded in ((390, 844, True), (1280, 800, False)):
            ctx = browser.new_context(viewport={"width": width, "height": height}, offline=True)
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto((out / "gaps.html").as_uri())
            page.wait_for_timeout(300)
            assert not errors
            assert page.evaluate("document.getElementById('rm-legend').open") is (not folded)
            scale = page.inner_text(".leaflet-control-scale")
            assert " m" in scale and "ft" not in scale and "mi" not in scale
            labels = page.eval_on_selector_all(".rm-bnum", "els => els.map(e => e.textContent)")
            assert set(sample_bundle.buildings["label"]) <= set(labels)
            sites = page.eval_on_selector_all(".rm-site", "els => els.map(e => e.textContent)")
            assert sites and all("覆盖" in s for s in sites)
            ctx.close()
        browser.close()
