"""Geometry primitives of the network: segment search, split points, intersections.

Plain numpy/scipy helpers shared by the construction (:mod:`.topology`)
and the snapping (:mod:`.snap`); they know nothing of bundles or access.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

MERGE_M = 0.015
#: split points closer than this along one path are one split (metres)
SPLIT_EPS_M = 1e-3


class _SegIndex:
    """Candidate search over straight segments: a KD-tree of the midpoints of short sub-pieces.

    A segment within ``r`` of a point has a sub-piece midpoint within
    ``r + half`` of it, so radius queries on the midpoints never miss one.
    """

    def __init__(self, x0, y0, x1, y1, *, piece_m: float | None = None) -> None:
        length = np.hypot(x1 - x0, y1 - y0)
        if piece_m is None:
            piece_m = max(float(np.median(length)) if len(length) else 1.0, 5.0)
        n_sub = np.maximum(np.ceil(length / piece_m).astype(np.int64), 1)
        self.seg = np.repeat(np.arange(len(n_sub)), n_sub)
        k = np.arange(len(self.seg)) - np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
        t = (k + 0.5) / n_sub[self.seg] if len(self.seg) else np.zeros(0)
        mx = x0[self.seg] + t * (x1[self.seg] - x0[self.seg])
        my = y0[self.seg] + t * (y1[self.seg] - y0[self.seg])
        self.half = (float(np.max(length / n_sub)) / 2.0 if len(length) else 0.0) + 1e-6
        self.tree = cKDTree(np.column_stack([mx, my]).reshape(-1, 2))

    def self_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Pairs ``i < j`` of segments that may touch."""
        pairs = self.tree.query_pairs(2 * self.half, output_type="ndarray")
        return _unique_pairs(self.seg[pairs[:, 0]], self.seg[pairs[:, 1]], ordered=True)

    def pairs_with(self, other: _SegIndex) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (segment here, segment of ``other``) that may touch."""
        sdm = self.tree.sparse_distance_matrix(other.tree, self.half + other.half, output_type="ndarray")
        return _unique_pairs(self.seg[sdm["i"]], other.seg[sdm["j"]])

    def near(self, xy: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (point, segment) where the segment may lie within ``r`` of the point."""
        if len(xy) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        sdm = cKDTree(xy).sparse_distance_matrix(self.tree, r + self.half, output_type="ndarray")
        return _unique_pairs(sdm["i"].astype(np.int64), self.seg[sdm["j"]])


def _unique_pairs(a: np.ndarray, b: np.ndarray, *, ordered: bool = False) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if ordered:
        a, b = np.minimum(a, b), np.maximum(a, b)
        keep = a != b
        a, b = a[keep], b[keep]
    if len(a) == 0:
        return a, b
    base = int(b.max()) + 1
    key = np.sort(a * base + b)
    key = key[np.r_[True, key[1:] != key[:-1]]]
    return key // base, key % base


class _Splits:
    """Split points along paths, each tied to a junction point, plus links between junctions."""

    def __init__(self) -> None:
        self._path: list[np.ndarray] = []
        self._m: list[np.ndarray] = []
        self._j: list[np.ndarray] = []
        self._jx: list[np.ndarray] = []
        self._jy: list[np.ndarray] = []
        self._links: list[tuple[np.ndarray, np.ndarray]] = []
        self._nj = 0

    def add(self, path, measure, x, y, *, j=None) -> np.ndarray:
        """Add split points; new junction points at ``(x, y)`` unless ``j`` is given."""
        path = np.asarray(path, dtype=np.int64)
        if j is None:
            j = np.arange(self._nj, self._nj + len(path))
            self._nj += len(path)
            self._jx.append(np.asarray(x, dtype=float))
            self._jy.append(np.asarray(y, dtype=float))
        self._path.append(path)
        self._m.append(np.asarray(measure, dtype=float))
        self._j.append(np.asarray(j, dtype=np.int64))
        return j

    def link(self, a, b) -> None:
        """Junction points ``a[i]`` and ``b[i]`` are the same node."""
        self._links.append((np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)))

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.concatenate(self._path), np.concatenate(self._m), np.concatenate(self._j)

    def clusters(self) -> tuple[np.ndarray, np.ndarray]:
        """Cluster id per junction point, and the coordinates of each cluster."""
        jx, jy = np.concatenate(self._jx), np.concatenate(self._jy)
        key = _xy_key(jx, jy, 0.01)
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        n = len(first)
        rows = [np.arange(n)]
        cols = [np.arange(n)]
        pairs = cKDTree(np.column_stack([jx[first], jy[first]])).query_pairs(MERGE_M, output_type="ndarray")
        if len(pairs):
            rows.append(pairs[:, 0])
            cols.append(pairs[:, 1])
        for a, b in self._links:
            rows.append(inv[a])
            cols.append(inv[b])
        r, c = np.concatenate(rows), np.concatenate(cols)
        graph = sparse.csr_array((np.ones(len(r)), (r, c)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        cluster = label[inv]
        _, rep = np.unique(cluster, return_index=True)
        return cluster, np.column_stack([jx[rep], jy[rep]])


def _xy_key(x: np.ndarray, y: np.ndarray, res: float) -> np.ndarray:
    """One int64 per coordinate pair, rounded to ``res`` metres."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    ix = np.round((x - x.min()) / res).astype(np.int64)
    iy = np.round((y - y.min()) / res).astype(np.int64)
    return ix * (int(iy.max()) + 1) + iy


def _smallest(pi: np.ndarray, zi: np.ndarray, area: np.ndarray, n: int) -> np.ndarray:
    """Per point, the smallest-area polygon holding it (``-1`` none)."""
    out = np.full(n, -1, dtype=np.int64)
    if len(pi):
        order = np.lexsort((area[zi], pi))
        pi, zi = pi[order], zi[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        out[pi[first]] = zi[first]
    return out


def _group(keys: np.ndarray) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for i, k in enumerate(keys.tolist()):
        out.setdefault(k, []).append(i)
    return out


def _interpolate(vx, vy, vpath, vmeasure, first_v, path, measure) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates at ``measure`` along ``path`` (vertex arrays sorted by path, measure)."""
    if len(path) == 0:
        return np.zeros(0), np.zeros(0)
    # global position = path start index + searchsorted within the path
    starts = np.flatnonzero(first_v)
    ends = np.r_[starts[1:], len(vx)]
    start_of = np.zeros(int(vpath.max()) + 1, dtype=np.int64)
    end_of = np.zeros(int(vpath.max()) + 1, dtype=np.int64)
    start_of[vpath[starts]] = starts
    end_of[vpath[starts]] = ends
    # offset measures by a large per-path stride so one global searchsorted works
    stride = float(vmeasure.max()) + 1.0
    key_v = vpath * stride + vmeasure
    k = np.searchsorted(key_v, path * stride + measure, side="right") - 1
    k = np.clip(k, start_of[path], end_of[path] - 2)
    seg_len = vmeasure[k + 1] - vmeasure[k]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(seg_len > 0, (measure - vmeasure[k]) / seg_len, 0.0)
    t = np.clip(t, 0.0, 1.0)
    return vx[k] + t * (vx[k + 1] - vx[k]), vy[k] + t * (vy[k + 1] - vy[k])


def _point_segment(px, py, seg, si) -> tuple[np.ndarray, np.ndarray]:
    """Distance from points to segments ``si`` and the parameter of the nearest point."""
    x0, y0 = seg["x0"][si], seg["y0"][si]
    dx, dy = seg["x1"][si] - x0, seg["y1"][si] - y0
    ll = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(ll > 0, ((px - x0) * dx + (py - y0) * dy) / ll, 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(x0 + t * dx - px, y0 + t * dy - py), t


def _segment_intersections(a, ia, b, ib, *, skip_shared: bool = True):
    """Intersections of segment pairs ``(a[ia], b[ib])``.

    Returns the pairs that meet, the parameters ``t`` along ``a`` and ``u``
    along ``b``, and the point. Pairs that only share an exact end point are
    skipped when ``skip_shared`` (shared vertices are handled separately);
    parallel pairs are skipped (their ends are handled as touches).
    """
    ax0, ay0, ax1, ay1 = a["x0"][ia], a["y0"][ia], a["x1"][ia], a["y1"][ia]
    bx0, by0, bx1, by1 = b["x0"][ib], b["y0"][ib], b["x1"][ib], b["y1"][ib]
    if skip_shared:
        shared = (
            ((ax0 == bx0) & (ay0 == by0))
            | ((ax0 == bx1) & (ay0 == by1))
            | ((ax1 == bx0) & (ay1 == by0))
            | ((ax1 == bx1) & (ay1 == by1))
        )
        keep = ~shared
        ia, ib = ia[keep], ib[keep]
        ax0, ay0, ax1, ay1, bx0, by0, bx1, by1 = (v[keep] for v in (ax0, ay0, ax1, ay1, bx0, by0, bx1, by1))
    rx, ry = ax1 - ax0, ay1 - ay0
    sx, sy = bx1 - bx0, by1 - by0
    denom = rx * sy - ry * sx
    qx, qy = bx0 - ax0, by0 - ay0
    la, lb = a["len"][ia], b["len"][ib]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (qx * sy - qy * sx) / denom
        u = (qx * ry - qy * rx) / denom
        ta = SPLIT_EPS_M / np.where(la > 0, la, 1.0)
        tb = SPLIT_EPS_M / np.where(lb > 0, lb, 1.0)
    par = np.abs(denom) <= 1e-12 * np.maximum(la * lb, 1e-12)
    ok = ~par & (t >= -ta) & (t <= 1 + ta) & (u >= -tb) & (u <= 1 + tb)
    t, u = np.clip(t[ok], 0, 1), np.clip(u[ok], 0, 1)
    ia, ib = ia[ok], ib[ok]
    px = ax0[ok] + t * rx[ok]
    py = ay0[ok] + t * ry[ok]
    return ia, ib, t, u, px, py
