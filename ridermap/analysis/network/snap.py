"""Points onto the network: snapping, and the one place edges are split at points and cut.

- :func:`snap` puts points (doors, facilities, gates) onto the nearest
  *edge* (not node) of their own zone.
- :func:`split_edges` inserts snapped points into the edges they sit on
  (virtual nodes); the distance searches (:mod:`.search`) and the rider
  routes (:mod:`ridermap.analysis.routing`) both build their graphs on it.
- :func:`cut` is the part of an edge between two offsets (route geometry).

A distance is spur + network + spur, in metres: each point is joined to its
snapped position by a straight spur.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.ops import substring

from .access import Network
from .primitives import _point_segment

log = logging.getLogger(__name__)

#: KD-tree queries of at least this many points run in threads
_PARALLEL_QUERY = 20_000

__all__ = ["Snapped", "EdgePieces", "snap", "split_edges", "cut"]


@dataclass(frozen=True)
class Snapped:
    """Points snapped onto network edges.

    Attributes
    ----------
    edge
        Edge index per point, ``-1`` where no usable edge was found.
    offset_m
        Distance along the edge from ``edge_u`` to the snapped position.
    distance_m
        Straight distance from the point to its snapped position (``inf`` if unsnapped).
    xy
        Original metric coordinates ``(n, 2)``.
    snapped_xy
        Snapped metric coordinates ``(n, 2)``.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    distance_m: np.ndarray
    xy: np.ndarray
    snapped_xy: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)


def snap(
    net: Network, points, *, mode: str | None = None, zones: bool = True, zone=None, max_snap_m: float = 2000.0
) -> Snapped:
    """Snap points onto the nearest edge (not node) of the network.

    Parameters
    ----------
    net
        The network.
    points
        Points in WGS84 (GeoSeries, GeoDataFrame, list or one shapely Point),
        or metric ``(n, 2)`` coordinates as a numpy array.
    mode
        ``"ride"`` / ``"walk"``: only edges usable that way; ``None``: any path edge.
    zones
        Keep each point on an edge of its own zone (the compound polygon it
        lies in, or the public side), so a door is never snapped through a
        fence. A point whose zone has no edge at all falls back to any zone.
    zone
        Explicit zone index per point (overrides the polygons).
    max_snap_m
        Points further than this from every usable edge stay unsnapped.

    Returns
    -------
    Snapped
        ``edge == -1`` and ``distance_m == inf`` where nothing usable was found.
    """
    xy = np.asarray(points, dtype=float).reshape(-1, 2) if isinstance(points, np.ndarray) else net.to_metric(points)
    n = len(xy)
    s = net._segments
    allowed = np.ones(len(s["edge"]), dtype=bool) if mode is None else net.mode_mask(mode)[s["edge"]]
    if zones and len(net.zone_geometry):
        pz = np.asarray(zone, dtype=np.int64) if zone is not None else net.zone_of_xy(xy)
        pz = np.where(np.isin(pz, net._zones_with_edges), pz, -2)  # -2: any zone
    else:
        pz = np.full(n, -2, dtype=np.int64)
    best = _Best(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), np.zeros(n))
    usable = _Usable(s, allowed, net.edge_zone[s["edge"]], pz)
    todo = _nearest_candidates(net._midpoint_index, xy, usable, best, max_snap_m)
    _widening_search(net._midpoint_index, xy, usable, best, todo, max_snap_m)
    best_d, best_s, best_t = best.d, best.s, best.t
    edge = np.where(best_s >= 0, s["edge"][np.maximum(best_s, 0)], -1)
    ok = best_s >= 0
    bs = np.maximum(best_s, 0)
    offset = np.where(ok, (s["offset"][bs] + best_t * s["length"][bs]) * s["scale"][bs], 0.0)
    offset = np.minimum(offset, net.edge_length_m[np.maximum(edge, 0)])
    sx = np.where(ok, s["x0"][bs] + best_t * (s["x1"][bs] - s["x0"][bs]), np.nan)
    sy = np.where(ok, s["y0"][bs] + best_t * (s["y1"][bs] - s["y0"][bs]), np.nan)
    if (~ok).any():
        log.debug("snap: %d of %d points found no %s edge", int((~ok).sum()), n, mode or "usable")
    return Snapped(edge=edge, offset_m=offset, distance_m=best_d, xy=xy, snapped_xy=np.column_stack([sx, sy]))


@dataclass(frozen=True)
class _Best:
    """Per point: distance to, segment of and parameter along the best segment so far."""

    d: np.ndarray
    s: np.ndarray
    t: np.ndarray


@dataclass(frozen=True)
class _Usable:
    """The segments a point may snap to: the segment table, mode mask, zone per segment and per point."""

    seg: dict
    allowed: np.ndarray
    seg_zone: np.ndarray
    point_zone: np.ndarray

    def ok(self, points: np.ndarray, segs: np.ndarray) -> np.ndarray:
        pz = self.point_zone[points]
        return self.allowed[segs] & ((pz == -2) | (self.seg_zone[segs] == pz))


def _nearest_candidates(kd, xy: np.ndarray, usable: _Usable, best: _Best, max_snap_m: float) -> np.ndarray:
    """Fast path: the K nearest sub-piece midpoints, exact when no unseen segment is nearer; returns the points left."""
    n = len(xy)
    if not n or kd is None:
        return np.arange(n)
    k = min(12, kd.tree.n)
    dd, ii = kd.tree.query(xy, k=k, workers=-1 if n >= _PARALLEL_QUERY else 1)  # threads only pay for large queries
    dd, ii = dd.reshape(n, k), ii.reshape(n, k)
    cand = kd.seg[ii]
    d, t = _point_segment(np.repeat(xy[:, 0], k), np.repeat(xy[:, 1], k), usable.seg, cand.ravel())
    d, t = d.reshape(n, k), t.reshape(n, k)
    rows = np.arange(n)
    d = np.where(usable.ok(np.repeat(rows, k).reshape(n, k), cand), d, np.inf)
    dmin = d.min(axis=1)
    tie = d <= dmin[:, None] + 1e-9
    pick = np.argmin(np.where(tie, cand, np.iinfo(np.int64).max), axis=1)
    exact = np.isfinite(dmin) & ((dmin <= dd[:, -1] - kd.half) | (k == kd.tree.n)) & (dmin <= max_snap_m)
    hit = rows[exact]
    best.d[hit], best.s[hit], best.t[hit] = dmin[hit], cand[hit, pick[hit]], t[hit, pick[hit]]
    # with every segment among the candidates, the rest have nothing usable
    return rows[~exact] if k < kd.tree.n else np.zeros(0, dtype=np.int64)


def _widening_search(kd, xy: np.ndarray, usable: _Usable, best: _Best, todo: np.ndarray, max_snap_m: float) -> None:
    """The points the fast path left: radius searches from 25 m, four times wider each round, up to ``max_snap_m``."""
    radius = min(25.0, max_snap_m)
    while len(todo):
        qi, si = kd.near(xy[todo], radius)
        ok = usable.ok(todo[qi], si)
        qi, si = qi[ok], si[ok]
        d, t = _point_segment(xy[todo[qi], 0], xy[todo[qi], 1], usable.seg, si)
        within = d <= radius
        qi, si, d, t = qi[within], si[within], d[within], t[within]
        if len(qi):
            order = np.lexsort((si, d, qi))
            qi, si, d, t = qi[order], si[order], d[order], t[order]
            first = np.r_[True, qi[1:] != qi[:-1]]
            hit = todo[qi[first]]
            best.d[hit], best.s[hit], best.t[hit] = d[first], si[first], t[first]
        found = np.zeros(len(todo), dtype=bool)
        found[qi] = True
        todo = todo[~found]
        if radius >= max_snap_m:
            break
        radius = min(radius * 4, max_snap_m)


def _snapped(net: Network, points, mode: str, max_snap_m: float = 2000.0) -> Snapped:
    return points if isinstance(points, Snapped) else snap(net, points, mode=mode, max_snap_m=max_snap_m)


def _concat(a: Snapped, b: Snapped) -> Snapped:
    return Snapped(
        *(
            np.concatenate([getattr(a, f), getattr(b, f)])
            for f in ("edge", "offset_m", "distance_m", "xy", "snapped_xy")
        )
    )


@dataclass(frozen=True)
class EdgePieces:
    """The network's edges split where snapped points sit on them.

    Attributes
    ----------
    a, b
        End nodes of each piece (network nodes, or ``on_node`` of a point).
    orig
        The network edge each piece is part of.
    o0, o1
        Offsets along that edge at ``a`` and ``b`` (network metres).
    on_node
        Per point: its virtual node on its edge (``-1`` not inserted).
    """

    a: np.ndarray
    b: np.ndarray
    orig: np.ndarray
    o0: np.ndarray
    o1: np.ndarray
    on_node: np.ndarray

    @property
    def length(self) -> np.ndarray:
        return np.maximum(self.o1 - self.o0, 0.0)


def split_edges(net: Network, snapped: Snapped, *, usable: np.ndarray | None = None) -> EdgePieces:
    """Split the edges of ``net`` at the snapped points (point ``i`` becomes node ``n_nodes + i``).

    Parameters
    ----------
    net
        The network.
    snapped
        Points from :func:`snap`.
    usable
        Edge mask: only these edges become pieces and only points on them
        are inserted (default: every edge).

    Returns
    -------
    EdgePieces
        Unsplit edges first (in edge order), then per carrying edge the
        piece from ``u`` to its first point, between consecutive points, and
        from the last point to ``v``.
    """
    n0, npts = net.n_nodes, len(snapped)
    keep = np.ones(net.n_edges, dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    ok = (snapped.edge >= 0) & keep[np.maximum(snapped.edge, 0)] if npts else np.zeros(0, bool)
    on_node = np.where(ok, n0 + np.arange(npts), -1)
    pts = np.flatnonzero(ok)
    pe, po = snapped.edge[pts], snapped.offset_m[pts]
    order = np.lexsort((po, pe))
    pts, pe, po = pts[order], pe[order], po[order]
    carries = np.zeros(net.n_edges, dtype=bool)
    carries[pe] = True
    plain = np.flatnonzero(keep & ~carries)
    a, b, orig = [net.edge_u[plain]], [net.edge_v[plain]], [plain]
    o0, o1 = [np.zeros(len(plain))], [net.edge_length_m[plain]]
    if len(pts):
        first = np.r_[True, pe[1:] != pe[:-1]]
        last = np.r_[pe[1:] != pe[:-1], True]
        mid = np.flatnonzero(~last)
        a += [net.edge_u[pe[first]], on_node[pts[mid]], on_node[pts[last]]]
        b += [on_node[pts[first]], on_node[pts[mid + 1]], net.edge_v[pe[last]]]
        orig += [pe[first], pe[mid], pe[last]]
        o0 += [np.zeros(int(first.sum())), po[mid], po[last]]
        o1 += [po[first], po[mid + 1], net.edge_length_m[pe[last]]]
    return EdgePieces(
        a=np.concatenate(a).astype(np.int64),
        b=np.concatenate(b).astype(np.int64),
        orig=np.concatenate(orig).astype(np.int64),
        o0=np.concatenate(o0).astype(float),
        o1=np.concatenate(o1).astype(float),
        on_node=on_node,
    )


def cut(net: Network, e: int, o0: float, o1: float, *, forward: bool = True) -> np.ndarray:
    """Coordinates of edge ``e`` between offsets (network metres) ``o0 <= o1``, reversed unless ``forward``."""
    geom = net.edge_geometry[e]
    length = float(net.edge_length_m[e])
    if o0 <= 0 and o1 >= length:
        xy = shapely.get_coordinates(geom)
    else:
        scale = geom.length / length if length > 0 else 1.0
        xy = shapely.get_coordinates(substring(geom, o0 * scale, o1 * scale))
    return xy if forward else xy[::-1]
