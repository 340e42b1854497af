"""Searches over a :class:`~.access.Network`: nearest distances, reachability, matrices, routes.

Everything here inserts the points it is asked about into the network
(:func:`.snap.split_edges`) and runs :mod:`scipy.sparse.csgraph` on the result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra

from ridermap.errors import ValidationError
from ridermap.model.schema import CRS

from .access import Network
from .snap import Snapped, _concat, _snapped, cut, snap, split_edges
from .topology import transformer

log = logging.getLogger(__name__)

__all__ = [
    "Route",
    "nearest_distances",
    "nearest_distances_many",
    "nearest_by_kind",
    "reachable_within_groups",
    "distance_matrix",
    "route",
    "routes",
]


@dataclass(frozen=True)
class Route:
    """A shortest route along the network.

    Attributes
    ----------
    geometry
        WGS84 LineString from origin to destination (including the spurs).
    length_m
        Length in metres (spurs included).
    edges
        Network edge indices in travel order (gate connectors included).
    path_ids
        Bundle path ids in travel order (consecutive repeats collapsed).
    gate_ids
        Gates passed, in order.
    """

    geometry: shapely.LineString
    length_m: float
    edges: list[int]
    path_ids: list[str]
    gate_ids: list[str]


@dataclass(frozen=True)
class _Augmented:
    graph: sparse.csr_array  # both directions stored: use ``directed=True``
    on_node: np.ndarray  # node of each point on its edge (-1 unsnapped)
    spur_node: np.ndarray  # node at the point itself, joined by its spur (-1 none)
    a: np.ndarray  # kept undirected edges
    b: np.ndarray
    w: np.ndarray
    orig: np.ndarray  # network edge (-1: spur)
    o0: np.ndarray  # offsets along the original edge at a and b
    o1: np.ndarray


def _augment(net: Network, snapped: Snapped, mode: str, spur=None) -> _Augmented:
    """The ``mode`` graph with every snapped point inserted as a node on its edge (:func:`.snap.split_edges`).

    Points where ``spur`` is true also get a node at their own position,
    joined to the on-edge node by the straight spur (sources need it so the
    spur counts in the distance; for targets it is simply added afterwards).
    """
    n0, npts = net.n_nodes, len(snapped)
    pieces = split_edges(net, snapped, usable=net.mode_mask(mode))
    on_node = pieces.on_node
    ok = on_node >= 0
    spur = ok & (np.ones(npts, dtype=bool) if spur is None else np.asarray(spur, dtype=bool))
    spur_node = np.full(npts, -1, dtype=np.int64)
    spur_node[spur] = n0 + npts + np.arange(int(spur.sum()))
    sp = np.flatnonzero(spur)
    a = np.r_[pieces.a, spur_node[sp]]
    b = np.r_[pieces.b, on_node[sp]]
    w = np.r_[pieces.length, snapped.distance_m[sp]].astype(float)
    orig = np.r_[pieces.orig, np.full(len(sp), -1)]
    o0 = np.r_[pieces.o0, np.zeros(len(sp))]
    o1 = np.r_[pieces.o1, np.zeros(len(sp))]
    # parallel edges: keep the shortest (csr construction would add them up)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((w, hi, lo))
    keep = np.r_[True, (lo[order][1:] != lo[order][:-1]) | (hi[order][1:] != hi[order][:-1])]
    sel = order[keep]
    sel = sel[a[sel] != b[sel]]
    a, b, w, orig, o0, o1 = a[sel], b[sel], w[sel], orig[sel], o0[sel], o1[sel]
    n = n0 + npts + int(spur.sum())
    graph = sparse.csr_array((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    return _Augmented(graph, on_node, spur_node, a, b, w, orig, o0, o1)


def nearest_distances(
    net: Network, sources, targets, *, mode: str, max_snap_m: float = 2000.0
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each target to its nearest source along the network.

    One multi-source Dijkstra (:func:`scipy.sparse.csgraph.dijkstra` with
    ``min_only=True``) from all sources at once; sources and targets are
    snapped onto edges and inserted as virtual nodes.

    Parameters
    ----------
    net
        The network.
    sources, targets
        Points in WGS84 (GeoSeries...), or :class:`Snapped` from :func:`snap`.
    mode
        ``"ride"``: rideable edges and gates riders may ride through;
        ``"walk"``: every walkable edge and gates open to walking.
    max_snap_m
        Points (not already :class:`Snapped`) further than this from every
        usable edge are unreachable. Use a few metres to ask "is this door
        on a mapped path", the default to measure thin data as it is.

    Returns
    -------
    distance_m, source_index
        Per target: metres (spurs included) to the nearest source and that
        source's position in ``sources``; ``inf`` and ``-1`` when unreachable.
    """
    return nearest_distances_many(net, {"sources": sources}, targets, mode=mode, max_snap_m=max_snap_m)["sources"]


def nearest_distances_many(
    net: Network, sources: dict, targets, *, mode: str, max_snap_m: float = 2000.0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`nearest_distances` for several source sets (e.g. facility kinds) at once.

    The targets and every source set are inserted into one graph; then one
    multi-source Dijkstra runs per source set.

    Parameters
    ----------
    net
        The network.
    sources
        ``{name: points or Snapped}``.
    targets
        Points or :class:`Snapped`.
    mode
        ``"ride"`` or ``"walk"``.
    max_snap_m
        See :func:`nearest_distances`.

    Returns
    -------
    dict
        ``{name: (distance_m, source_index)}`` as :func:`nearest_distances` returns.
    """
    net.mode_mask(mode)
    dst = _snapped(net, targets, mode, max_snap_m)
    nt = len(dst)
    parts = {name: _snapped(net, pts, mode, max_snap_m) for name, pts in sources.items()}
    out = {name: (np.full(nt, np.inf), np.full(nt, -1, dtype=np.int64)) for name in parts}
    if nt == 0 or not parts:
        return out
    everything, starts, pos = dst, {}, nt
    for name, part in parts.items():
        starts[name] = pos
        everything = _concat(everything, part)
        pos += len(part)
    aug = _augment(net, everything, mode, spur=np.arange(pos) >= nt)
    tn = aug.on_node[:nt]
    ok = tn >= 0
    off = dst.distance_m[ok]
    lookup = np.full(aug.graph.shape[0], -1, dtype=np.int64)
    for name, part in parts.items():
        nodes = aug.spur_node[starts[name] : starts[name] + len(part)]
        live = nodes >= 0
        if not live.any():
            continue
        d, _pred, origin = dijkstra(
            aug.graph, directed=True, indices=nodes[live], min_only=True, return_predecessors=True
        )
        dist, which = out[name]
        dist[ok] = d[tn[ok]] + off
        lookup[nodes[live]] = np.flatnonzero(live)
        o = origin[tn[ok]]
        which[ok] = np.where(o >= 0, lookup[np.maximum(o, 0)], -1)
        which[~np.isfinite(dist)] = -1
        lookup[nodes[live]] = -1
    return out


def reachable_within_groups(
    net: Network, sources, source_group, targets, target_group, *, mode: str, max_snap_m: float = 2000.0
) -> np.ndarray:
    """Whether each target is connected to some source of its own group (e.g. a door to a gate of its compound).

    One pass over the whole network for every group at once (connected
    components of the graph with all points inserted), where
    :func:`nearest_distances` per group would search the network once per
    group. A target is reachable exactly when ``nearest_distances`` from the
    sources of its group gives it a finite distance.

    Parameters
    ----------
    net
        The network.
    sources, targets
        Points in WGS84 (GeoSeries...).
    source_group, target_group
        A group label per source / per target.
    mode
        ``"ride"`` or ``"walk"``.
    max_snap_m
        See :func:`nearest_distances`.

    Returns
    -------
    numpy.ndarray
        One bool per target.
    """

    net.mode_mask(mode)
    dst = _snapped(net, targets, mode, max_snap_m)
    src = _snapped(net, sources, mode, max_snap_m)
    nt, ns = len(dst), len(src)
    if nt == 0 or ns == 0:
        return np.zeros(nt, dtype=bool)
    aug = _augment(net, _concat(dst, src), mode, spur=np.arange(nt + ns) >= nt)
    _n, label = connected_components(aug.graph, directed=True, connection="weak")
    tn, sn = aug.on_node[:nt], aug.spur_node[nt:]
    live = sn >= 0
    have = {(g, c) for g, c in zip(np.asarray(source_group, dtype=object)[live], label[sn[live]])}
    tg = np.asarray(target_group, dtype=object)
    return np.array([t >= 0 and (g, label[t]) in have for g, t in zip(tg, tn)], dtype=bool)


def distance_matrix(
    net: Network, sources, targets, *, mode: str, limit_m: float = np.inf, chunk: int = 32
) -> np.ndarray:
    """Network distances ``(n_targets, n_sources)`` in metres (``inf`` beyond ``limit_m``).

    For siting cost matrices. Runs Dijkstra from the sources in chunks, each
    bounded by ``limit_m``, and keeps only the target columns.
    """
    net.mode_mask(mode)
    src = _snapped(net, sources, mode)
    dst = _snapped(net, targets, mode)
    ns, nt = len(src), len(dst)
    out = np.full((nt, ns), np.inf)
    if ns == 0 or nt == 0:
        return out
    aug = _augment(net, _concat(src, dst), mode, spur=np.arange(ns + nt) < ns)
    src_nodes = aug.spur_node[:ns]
    tn = aug.on_node[ns:]
    tok = np.flatnonzero(tn >= 0)
    off = dst.distance_m[tok]
    live = np.flatnonzero(src_nodes >= 0)
    for start in range(0, len(live), chunk):
        part = live[start : start + chunk]
        d = dijkstra(aug.graph, directed=True, indices=src_nodes[part], limit=limit_m)
        block = d[:, tn[tok]].T + off[:, None]
        out[np.ix_(tok, part)] = np.where(block <= limit_m, block, np.inf)
    return out


def routes(net: Network, origin, destinations, *, mode: str) -> list[Route | None]:
    """Shortest routes from one origin to many destinations (one Dijkstra).

    Parameters
    ----------
    net
        The network.
    origin
        One point (WGS84 shapely Point or one-row GeoSeries).
    destinations
        Points in WGS84.
    mode
        ``"ride"`` or ``"walk"``.

    Returns
    -------
    list of Route or None
        ``None`` where a destination is unreachable.
    """
    net.mode_mask(mode)
    o = _snapped(net, origin, mode)
    if len(o) != 1:
        raise ValidationError(f"route: origin must be one point, got {len(o)}")
    dst = _snapped(net, destinations, mode)
    aug = _augment(net, _concat(o, dst), mode, spur=np.arange(1 + len(dst)) == 0)
    start = aug.spur_node[0]
    if start < 0:
        return [None] * len(dst)
    d, pred = dijkstra(aug.graph, directed=True, indices=start, return_predecessors=True)
    lookup: dict[tuple[int, int], int] = {}
    for k, (x, y) in enumerate(zip(aug.a.tolist(), aug.b.tolist())):
        lookup[(x, y)] = k
        lookup[(y, x)] = k
    out: list[Route | None] = []
    to_wgs = transformer(net.crs, CRS)
    all_xy = np.vstack([o.xy, dst.xy])
    for i, node in enumerate(aug.on_node[1:].tolist()):
        if node < 0 or not np.isfinite(d[node]):
            out.append(None)
            continue
        chain = [node]
        while chain[-1] != start:
            chain.append(int(pred[chain[-1]]))
        chain.reverse()
        coords: list[np.ndarray] = [all_xy[0:1]]
        edges: list[int] = []
        for x, y in zip(chain[:-1], chain[1:]):
            k = lookup[(x, y)]
            e = int(aug.orig[k])
            if e < 0:  # the origin's spur: straight to its snapped position
                coords.append(o.snapped_xy[0][None, :])
                continue
            if not edges or edges[-1] != e:
                edges.append(e)
            forward = aug.a[k] == x
            coords.append(cut(net, e, float(aug.o0[k]), float(aug.o1[k]), forward=bool(forward)))
        coords.append(dst.snapped_xy[i][None, :])
        coords.append(all_xy[1 + i][None, :])
        xy = np.vstack(coords)
        keep = np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]
        xy = xy[keep]
        if len(xy) < 2:
            xy = np.vstack([xy, xy])
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        path_ids = [p for p in net.edge_path_id[edges].tolist() if p]
        path_ids = [p for j, p in enumerate(path_ids) if j == 0 or p != path_ids[j - 1]]
        gate_ids = [g for g in net.edge_gate_id[edges].tolist() if g] if len(net.edge_gate_id) else []
        gate_ids = [g for j, g in enumerate(gate_ids) if j == 0 or g != gate_ids[j - 1]]
        out.append(
            Route(
                geometry=shapely.LineString(np.column_stack([lon, lat])),
                length_m=float(d[node] + dst.distance_m[i]),
                edges=edges,
                path_ids=path_ids,
                gate_ids=gate_ids,
            )
        )
    return out


def route(net: Network, origin, destination, *, mode: str) -> Route | None:
    """Shortest route between two points (WGS84), or ``None`` if unreachable.

    See :func:`routes`.
    """
    return routes(net, origin, [destination] if isinstance(destination, shapely.Geometry) else destination, mode=mode)[
        0
    ]


def nearest_by_kind(net: Network, targets, facilities, kinds, *, mode: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per facility kind, the distance from each target to the nearest facility of that kind and its id.

    The one "nearest facility" search: gap distances
    (:func:`ridermap.analysis.gaps.unit_distances`, both modes) and the
    nearby lists of unit pages (:func:`ridermap.analysis.routing.nearest_facilities`)
    both ask it.

    Parameters
    ----------
    net
        The network.
    targets
        Points (WGS84) or :class:`~.snap.Snapped` (e.g. doors).
    facilities
        The facilities layer (``id``, ``kind``, points).
    kinds
        Kinds to look for.
    mode
        ``"ride"`` or ``"walk"``.

    Returns
    -------
    dict
        ``{kind: (distance_m, facility_id)}`` per target; ``inf`` and ``""``
        where no facility of that kind is reachable (or there is none).
    """
    dst = _snapped(net, targets, mode)
    nt = len(dst)
    sources, ids = {}, {}
    for kind in kinds:
        sel = facilities[facilities["kind"] == kind]
        ids[kind] = sel["id"].to_numpy(dtype=object)
        if len(sel):
            sources[kind] = snap(net, sel.geometry, mode=mode)
    result = nearest_distances_many(net, sources, dst, mode=mode)
    out = {}
    for kind in kinds:
        dist, which = result.get(kind, (np.full(nt, np.inf), np.full(nt, -1)))
        names = ids[kind][np.maximum(which, 0)] if len(ids[kind]) else np.full(nt, "", dtype=object)
        out[kind] = (dist, np.where(which >= 0, names, ""))
    return out
