"""The indexes and shortcuts that keep district builds linear give the same answers as the slow way."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ridermap.analysis.network import nearest_distances, network_from_bundle, reachable_within_groups
from ridermap.utm import utm_crs


@pytest.mark.parametrize(
    "lonlat",
    [
        (104.09, 30.65),
        (116.35, 39.96),
        (27.55, 53.90),
        (-70.6, -33.4),
        (151.2, -33.9),
        (3.0, 60.5),
        (120.0, 23.5),
        (-0.1, 51.5),
    ],
)
def test_utm_crs_matches_geopandas(lonlat):
    g = gpd.GeoSeries([shapely.Point(*lonlat), shapely.Point(lonlat[0] + 0.01, lonlat[1] + 0.01)], crs=4326)
    assert utm_crs(g) == g.estimate_utm_crs()


def test_reachable_within_groups_agrees_with_one_search_per_group(sample_bundle):
    net = network_from_bundle(sample_bundle)
    gates = sample_bundle.gates
    units = sample_bundle.units
    assert len(units) > 10
    # two groups: the gates riders may use vs the locked north gate alone
    group = np.where(gates["locked"], "locked", "open")
    targets_group = np.where(np.arange(len(units)) % 2 == 0, "open", "locked")
    got = reachable_within_groups(
        net, gates.geometry, group, units.geometry, targets_group, mode="walk", max_snap_m=5.0
    )
    expected = np.zeros(len(units), dtype=bool)
    for g in ("open", "locked"):
        sel = targets_group == g
        dist, _ = nearest_distances(net, gates.geometry[group == g], units.geometry[sel], mode="walk", max_snap_m=5.0)
        expected[sel] = np.isfinite(dist)
    assert got.tolist() == expected.tolist()
    assert expected.any()


def test_bundle_memo_is_made_once_per_bundle_and_never_pickled(sample_bundle):
    import pickle

    view = sample_bundle.community(sample_bundle.community_ids()[0])
    calls = []

    def make():
        calls.append(1)
        return {"n": len(view.units)}

    assert view.memo("probe", make) is view.memo("probe", make)
    assert len(calls) == 1
    copy = pickle.loads(pickle.dumps(view))
    assert "_memo:probe" not in copy.__dict__  # a worker makes its own
    assert copy.memo("probe", make) == {"n": len(view.units)} and len(calls) == 2


def test_posters_of_one_compound_share_its_layers_in_utm(sample_bundle):
    from ridermap.render.poster_map import project

    cid = sample_bundle.community_ids()[0]
    view = sample_bundle.community(cid)
    gates = list(view.gates["id"])
    north, gate = project(view, cid, None), project(view, cid, gates[0])
    assert north.layers["buildings"] is gate.layers["buildings"]  # projected once
    assert north.layers is not gate.layers  # each poster its own dict
    fresh = view.buildings.to_crs(north.layers["buildings"].crs)
    assert fresh.geometry.equals(north.layers["buildings"].geometry)


def test_alongside_runs_in_a_forked_process_and_hands_back_its_result_or_its_error():
    import os

    from ridermap.publish.alongside import Alongside

    here = os.getpid()
    side = Alongside(lambda: (os.getpid(), [1, 2]), enabled=True)
    pid, value = side.result()
    assert value == [1, 2] and pid != here  # it ran in another process
    assert Alongside(lambda: os.getpid(), enabled=False).result() == here

    def fail():
        raise OSError(28, "No space left on device", "/x/ridermap.gpkg")

    with pytest.raises(OSError) as caught:
        Alongside(fail, enabled=True).result()
    assert caught.value.errno == 28 and caught.value.filename == "/x/ridermap.gpkg"


def test_alongside_runs_the_work_here_when_its_process_dies_without_an_answer():
    import os
    import signal

    from ridermap.publish.alongside import Alongside

    here = os.getpid()

    def work():
        if os.getpid() != here:
            os.kill(os.getpid(), signal.SIGKILL)
        return "done here"

    assert Alongside(work, enabled=True).result() == "done here"
    side = Alongside(lambda: __import__("time").sleep(30), enabled=True)
    side.close()  # the build stopped: the process is stopped too, at once
    assert side.process is None
