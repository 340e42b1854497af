"""Benchmark the gap distances on a synthetic district.

A street grid of ~200,000 edges (50 m blocks, streets drawn as OSM-like ways
of 10 blocks sharing their junction vertices), 100,000 unit doors off the
streets and 2,000 facilities of each of five kinds. Prints::

    distance_s: …   network build + snapping onto edges + distances for all five kinds
    peak_mb: …      process peak RSS
    speedup_vs_networkx_multisource: …x
                    one networkx.multi_source_dijkstra per kind on the same graph
                    (same snapped points), versus our one csgraph Dijkstra per kind
    naive_…         networkx shortest paths one unit at a time, on a sample, extrapolated
    gap_report_s    the full report (riding and walking for every kind, flags, summaries)

Run: ``python benchmarks/gaps.py [--side 317] [--units 100000] [--facilities 2000]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ridermap.analysis.network import _augment, _concat, nearest_distances_many, network_from_bundle, snap  # noqa: E402
from ridermap.model.bundle import Bundle  # noqa: E402

UTM = "EPSG:32650"  # Beijing
X0, Y0 = 440_000.0, 4_420_000.0
KINDS = ("charger", "battery_swap", "rider_parking", "parcel_locker", "toilet")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def synthetic_bundle(
    side: int, n_units: int, n_fac: int, *, block_m: float = 50.0, way_blocks: int = 10, seed: int = 1
) -> Bundle:
    """The synthetic district as a Bundle in WGS84."""
    rng = np.random.default_rng(seed)
    lines, kinds = [], []
    xs = X0 + np.arange(side) * block_m
    ys = Y0 + np.arange(side) * block_m
    for i in range(side):
        for start in range(0, side - 1, way_blocks):
            stop = min(start + way_blocks, side - 1) + 1
            lines.append(np.column_stack([xs[start:stop], np.full(stop - start, ys[i])]))
            lines.append(np.column_stack([np.full(stop - start, xs[i]), ys[start:stop]]))
            kinds += ["residential", "service"]
    counts = [len(c) for c in lines]
    geoms = shapely.linestrings(np.vstack(lines), indices=np.repeat(np.arange(len(lines)), counts))
    paths = gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(len(geoms))], "kind": kinds, "rideable": True, "access": "", "community_id": ""},
        geometry=geoms,
        crs=UTM,
    ).to_crs("EPSG:4326")
    span = (side - 1) * block_m

    def _points(n):
        # inside blocks, 3-20 m off the nearest street
        bx = rng.integers(0, side - 1, n) * block_m
        by = rng.integers(0, side - 1, n) * block_m
        off = rng.uniform(3, block_m - 3, (n, 2))
        return gpd.GeoSeries(shapely.points(X0 + bx + off[:, 0], Y0 + by + off[:, 1]), crs=UTM).to_crs("EPSG:4326")

    units = gpd.GeoDataFrame(
        {"id": [f"u{i}" for i in range(n_units)], "community_id": ""}, geometry=_points(n_units).values, crs="EPSG:4326"
    )
    fac_kinds = np.repeat(KINDS, n_fac)
    facilities = gpd.GeoDataFrame(
        {"id": [f"f{i}" for i in range(len(fac_kinds))], "kind": fac_kinds},
        geometry=_points(len(fac_kinds)).values,
        crs="EPSG:4326",
    )
    assert span > 0
    return Bundle.from_layers({"paths": paths, "units": units, "facilities": facilities})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=317, help="grid nodes per side (317 -> ~200k edges)")
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--facilities", type=int, default=2_000, help="per kind")
    parser.add_argument("--naive-sample", type=int, default=5)
    args = parser.parse_args(argv)

    bundle = synthetic_bundle(args.side, args.units, args.facilities)
    fac_by_kind = {k: bundle.facilities.geometry[bundle.facilities["kind"] == k] for k in KINDS}
    rss_before = _rss_mb()

    t0 = time.perf_counter()
    net = network_from_bundle(bundle)
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    units = snap(net, bundle.units.geometry, mode="walk")
    sources = {k: snap(net, g, mode="walk") for k, g in fac_by_kind.items()}
    t_snap = time.perf_counter() - t1
    t2 = time.perf_counter()
    result = nearest_distances_many(net, sources, units, mode="walk")
    t_dist = time.perf_counter() - t2
    distance_s = time.perf_counter() - t0
    peak = _rss_mb()
    dijkstra_s = t_dist

    print(f"distance_s: {distance_s:.2f}")
    print(f"peak_mb: {peak:.0f}")
    # networkx, the careful way: one multi-source Dijkstra per kind on the same graph and points
    offsets, all_snapped = {}, None
    for k, s in sources.items():
        offsets[k] = 0 if all_snapped is None else len(all_snapped)
        all_snapped = s if all_snapped is None else _concat(all_snapped, s)
    n_src = len(all_snapped)
    aug = _augment(net, _concat(all_snapped, units), "walk", spur=np.arange(n_src + len(units)) < n_src)
    t3 = time.perf_counter()
    g = nx.Graph()
    g.add_weighted_edges_from(zip(aug.a.tolist(), aug.b.tolist(), aug.w.tolist()))
    g.add_nodes_from(aug.on_node[aug.on_node >= 0].tolist())
    t_nx_graph = time.perf_counter() - t3
    t4 = time.perf_counter()
    unit_nodes = aug.on_node[n_src:]
    max_err = 0.0
    for k, s in sources.items():
        nodes = aug.spur_node[offsets[k] : offsets[k] + len(s)]
        lengths = nx.multi_source_dijkstra_path_length(g, set(nodes[nodes >= 0].tolist()))
        got = np.array([lengths.get(int(n), np.inf) for n in unit_nodes]) + units.distance_m
        ours = result[k][0]
        fin = np.isfinite(ours)
        max_err = max(max_err, float(np.max(np.abs(got[fin] - ours[fin]))) if fin.any() else 0.0)
    t_nx = time.perf_counter() - t4
    print(
        f"speedup_vs_networkx_multisource: {t_nx / dijkstra_s:.1f}x "
        f"(networkx {t_nx:.2f} s vs ours {dijkstra_s:.2f} s incl. inserting the points, {len(KINDS)} kinds, same "
        "graph; "
        f"end to end incl. graph build: networkx {t_nx + t_nx_graph + t_build + t_snap:.2f} s vs {distance_s:.2f} s "
        f"= {(t_nx + t_nx_graph + t_build + t_snap) / distance_s:.1f}x; max difference {max_err:.2e} m)"
    )
    # naive: one shortest-path search per unit (to its nearest facility of one kind), on a sample
    sample = unit_nodes[: args.naive_sample]
    kind_nodes = set(aug.spur_node[offsets[KINDS[0]] : offsets[KINDS[0]] + len(sources[KINDS[0]])].tolist())
    t5 = time.perf_counter()
    for node in sample.tolist():
        lengths = nx.single_source_dijkstra_path_length(g, node)
        min(lengths.get(f, np.inf) for f in kind_nodes)
    per_unit = (time.perf_counter() - t5) / max(len(sample), 1)
    print(
        f"naive_networkx_per_unit_ms: {per_unit * 1000:.0f} (one single-source search per unit, sample of "
        f"{len(sample)}; "
        f"extrapolated to {args.units:,} units: {per_unit * args.units / 3600:.1f} h)"
    )
    print(
        f"grid: {net.n_nodes:,} nodes, {net.n_edges:,} edges; {args.units:,} units; "
        f"{args.facilities:,} facilities x {len(KINDS)} kinds"
    )
    print(
        f"breakdown_s: build {t_build:.2f}, snap {t_snap:.2f}, insert points + dijkstra {t_dist:.2f}; "
        f"rss before timed part {rss_before:.0f} MB"
    )
    # the whole planner report: riding and walking for every kind, flags, summaries
    from ridermap.analysis.gaps import gap_report

    t6 = time.perf_counter()
    report = gap_report(bundle, targets_m={k: 300.0 for k in KINDS})
    print(
        f"gap_report_s: {time.perf_counter() - t6:.2f} (network + both modes x {len(KINDS)} kinds + flags + summaries, "
        f"{len(report.units):,} doors)"
    )


if __name__ == "__main__":
    main()
