"""Stages (a)–(f) of a topology: paths split into pieces, the pieces cut and zoned.

:func:`~.topology.topology_from_arrays` runs them in order: split points
at path ends (a), shared vertices (b), crossings (c), loose ends touching
another path (d), compound boundaries (e) and gates (f, plus straight links
for gates with no path through them); then the pieces between consecutive
split points are cut (:func:`_cut_pieces`) and given the compound they lie
in (:func:`_piece_zones`). Junction points are merged into nodes by
:mod:`.topology`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ridermap.errors import ValidationError

from .primitives import (
    SPLIT_EPS_M,
    _interpolate,
    _point_segment,
    _SegIndex,
    _segment_intersections,
    _smallest,
    _Splits,
    _xy_key,
)


@dataclass(frozen=True)
class _Vertices:
    """Path vertices in path order: coordinates, path, measure along the path, first / last of a path."""

    x: np.ndarray
    y: np.ndarray
    path: np.ndarray
    measure: np.ndarray
    first: np.ndarray
    last: np.ndarray


def _split_multilines(lines, path_id, path_ride, path_walk, path_community) -> tuple:
    """Reject a path that is not a line; split MultiLineStrings into one path per part."""
    types = shapely.get_type_id(lines)
    bad = np.flatnonzero(~np.isin(types, (1, 2, 5)))
    if len(bad):
        raise ValidationError(f"network: path {path_id[bad[0]]!r} is not a line ({lines[bad[0]].geom_type})")
    if np.any(types == 5):  # MultiLineString: one path per part
        lines, part_of = shapely.get_parts(lines, return_index=True)
        path_id, path_ride, path_walk, path_community = (
            a[part_of] for a in (path_id, path_ride, path_walk, path_community)
        )
    return lines, path_id, path_ride, path_walk, path_community


def _vertices(lines, n_paths: int) -> _Vertices:
    """Distinct consecutive vertices of the paths with two or more, and their measures along each path."""
    coords, vpath = shapely.get_coordinates(lines, return_index=True)
    # drop consecutive duplicate vertices
    dup = np.r_[False, (vpath[1:] == vpath[:-1]) & np.all(coords[1:] == coords[:-1], axis=1)]
    coords, vpath = coords[~dup], vpath[~dup]
    counts = np.bincount(vpath, minlength=n_paths)
    ok_path = counts >= 2
    if not ok_path.any():
        raise ValidationError("network: no path has two distinct points")
    keep_v = ok_path[vpath]
    coords, vpath = coords[keep_v], vpath[keep_v]
    vx, vy = coords[:, 0], coords[:, 1]
    same_next = np.r_[vpath[1:] == vpath[:-1], False]
    step = np.where(same_next[:-1], np.hypot(np.diff(vx), np.diff(vy)), 0.0)
    cum = np.r_[0.0, np.cumsum(step)]
    first_v = np.r_[True, vpath[1:] != vpath[:-1]]
    last_v = np.r_[vpath[1:] != vpath[:-1], True]
    vmeasure = cum - np.maximum.accumulate(np.where(first_v, cum, 0.0))
    return _Vertices(vx, vy, vpath, vmeasure, first_v, last_v)


def _segments(v: _Vertices) -> tuple[dict[str, np.ndarray], _SegIndex]:
    """Straight segments between consecutive vertices of one path, and their search index."""
    sa = np.flatnonzero(~v.last)  # segment i runs from vertex sa[i] to sa[i]+1
    seg = {
        "path": v.path[sa],
        "x0": v.x[sa],
        "y0": v.y[sa],
        "x1": v.x[sa + 1],
        "y1": v.y[sa + 1],
        "m0": v.measure[sa],
        "v0": sa,
    }
    seg["len"] = np.hypot(seg["x1"] - seg["x0"], seg["y1"] - seg["y0"])
    return seg, _SegIndex(seg["x0"], seg["y0"], seg["x1"], seg["y1"])


def _split_at_ends(splits: _Splits, v: _Vertices) -> tuple[np.ndarray, dict[int, int]]:
    """(a) Split at path ends; return the end vertices and end vertex -> junction point."""
    ends = np.flatnonzero(v.first | v.last)
    j_end = splits.add(v.path[ends], v.measure[ends], v.x[ends], v.y[ends])
    return ends, dict(zip(ends.tolist(), j_end.tolist()))


def _split_at_shared_vertices(splits: _Splits, v: _Vertices) -> None:
    """(b) Split at vertices shared by two paths (or visited twice by one)."""
    key = _xy_key(v.x, v.y, 1e-3)
    _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    shared = np.flatnonzero((cnt[inv] >= 2) & ~(v.first | v.last))
    splits.add(v.path[shared], v.measure[shared], v.x[shared], v.y[shared])


def _split_at_crossings(splits: _Splits, seg: dict, seg_index: _SegIndex) -> None:
    """(c) Split both segments at crossings and touches between segments."""
    ia, ib = seg_index.self_pairs()
    ia, ib, t, u, px, py = _segment_intersections(seg, ia, seg, ib)
    if len(ia):
        j = splits.add(seg["path"][ia], seg["m0"][ia] + t * seg["len"][ia], px, py)
        splits.add(seg["path"][ib], seg["m0"][ib] + u * seg["len"][ib], px, py, j=j)


def _snap_to_segments(xy: np.ndarray, r: float, seg: dict, seg_index: _SegIndex, *, skip_own: bool = False) -> tuple:
    """Nearest segment point within ``r`` of each point: ``(point, segment, t, x, y)`` per point snapped."""
    px, py = xy[:, 0], xy[:, 1]
    qi, si = seg_index.near(xy, r)
    d, tt = _point_segment(px[qi], py[qi], seg, si)
    ok = d <= r
    if skip_own:  # a point never snaps to a segment it is an end of
        own = ((seg["x0"][si] == px[qi]) & (seg["y0"][si] == py[qi])) | (
            (seg["x1"][si] == px[qi]) & (seg["y1"][si] == py[qi])
        )
        ok = ok & ~own
    qi, si, d, tt = qi[ok], si[ok], d[ok], tt[ok]
    order = np.lexsort((d, qi))
    qi, si, tt = qi[order], si[order], tt[order]
    firsts = np.r_[True, qi[1:] != qi[:-1]] if len(qi) else np.zeros(0, bool)
    qi, si, tt = qi[firsts], si[firsts], tt[firsts]
    qx = seg["x0"][si] + tt * (seg["x1"][si] - seg["x0"][si])
    qy = seg["y0"][si] + tt * (seg["y1"][si] - seg["y0"][si])
    return qi, si, tt, qx, qy


def _split_at_touches(
    splits: _Splits,
    v: _Vertices,
    ends: np.ndarray,
    end_j: dict[int, int],
    seg: dict,
    seg_index: _SegIndex,
    touch_m: float,
) -> None:
    """(d) Join loose ends within ``touch_m`` of another path to that path."""
    if not (touch_m > 0 and len(ends)):
        return
    xy = np.column_stack([v.x[ends], v.y[ends]])
    qi, si, tt, qx, qy = _snap_to_segments(xy, touch_m, seg, seg_index, skip_own=True)
    if len(qi):
        jq = splits.add(seg["path"][si], seg["m0"][si] + tt * seg["len"][si], qx, qy)
        splits.link(np.array([end_j[e] for e in ends[qi]]), jq)


def _split_at_boundaries(splits: _Splits, seg: dict, seg_index: _SegIndex, zones: np.ndarray) -> None:
    """(e) Split where paths cross compound boundaries."""
    if not len(zones):
        return
    rings = shapely.get_parts(shapely.boundary(zones))
    rc, ridx = shapely.get_coordinates(rings, return_index=True)
    rs = np.flatnonzero(ridx[1:] == ridx[:-1])
    ring = {"x0": rc[rs, 0], "y0": rc[rs, 1], "x1": rc[rs + 1, 0], "y1": rc[rs + 1, 1]}
    ring["len"] = np.hypot(ring["x1"] - ring["x0"], ring["y1"] - ring["y0"])
    si, ri = seg_index.pairs_with(_SegIndex(ring["x0"], ring["y0"], ring["x1"], ring["y1"], piece_m=2 * seg_index.half))
    si, ri, t, _u, px, py = _segment_intersections(seg, si, ring, ri, skip_shared=False)
    if len(si):
        splits.add(seg["path"][si], seg["m0"][si] + t * seg["len"][si], px, py)


def _split_at_gates(
    splits: _Splits, seg: dict, seg_index: _SegIndex, gate_xy: np.ndarray, gate_snap_m: float
) -> np.ndarray:
    """(f) Split at each gate's nearest path point; junction point per gate (``-1`` none within ``gate_snap_m``)."""
    gate_j = np.full(len(gate_xy), -1, dtype=np.int64)
    if len(gate_xy):
        qi, si, tt, qx, qy = _snap_to_segments(gate_xy, gate_snap_m, seg, seg_index)
        if len(qi):
            gate_j[qi] = splits.add(seg["path"][si], seg["m0"][si] + tt * seg["len"][si], qx, qy)
    return gate_j


def _split_at_gate_links(
    splits: _Splits,
    seg: dict,
    seg_index: _SegIndex,
    gate_j: np.ndarray,
    gate_xy: np.ndarray,
    gate_community,
    zones: np.ndarray,
    zone_ids,
    gate_link_m: float,
) -> list[tuple[int, int, int, float]]:
    """Split at the nearest path on each side of gates with no path through them; ``(gate, junction, zone, length)``."""
    loose_gates = np.flatnonzero(gate_j < 0) if gate_link_m > 0 else np.zeros(0, dtype=np.int64)
    if not len(loose_gates):
        return []
    n_gates = len(gate_xy)
    zid_list = list(zone_ids)
    g_comm = np.asarray(gate_community if gate_community is not None else [""] * n_gates, dtype=object)
    own = np.array([zid_list.index(c) if c in zid_list else -1 for c in g_comm[loose_gates]], dtype=np.int64)
    gx, gy = gate_xy[loose_gates, 0], gate_xy[loose_gates, 1]
    qi, si = seg_index.near(gate_xy[loose_gates], gate_link_m)
    d, tt = _point_segment(gx[qi], gy[qi], seg, si)
    qx = seg["x0"][si] + tt * (seg["x1"][si] - seg["x0"][si])
    qy = seg["y0"][si] + tt * (seg["y1"][si] - seg["y0"][si])
    if len(zones):
        pi, zi = shapely.STRtree(zones).query(shapely.points(qx, qy), predicate="within")
        pz = _smallest(pi, zi, shapely.area(zones), len(qx))
    else:
        pz = np.full(len(qx), -1)
    ok = (d <= gate_link_m) & ((pz == -1) | (pz == own[qi]))
    qi, si, d, tt, qx, qy, pz = (a[ok] for a in (qi, si, d, tt, qx, qy, pz))
    order = np.lexsort((d, pz, qi))
    qi, si, d, tt, qx, qy, pz = (a[order] for a in (qi, si, d, tt, qx, qy, pz))
    first = np.r_[True, (qi[1:] != qi[:-1]) | (pz[1:] != pz[:-1])] if len(qi) else np.zeros(0, bool)
    qi, si, d, tt, qx, qy, pz = (a[first] for a in (qi, si, d, tt, qx, qy, pz))
    if not len(qi):
        return []
    jl = splits.add(seg["path"][si], seg["m0"][si] + tt * seg["len"][si], qx, qy)
    return list(zip(loose_gates[qi].tolist(), jl.tolist(), pz.tolist(), d.tolist()))


def _merged_split_points(splits: _Splits, v: _Vertices, n_paths: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split points sorted along each path; those at one place of a path are one (their junctions linked)."""
    sp_path, sp_m, sp_j = splits.points()
    path_len = np.zeros(n_paths)
    path_len[v.path[v.last]] = v.measure[v.last]
    sp_m = np.clip(sp_m, 0.0, path_len[sp_path])
    order = np.lexsort((sp_m, sp_path))
    sp_path, sp_m, sp_j = sp_path[order], sp_m[order], sp_j[order]
    # splits at the same place of one path are one split
    same = np.r_[False, (sp_path[1:] == sp_path[:-1]) & (np.diff(sp_m) < SPLIT_EPS_M)]
    if same.any():
        grp = np.cumsum(~same) - 1
        head = np.flatnonzero(~same)[grp]
        splits.link(sp_j[head[same]], sp_j[same])
        sp_path, sp_m, sp_j = sp_path[~same], sp_m[~same], sp_j[~same]
    return sp_path, sp_m, sp_j


def _piece_rows(v: _Vertices, sp_path: np.ndarray, sp_m: np.ndarray) -> tuple:
    """Rows along each path (vertices, split ends, starts) with their piece: ``(path, m, kind, split, x, y, piece)``."""
    nv, n_sp = len(v.x), len(sp_path)
    # rows: vertices (interior to pieces) + split points, sorted along each path
    r_path = np.r_[v.path, sp_path, sp_path]
    r_m = np.r_[v.measure, sp_m, sp_m]
    r_x = np.r_[v.x, np.zeros(2 * n_sp)]
    r_y = np.r_[v.y, np.zeros(2 * n_sp)]
    # split rows: each is the start of one piece (kind 2) and the end of the previous (kind 0)
    r_kind = np.r_[np.ones(nv, dtype=np.int8), np.full(n_sp, 2, dtype=np.int8), np.zeros(n_sp, dtype=np.int8)]
    r_split = np.r_[np.full(nv, -1), np.arange(n_sp), np.arange(n_sp)]
    # vertex rows that coincide with a split are dropped (the split has the exact point)
    order = np.lexsort((r_kind, r_m, r_path))
    r_path, r_m, r_kind, r_split, r_x, r_y = (a[order] for a in (r_path, r_m, r_kind, r_split, r_x, r_y))
    sx, sy = _interpolate(v.x, v.y, v.path, v.measure, v.first, sp_path, sp_m)
    is_sp = r_split >= 0
    r_x[is_sp] = sx[r_split[is_sp]]
    r_y[is_sp] = sy[r_split[is_sp]]
    piece = np.cumsum(r_kind == 2) - 1  # an end row sorts before the next start: it closes the open piece
    valid = piece >= 0
    # drop vertex rows at the exact measure of a split (duplicates)
    near_split = np.zeros(len(r_m), dtype=bool)
    vert = np.flatnonzero(r_kind == 1)
    sp_rows = np.flatnonzero(is_sp)
    if len(vert) and len(sp_rows):
        pos = np.searchsorted(sp_rows, vert)
        for cand in (np.clip(pos - 1, 0, len(sp_rows) - 1), np.clip(pos, 0, len(sp_rows) - 1)):
            rows = sp_rows[cand]
            near_split[vert] |= (r_path[rows] == r_path[vert]) & (np.abs(r_m[rows] - r_m[vert]) < SPLIT_EPS_M)
    valid &= ~near_split
    return tuple(a[valid] for a in (r_path, r_m, r_kind, r_split, r_x, r_y, piece))


def _cut_pieces(splits: _Splits, v: _Vertices, n_paths: int) -> tuple:
    """Pieces between consecutive split points: ``(geometry, path, length, start junction, end junction)``."""
    sp_path, sp_m, sp_j = _merged_split_points(splits, v, n_paths)
    r_path, r_m, r_kind, r_split, r_x, r_y, piece = _piece_rows(v, sp_path, sp_m)
    # piece boundaries: start row (kind 2) and end row (kind 0) per piece
    n_piece = int(piece.max()) + 1 if len(piece) else 0
    start_row = np.full(n_piece, -1)
    end_row = np.full(n_piece, -1)
    start_row[piece[r_kind == 2]] = np.flatnonzero(r_kind == 2)
    end_row[piece[r_kind == 0]] = np.flatnonzero(r_kind == 0)
    good = (start_row >= 0) & (end_row >= 0)
    good[good] &= (r_m[end_row[good]] - r_m[start_row[good]]) >= SPLIT_EPS_M
    keep_rows = good[piece]
    new_id = np.cumsum(good) - 1
    pieces = shapely.linestrings(np.column_stack([r_x[keep_rows], r_y[keep_rows]]), indices=new_id[piece[keep_rows]])
    p_path = r_path[start_row[good]]
    p_len = r_m[end_row[good]] - r_m[start_row[good]]
    p_j0 = sp_j[r_split[start_row[good]]]
    p_j1 = sp_j[r_split[end_row[good]]]
    return pieces, p_path, p_len, p_j0, p_j1


def _piece_zones(pieces, p_path: np.ndarray, zones: np.ndarray, zone_ids, path_community: np.ndarray) -> np.ndarray:
    """Zone of each piece: the smallest compound holding its midpoint (``-1`` public)."""
    p_zone = np.full(len(pieces), -1, dtype=np.int64)
    if len(zones) and len(pieces):
        mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
        tree = shapely.STRtree(zones)
        pi, zi = tree.query(mid, predicate="within")
        p_zone = _smallest(pi, zi, shapely.area(zones), len(pieces))
        # pieces lying on a boundary: their path's own compound if it is that polygon
        zid = np.asarray(zone_ids, dtype=object)
        loose = np.flatnonzero(p_zone < 0)
        if len(loose):
            li, zi = tree.query(mid[loose], predicate="dwithin", distance=0.5)
            mine = zid[zi] == path_community[p_path[loose[li]]]
            p_zone[loose[li[mine]]] = zi[mine]
    return p_zone
