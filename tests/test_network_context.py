"""One network per build: a topology built once, access masks per time plan, compound views cut out of it.

The build test counts topology constructions (the full split of a bundle's
paths) in one ``build`` of the sample; the others check that what is shared
gives what each consumer got when it built its own network.
"""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest
import shapely
from conftest import SAMPLE_ID
from test_routing import hand_bundle

from ridermap.analysis import network
from ridermap.analysis.context import Analysis
from ridermap.analysis.network import (
    cut,
    network_from_arrays,
    network_from_bundle,
    snap,
    split_edges,
    topology_from_bundle,
)
from ridermap.analysis.routing import off_hours_bundle, plan_routes


def test_one_build_constructs_the_network_once(sample_bundle, sample_config, tmp_path):
    from ridermap.publish.build import build

    config = replace(sample_config, workers=1)  # compound tasks in this process, so they are counted too
    before = network.constructions()
    report = build(sample_bundle, tmp_path / "out", config=config, force=True)
    assert network.constructions() - before == 1
    out = tmp_path / "out"
    # every consumer used it: validation, gaps, and the routes on the unit pages
    assert (out / "validation.json").is_file() and (out / "gaps" / "summary.json").is_file()
    pages = list((out / "site" / "u").glob("*.html"))
    assert pages and any('"legs": [{' in p.read_text(encoding="utf-8") for p in pages)
    assert all(p["status"] == "ok" for p in report.district.values())


def test_analysis_builds_lazily_once_and_keeps_a_failure(sample_bundle):
    ctx = Analysis(sample_bundle)
    before = network.constructions()
    assert network.constructions() == before  # nothing until asked
    regular = ctx.network()
    assert ctx.network() is regular and ctx.network().topology is ctx.topology
    assert network.constructions() - before == 1
    empty = Analysis(sample_bundle.replace(paths=sample_bundle.paths.iloc[0:0]))
    for _ in range(2):
        with pytest.raises(Exception, match="no line to build a network from"):
            empty.network()
    assert network.constructions() - before == 1


def test_plans_share_one_topology_and_match_the_off_hours_bundle():
    b = hand_bundle(south={"hours": "Mo-Fr 07:00-09:00"}, north={"locked": True})
    ctx = Analysis(b)
    regular, off = ctx.network("regular"), ctx.network("off_hours")
    assert regular.topology is off.topology and ctx.plans() == ("regular", "off_hours")
    south = regular.edge_gate_id == "c1-gs"
    assert regular.edge_ride[south].all() and not off.edge_ride[south].any() and off.edge_walk[south].all()
    # the masks are what a network built from the off-hours bundle had (the old way: a second construction)
    old = network_from_bundle(off_hours_bundle(b))
    assert np.array_equal(old.edge_ride, off.edge_ride) and np.array_equal(old.edge_walk, off.edge_walk)
    assert Analysis(hand_bundle()).plans() == ("regular",)


def test_a_compound_view_pickles_small_and_routes_as_its_own_network_did(sample_bundle):
    ctx = Analysis(sample_bundle)
    view = sample_bundle.community(SAMPLE_ID)
    sub = ctx.for_compound(view)
    restored = pickle.loads(pickle.dumps(sub))
    before = network.constructions()
    shared = restored.route_plan(view)
    assert network.constructions() == before  # a worker never splits the network again
    own = plan_routes(view)  # the old way: a network built from the view
    assert shared.routes.keys() == own.routes.keys() and any(shared.routes.values())
    for uid, r in own.routes.items():
        s = shared.routes[uid]
        assert (s is None) == (r is None)
        if r is not None:
            assert (s.gate_id, s.entry, s.parking_id) == (r.gate_id, r.entry, r.parking_id)
            assert s.length_m == pytest.approx(r.length_m, abs=1e-6)
    assert shared.nearest.equals(own.nearest)


def test_a_compound_view_is_a_small_part_of_the_district(bupt_bundle):
    ctx = Analysis(bupt_bundle)
    district = len(pickle.dumps(ctx.topology))
    for cid in bupt_bundle.community_ids():
        view = bupt_bundle.community(cid)
        sub = ctx.for_compound(view)
        assert len(pickle.dumps(sub)) < district
        # only the view's paths and the compound's own gates
        assert set(sub.topology.edge_path_id) - {""} <= set(view.paths["id"])
        assert set(sub.network().gate_node) <= set(view.gates["id"])


def test_a_compound_context_has_only_its_gates_and_never_builds():
    b = hand_bundle()
    sub = Analysis(b).for_compound(b.community("c1"))
    assert set(sub.network().gate_node) == {"c1-gs", "c1-gn", "c1-ge"}
    with pytest.raises(Exception, match="no off_hours plan"):
        sub.network("off_hours")


def test_split_edges_and_cut_are_the_one_splitting_and_cutting():
    net = network_from_arrays(
        [shapely.LineString([(0, 0), (100, 0), (100, 50)])],
        path_id=["p"],
        path_ride=[True],
        path_walk=[True],
        crs="EPSG:32648",
    )
    pts = snap(net, np.array([[30.0, 5.0], [100.0, 20.0], [70.0, -3.0]]))
    pieces = split_edges(net, pts)
    assert pieces.length.sum() == pytest.approx(150.0)
    assert sorted(np.round(pieces.length, 6).tolist()) == [30.0, 30.0, 40.0, 50.0]
    # the piece between the points at 70 m and 120 m along the edge, both ways
    k = int(np.flatnonzero(np.isclose(pieces.o0, 70.0))[0])
    xy = cut(net, int(pieces.orig[k]), float(pieces.o0[k]), float(pieces.o1[k]))
    assert np.allclose(xy, [[70, 0], [100, 0], [100, 20]])
    assert np.allclose(cut(net, int(pieces.orig[k]), float(pieces.o0[k]), float(pieces.o1[k]), forward=False), xy[::-1])
    # a point on an unusable edge is not inserted when only usable edges count
    assert (split_edges(net, pts, usable=np.zeros(net.n_edges, bool)).on_node == -1).all()


def test_topology_is_the_same_whatever_the_gate_rules(sample_bundle):
    gates = sample_bundle.gates.copy()
    gates["rider_access"] = "none"
    closed = topology_from_bundle(sample_bundle.replace(gates=gates))
    open_ = topology_from_bundle(sample_bundle)
    assert np.array_equal(closed.edge_u, open_.edge_u) and closed.gate_node == open_.gate_node
    assert (
        not network_from_bundle(sample_bundle.replace(gates=gates), topology=closed)
        .edge_walk[closed.edge_gate_id != ""]
        .any()
    )


def test_the_compound_network_digest_keys_what_routes_depend_on(bupt_bundle):
    from ridermap.analysis.context import Analysis as A

    cid = bupt_bundle.community_ids()[0]
    view = bupt_bundle.community(cid)
    first = A(bupt_bundle).for_compound(view).digest()
    assert first == pickle.loads(pickle.dumps(A(bupt_bundle).for_compound(view))).digest()  # stable, in any process
    gates = bupt_bundle.gates.copy()
    gates.loc[gates["community_id"] == cid, "rider_access"] = "none"  # the same topology, other masks
    closed = bupt_bundle.replace(gates=gates)
    assert A(closed).for_compound(closed.community(cid)).digest() != first
    paths = bupt_bundle.paths
    moved = bupt_bundle.replace(paths=paths.assign(geometry=paths.geometry.translate(1e-5, 0)))
    assert A(moved).for_compound(moved.community(cid)).digest() != first
