"""The path network of a district: streets plus compound paths, joined at gates.

One :class:`Network` is built from a :class:`~ridermap.model.bundle.Bundle`
by :func:`network_from_bundle`, in the metric (UTM) CRS of the data, as plain
arrays. Everything downstream (gap distances, siting, rider routes) works on
those arrays with :mod:`scipy.sparse.csgraph`.

How the network is built
------------------------
- Paths are split into edges at every vertex two paths share, where two paths
  cross or touch, and where a path's loose end lies within ``touch_m``
  (default 1 m) of another path.
- Every compound polygon is a fence. Each edge belongs to the compound it lies
  in (its *zone*) or to the public side (zone ``-1``); edges of different zones
  never share a node, so a path crossing a compound boundary is cut there.
- Gates are the only way through: each gate is snapped (within
  ``gate_snap_m``) to the nearest point where zones meet, and a hub node joins
  the zones there with zero-length connector edges. A gate with
  ``rider_access == "ride"`` joins riding and walking, ``"walk"`` joins walking
  only, ``"none"`` or ``locked`` joins nothing. A compound whose own
  ``rider_access`` is ``walk`` (or ``none``) caps its gates at that.
  A gate whose rule is ``"unknown"`` (待核实, e.g. an inferred gate candidate)
  joins walking only: riders park there and walk. A compound rule
  ``"unknown"`` does not restrict its gates.
  A gate on a plain through path (no zone change) is a barrier on that path.
  A gate with no path within ``gate_snap_m`` (thin OSM: a gate node on the
  fence, no path drawn through it) is linked by straight connectors to the
  nearest path inside its compound and outside, within ``gate_link_m``.

Points (unit doors, facilities) are snapped onto the nearest *edge* (not node)
of their own zone, inserted as virtual nodes, and joined to their snapped
position by a straight spur: a distance is spur + network + spur, in metres.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from ridermap.errors import ConfigError, ValidationError
from ridermap.model.schema import CRS
from ridermap.utm import utm_epsg

log = logging.getLogger(__name__)

__all__ = [
    "Network",
    "Snapped",
    "Route",
    "network_from_bundle",
    "network_from_arrays",
    "snap",
    "nearest_distances",
    "nearest_distances_many",
    "reachable_within_groups",
    "distance_matrix",
    "route",
    "routes",
    "MODES",
]

MODES = ("ride", "walk")
#: path kinds nobody may walk on
_NO_WALK_KINDS = frozenset({"motorway", "motorway_link"})
#: ``access`` values that close a path to everyone
_CLOSED_ACCESS = frozenset({"no"})
_ACCESS_RANK = {"none": 0, "walk": 1, "ride": 2}
#: a gate whose rule is not known (``unknown``, 待核实) is usable on foot only:
#: riders park at the gate and walk in
_GATE_ACCESS_RANK = {**_ACCESS_RANK, "unknown": 1}
#: a compound whose rule is not known does not restrict its gates
_COMMUNITY_ACCESS_RANK = {**_ACCESS_RANK, "unknown": 2}
#: coordinates closer than this are the same junction (metres)
_MERGE_M = 0.015
#: split points closer than this along one path are one split (metres)
_SPLIT_EPS_M = 1e-3


@dataclass(frozen=True)
class Network:
    """A routable path network in a metric CRS, as arrays.

    Attributes
    ----------
    crs
        Metric CRS of every coordinate and length (UTM zone of the data).
    node_xy
        ``(n_nodes, 2)`` node coordinates in metres.
    edge_u, edge_v
        End nodes of each edge; ``edge_geometry`` runs from ``u`` to ``v``.
    edge_length_m
        Edge length in metres (0 for gate connectors).
    edge_ride, edge_walk
        Whether riders may ride / walk along the edge.
    edge_geometry
        Shapely LineStrings in metres.
    edge_path_id
        ``id`` of the bundle path the edge comes from (``""`` for gate connectors).
    gate_node
        Gate id -> hub node of that gate (gates farther than ``gate_snap_m``
        from every path are missing).
    edge_zone
        Index into ``zone_ids`` of the compound the edge lies in, ``-1`` public.
    edge_gate_id
        Gate id of a connector edge, ``""`` for path edges.
    zone_ids
        Community id of each zone.
    zone_geometry
        Compound polygons (metres), one per zone.
    """

    crs: str
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_ride: np.ndarray
    edge_walk: np.ndarray
    edge_geometry: np.ndarray
    edge_path_id: np.ndarray
    gate_node: dict[str, int]
    edge_zone: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    edge_gate_id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    zone_ids: tuple[str, ...] = ()
    zone_geometry: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    def mode_mask(self, mode: str) -> np.ndarray:
        """Boolean mask of the edges usable in ``mode`` (``ride`` or ``walk``)."""
        if mode == "ride":
            return self.edge_ride
        if mode == "walk":
            return self.edge_walk
        raise ConfigError(f"network: mode must be one of {', '.join(MODES)}, got {mode!r}")

    def to_metric(self, points) -> np.ndarray:
        """``(n, 2)`` metric coordinates of WGS84 points (GeoSeries, geometry array or list)."""
        geoms = _as_geoseries(points)
        values = geoms.values
        is_point = shapely.get_type_id(np.asarray(values, dtype=object)) == 0
        if not is_point.all():
            bad = int(np.flatnonzero(~is_point)[0])
            raise ValidationError(f"network snap: row {bad} is not a point ({values[bad]!r})")
        xy = shapely.get_coordinates(values).reshape(-1, 2)
        if len(xy) and str(geoms.crs) != self.crs:
            x, y = Transformer.from_crs(geoms.crs, self.crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([x, y])
        return xy

    def to_wgs84(self, geom):
        """Transform shapely geometry (or array) from metres to WGS84."""
        transformer = Transformer.from_crs(self.crs, CRS, always_xy=True)
        return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))

    def zone_of_xy(self, xy: np.ndarray) -> np.ndarray:
        """Zone (compound index, ``-1`` public) of metric points: the smallest polygon holding each."""
        zone = np.full(len(xy), -1, dtype=np.int64)
        if len(xy) == 0 or len(self.zone_geometry) == 0:
            return zone
        pts = shapely.points(xy)
        tree = shapely.STRtree(self.zone_geometry)
        pi, zi = tree.query(pts, predicate="within")
        if len(pi):
            area = shapely.area(self.zone_geometry)[zi]
            order = np.lexsort((area, pi))
            pi, zi = pi[order], zi[order]
            first = np.r_[True, pi[1:] != pi[:-1]]
            zone[pi[first]] = zi[first]
        return zone

    # -- segment index (for snapping) ----------------------------------------
    @cached_property
    def _segments(self) -> dict[str, np.ndarray]:
        """Straight segments of every path edge, with the edge and offset they start at."""
        is_path = self.edge_length_m > 0
        if len(self.edge_gate_id):
            is_path &= self.edge_gate_id == ""
        edges = np.flatnonzero(is_path)
        coords, idx = shapely.get_coordinates(self.edge_geometry[edges], return_index=True)
        same = idx[1:] == idx[:-1]
        a = np.flatnonzero(same)
        x0, y0 = coords[a, 0], coords[a, 1]
        x1, y1 = coords[a + 1, 0], coords[a + 1, 1]
        length = np.hypot(x1 - x0, y1 - y0)
        cum = np.zeros(len(coords))
        step = np.where(same, np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1])), 0.0)
        cum[1:] = np.cumsum(step)
        starts = np.r_[0, np.flatnonzero(~same) + 1]
        base = np.repeat(cum[starts], np.diff(np.r_[starts, len(coords)]))
        offset = (cum - base)[a]
        keep = length > 0
        seg_edge = edges[idx[a]][keep]
        out = {"edge": seg_edge, "x0": x0[keep], "y0": y0[keep], "x1": x1[keep], "y1": y1[keep],
               "length": length[keep], "offset": offset[keep]}
        # scale lengths so offsets along each edge add up exactly to edge_length_m
        geom_len = np.zeros(self.n_edges)
        np.add.at(geom_len, seg_edge, out["length"])
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(geom_len > 0, self.edge_length_m / geom_len, 1.0)
        out["scale"] = scale[seg_edge]
        return out

    @cached_property
    def _midpoint_index(self) -> _SegIndex | None:
        s = self._segments
        return _SegIndex(s["x0"], s["y0"], s["x1"], s["y1"]) if len(s["edge"]) else None

    @cached_property
    def _zones_with_edges(self) -> np.ndarray:
        return np.unique(self.edge_zone[self._segments["edge"]]) if len(self.edge_zone) else np.array([-1])


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


# ---------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------
def network_from_bundle(bundle, *, gate_snap_m: float = 5.0, gate_link_m: float = 50.0, touch_m: float = 1.0) -> Network:
    """Build the path network of a bundle.

    Parameters
    ----------
    bundle
        A :class:`~ridermap.model.bundle.Bundle`; its ``paths``,
        ``communities`` and ``gates`` are used.
    gate_snap_m
        A gate this close to a path is snapped onto it (to the nearest point
        where the fence cuts a path, if one is this close).
    gate_link_m
        A gate further than ``gate_snap_m`` from every path (thin OSM: a gate
        node drawn on the fence with no path through it) is linked by straight
        connectors to the nearest path inside its compound and the nearest
        path outside, each within this distance. ``0`` turns this off.
    touch_m
        A path's loose end this close to another path is joined to it.

    Returns
    -------
    Network

    Raises
    ------
    ValidationError
        If the bundle has no usable path.
    """
    paths = bundle.paths
    paths = paths[paths.geometry.notna() & ~paths.geometry.is_empty]
    if paths.empty:
        raise ValidationError("network: layer 'paths' has no line to build a network from")
    minx, miny, maxx, maxy = paths.total_bounds
    crs = f"EPSG:{utm_epsg((minx + maxx) / 2.0, (miny + maxy) / 2.0)}"
    paths_m = paths.to_crs(crs)
    communities = bundle.communities
    communities_m = communities.to_crs(crs) if len(communities) else communities
    gates = bundle.gates
    gates_m = gates.to_crs(crs) if len(gates) else gates
    comm_access = dict(zip(communities["id"], communities["rider_access"]))
    gate_ride = np.zeros(len(gates), dtype=bool)
    gate_walk = np.zeros(len(gates), dtype=bool)
    for i, (cid, access, locked) in enumerate(zip(gates["community_id"], gates["rider_access"], gates["locked"])):
        rank = min(_GATE_ACCESS_RANK.get(access, 0), _COMMUNITY_ACCESS_RANK.get(comm_access.get(cid, "ride"), 2))
        gate_ride[i] = not locked and rank >= 2
        gate_walk[i] = not locked and rank >= 1
    kinds = paths_m["kind"].to_numpy(dtype=object)
    access = paths_m["access"].to_numpy(dtype=object)
    closed = np.isin(access, list(_CLOSED_ACCESS))
    return network_from_arrays(
        paths_m.geometry.values,
        path_id=paths_m["id"].to_numpy(dtype=object),
        path_ride=paths_m["rideable"].to_numpy(dtype=bool) & ~closed,
        path_walk=~np.isin(kinds, list(_NO_WALK_KINDS)) & ~closed,
        path_community=paths_m["community_id"].to_numpy(dtype=object),
        zones=communities_m.geometry.values if len(communities) else np.zeros(0, dtype=object),
        zone_ids=tuple(communities["id"]),
        gate_xy=shapely.get_coordinates(gates_m.geometry.values).reshape(-1, 2) if len(gates) else np.zeros((0, 2)),
        gate_ids=tuple(gates["id"]),
        gate_ride=gate_ride,
        gate_walk=gate_walk,
        gate_community=gates["community_id"].to_numpy(dtype=object),
        crs=crs,
        gate_snap_m=gate_snap_m,
        gate_link_m=gate_link_m,
        touch_m=touch_m,
    )


def network_from_arrays(
    lines,
    *,
    path_id,
    path_ride,
    path_walk,
    crs: str,
    path_community=None,
    zones=None,
    zone_ids: tuple[str, ...] = (),
    gate_xy=None,
    gate_ids: tuple[str, ...] = (),
    gate_ride=None,
    gate_walk=None,
    gate_community=None,
    gate_snap_m: float = 5.0,
    gate_link_m: float = 50.0,
    touch_m: float = 1.0,
) -> Network:
    """Core of :func:`network_from_bundle` on plain arrays in a metric CRS.

    Parameters
    ----------
    lines
        Shapely LineStrings in metres, one per path.
    path_id, path_ride, path_walk
        Per path: id, rideable, walkable.
    crs
        The metric CRS of ``lines``.
    path_community
        Per path: community id (``""`` public); breaks ties for pieces lying
        exactly on a compound boundary.
    zones, zone_ids
        Compound polygons in metres and their community ids.
    gate_xy, gate_ids, gate_ride, gate_walk, gate_community
        Gate positions (metres), ids, whether each joins riding / walking,
        and the compound each belongs to.
    gate_snap_m, gate_link_m, touch_m
        See :func:`network_from_bundle`.
    """
    lines = np.asarray(lines, dtype=object)
    n_paths = len(lines)
    path_id = np.asarray(path_id, dtype=object)
    path_ride = np.asarray(path_ride, dtype=bool)
    path_walk = np.asarray(path_walk, dtype=bool)
    path_community = np.asarray(path_community if path_community is not None else [""] * n_paths, dtype=object)
    zones = np.asarray(zones if zones is not None else [], dtype=object)
    gate_xy = np.asarray(gate_xy if gate_xy is not None else np.zeros((0, 2)), dtype=float).reshape(-1, 2)
    n_gates = len(gate_xy)
    gate_ride = np.asarray(gate_ride if gate_ride is not None else np.zeros(n_gates, bool), dtype=bool)
    gate_walk = np.asarray(gate_walk if gate_walk is not None else np.zeros(n_gates, bool), dtype=bool)
    gates = _Gates(gate_xy, gate_ids, gate_ride, gate_walk)

    lines, path_id, path_ride, path_walk, path_community = _split_multilines(
        lines, path_id, path_ride, path_walk, path_community)
    n_paths = len(lines)
    v = _vertices(lines, n_paths)
    seg, seg_index = _segments(v)
    splits = _Splits()
    ends, end_j = _split_at_ends(splits, v)  # (a)
    _split_at_shared_vertices(splits, v)  # (b)
    _split_at_crossings(splits, seg, seg_index)  # (c)
    _split_at_touches(splits, v, ends, end_j, seg, seg_index, touch_m)  # (d)
    _split_at_boundaries(splits, seg, seg_index, zones)  # (e)
    gate_j = _split_at_gates(splits, seg, seg_index, gate_xy, gate_snap_m)  # (f)
    links = _split_at_gate_links(splits, seg, seg_index, gate_j, gate_xy, gate_community, zones, zone_ids, gate_link_m)
    pieces, p_path, p_len, p_j0, p_j1 = _cut_pieces(splits, v, n_paths)
    p_zone = _piece_zones(pieces, p_path, zones, zone_ids, path_community)
    graph = _build_nodes(splits, p_j0, p_j1, p_zone, len(zones))
    _join_gates(graph, gates, gate_j, links, gate_snap_m, gate_link_m)
    net = _assemble(graph, crs, pieces, p_path, p_len, p_zone, path_id, path_ride, path_walk, zones, zone_ids)
    log.info("network: %d paths -> %d nodes, %d edges, %d gates joined",
             n_paths, net.n_nodes, net.n_edges, len(graph.gate_node))
    return net


@dataclass(frozen=True)
class _Vertices:
    """Path vertices in path order: coordinates, path, measure along the path, first / last of a path."""

    x: np.ndarray
    y: np.ndarray
    path: np.ndarray
    measure: np.ndarray
    first: np.ndarray
    last: np.ndarray


@dataclass(frozen=True)
class _Gates:
    """Gate positions (metres), ids, and whether each joins riding / walking."""

    xy: np.ndarray
    ids: tuple[str, ...]
    ride: np.ndarray
    walk: np.ndarray


@dataclass
class _Graph:
    """Nodes and edges under construction: path pieces first, then gate hubs and connectors.

    A node is one junction cluster in one zone, keyed ``cluster * nz + zone + 1``.
    """

    cluster: np.ndarray
    cluster_xy: np.ndarray
    nz: int
    ukeys: np.ndarray
    node_cluster: np.ndarray
    node_xy: np.ndarray
    e_u: np.ndarray
    e_v: np.ndarray
    conn: dict[str, list] = field(default_factory=lambda: {
        "u": [], "v": [], "geom": [], "len": [], "ride": [], "walk": [], "zone": [], "gate": []})
    extra_xy: list[np.ndarray] = field(default_factory=list)
    gate_node: dict[str, int] = field(default_factory=dict)


def _split_multilines(lines, path_id, path_ride, path_walk, path_community) -> tuple:
    """Reject a path that is not a line; split MultiLineStrings into one path per part."""
    types = shapely.get_type_id(lines)
    bad = np.flatnonzero(~np.isin(types, (1, 2, 5)))
    if len(bad):
        raise ValidationError(f"network: path {path_id[bad[0]]!r} is not a line ({lines[bad[0]].geom_type})")
    if np.any(types == 5):  # MultiLineString: one path per part
        lines, part_of = shapely.get_parts(lines, return_index=True)
        path_id, path_ride, path_walk, path_community = (a[part_of] for a in (path_id, path_ride, path_walk, path_community))
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
    seg = {"path": v.path[sa], "x0": v.x[sa], "y0": v.y[sa], "x1": v.x[sa + 1], "y1": v.y[sa + 1],
           "m0": v.measure[sa], "v0": sa}
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
        own = (((seg["x0"][si] == px[qi]) & (seg["y0"][si] == py[qi]))
               | ((seg["x1"][si] == px[qi]) & (seg["y1"][si] == py[qi])))
        ok = ok & ~own
    qi, si, d, tt = qi[ok], si[ok], d[ok], tt[ok]
    order = np.lexsort((d, qi))
    qi, si, tt = qi[order], si[order], tt[order]
    firsts = np.r_[True, qi[1:] != qi[:-1]] if len(qi) else np.zeros(0, bool)
    qi, si, tt = qi[firsts], si[firsts], tt[firsts]
    qx = seg["x0"][si] + tt * (seg["x1"][si] - seg["x0"][si])
    qy = seg["y0"][si] + tt * (seg["y1"][si] - seg["y0"][si])
    return qi, si, tt, qx, qy


def _split_at_touches(splits: _Splits, v: _Vertices, ends: np.ndarray, end_j: dict[int, int],
                      seg: dict, seg_index: _SegIndex, touch_m: float) -> None:
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


def _split_at_gates(splits: _Splits, seg: dict, seg_index: _SegIndex, gate_xy: np.ndarray, gate_snap_m: float) -> np.ndarray:
    """(f) Split at each gate's nearest path point; junction point per gate (``-1`` none within ``gate_snap_m``)."""
    gate_j = np.full(len(gate_xy), -1, dtype=np.int64)
    if len(gate_xy):
        qi, si, tt, qx, qy = _snap_to_segments(gate_xy, gate_snap_m, seg, seg_index)
        if len(qi):
            gate_j[qi] = splits.add(seg["path"][si], seg["m0"][si] + tt * seg["len"][si], qx, qy)
    return gate_j


def _split_at_gate_links(splits: _Splits, seg: dict, seg_index: _SegIndex, gate_j: np.ndarray, gate_xy: np.ndarray,
                         gate_community, zones: np.ndarray, zone_ids, gate_link_m: float) -> list[tuple[int, int, int, float]]:
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
    pz = _smallest(*shapely.STRtree(zones).query(shapely.points(qx, qy), predicate="within"),
                   shapely.area(zones), len(qx)) if len(zones) else np.full(len(qx), -1)
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
    same = np.r_[False, (sp_path[1:] == sp_path[:-1]) & (np.diff(sp_m) < _SPLIT_EPS_M)]
    if same.any():
        grp = np.cumsum(~same) - 1
        head = np.flatnonzero(~same)[grp]
        splits.link(sp_j[head[same]], sp_j[same])
        sp_path, sp_m, sp_j = sp_path[~same], sp_m[~same], sp_j[~same]
    return sp_path, sp_m, sp_j


def _piece_rows(v: _Vertices, sp_path: np.ndarray, sp_m: np.ndarray) -> tuple:
    """Rows along each path (vertices, split ends and starts) with their piece: ``(path, m, kind, split, x, y, piece)``."""
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
            near_split[vert] |= (r_path[rows] == r_path[vert]) & (np.abs(r_m[rows] - r_m[vert]) < _SPLIT_EPS_M)
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
    good[good] &= (r_m[end_row[good]] - r_m[start_row[good]]) >= _SPLIT_EPS_M
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


def _build_nodes(splits: _Splits, p_j0: np.ndarray, p_j1: np.ndarray, p_zone: np.ndarray, n_zones: int) -> _Graph:
    """Junction clusters -> nodes (one per cluster and zone), and the end nodes of each piece."""
    cluster, cluster_xy = splits.clusters()
    c0, c1 = cluster[p_j0], cluster[p_j1]
    nz = n_zones + 1
    end_keys = np.r_[c0, c1] * nz + (np.r_[p_zone, p_zone] + 1)
    ukeys, inv = np.unique(end_keys, return_inverse=True)
    n_p = len(p_zone)
    e_u, e_v = inv[:n_p].copy(), inv[n_p:].copy()
    node_cluster = ukeys // nz
    return _Graph(cluster=cluster, cluster_xy=cluster_xy, nz=nz, ukeys=ukeys, node_cluster=node_cluster,
                  node_xy=cluster_xy[node_cluster], e_u=e_u, e_v=e_v)


def _join_gates(graph: _Graph, gates: _Gates, gate_j: np.ndarray, links: list, gate_snap_m: float, gate_link_m: float) -> None:
    """Add a hub node per gate, joined to the zones it connects by connector edges."""
    if not len(gates.xy):
        return
    cl_zones = np.bincount(graph.node_cluster, minlength=len(graph.cluster_xy))
    multi = np.flatnonzero(cl_zones >= 2)
    multi_tree = cKDTree(graph.cluster_xy[multi]) if len(multi) else None
    nodes_of_cluster = _group(graph.node_cluster)
    deg = np.bincount(np.r_[graph.e_u, graph.e_v], minlength=len(graph.node_xy))
    links_of: dict[int, list[tuple[int, int, float]]] = {}
    for g, jl, z, dl in links:
        links_of.setdefault(g, []).append((jl, z, dl))
    for g in range(len(gates.xy)):
        if gate_j[g] < 0:
            # linked by straight connectors (or joins nothing)
            _join_linked_gate(graph, gates, g, links_of.get(g, []), gate_link_m)
            continue
        cl = graph.cluster[gate_j[g]]
        if multi_tree is not None:
            dist, k = multi_tree.query(gates.xy[g], distance_upper_bound=gate_snap_m)
            if np.isfinite(dist):
                cl = multi[k]
        _join_snapped_gate(graph, gates, g, cl, list(nodes_of_cluster.get(cl, [])), deg)


def _join_linked_gate(graph: _Graph, gates: _Gates, g: int, gate_links: list, gate_link_m: float) -> None:
    """Hub of gate ``g`` (no path through it) joined by straight connectors to its linked paths."""
    ports_d = []
    for jl, z, dl in gate_links:
        key = graph.cluster[jl] * graph.nz + z + 1
        k = int(np.searchsorted(graph.ukeys, key))
        if k < len(graph.ukeys) and graph.ukeys[k] == key:
            ports_d.append((k, dl))
    if not ports_d:
        log.debug("gate %s: no path within %.1f m; it joins nothing", gates.ids[g], gate_link_m)
        return
    hub = len(graph.node_xy) + len(graph.extra_xy)
    graph.extra_xy.append(gates.xy[g])
    graph.gate_node[gates.ids[g]] = hub
    if gates.ride[g] or gates.walk[g]:
        for port, dl in ports_d:
            _connect(graph.conn, hub, port, gates.xy[g], graph.node_xy[port], dl, gates.ride[g], gates.walk[g],
                     int(graph.ukeys[port] % graph.nz) - 1, gates.ids[g])


def _join_snapped_gate(graph: _Graph, gates: _Gates, g: int, cl, ports: list[int], deg: np.ndarray) -> None:
    """Hub of gate ``g`` at junction cluster ``cl`` joined to its nodes ``ports`` by zero-length connectors."""
    cl_xy = graph.cluster_xy[cl]
    if len(ports) == 1 and deg[ports[0]] == 2:
        # a gate on a plain through path: a barrier between its two sides
        node = ports[0]
        new_node = len(graph.node_xy) + len(graph.extra_xy)
        hit = np.flatnonzero(graph.e_v == node)
        if len(hit):
            graph.e_v[hit[0]] = new_node
        else:
            graph.e_u[np.flatnonzero(graph.e_u == node)[-1]] = new_node
        graph.extra_xy.append(cl_xy)
        ports.append(new_node)
        deg[node] = 1
    hub = len(graph.node_xy) + len(graph.extra_xy)
    graph.extra_xy.append(cl_xy)
    graph.gate_node[gates.ids[g]] = hub
    if not (gates.ride[g] or gates.walk[g]):
        return
    for port in ports:
        _connect(graph.conn, hub, port, cl_xy, cl_xy, 0.0, gates.ride[g], gates.walk[g],
                 int(graph.ukeys[port] % graph.nz) - 1 if port < len(graph.ukeys) else -1, gates.ids[g])


def _assemble(graph: _Graph, crs: str, pieces, p_path: np.ndarray, p_len: np.ndarray, p_zone: np.ndarray,
              path_id: np.ndarray, path_ride: np.ndarray, path_walk: np.ndarray, zones: np.ndarray, zone_ids) -> Network:
    """The :class:`Network` of path pieces plus gate hubs and connectors."""
    node_xy = graph.node_xy
    if graph.extra_xy:
        node_xy = np.vstack([node_xy, np.asarray(graph.extra_xy)])
    conn = graph.conn
    n_p = len(pieces)
    nc = len(conn["u"])
    e_geom = np.empty(n_p + nc, dtype=object)
    e_geom[:n_p] = pieces
    e_geom[n_p:] = conn["geom"]
    return Network(
        crs=crs,
        node_xy=np.asarray(node_xy, dtype=float).reshape(-1, 2),
        edge_u=np.r_[graph.e_u, np.asarray(conn["u"], dtype=np.int64)].astype(np.int64),
        edge_v=np.r_[graph.e_v, np.asarray(conn["v"], dtype=np.int64)].astype(np.int64),
        edge_length_m=np.r_[p_len, np.asarray(conn["len"], dtype=float)].astype(float),
        edge_ride=np.r_[path_ride[p_path], np.asarray(conn["ride"], dtype=bool)],
        edge_walk=np.r_[path_walk[p_path], np.asarray(conn["walk"], dtype=bool)],
        edge_geometry=e_geom,
        edge_path_id=np.r_[path_id[p_path], np.full(nc, "", dtype=object)].astype(object),
        gate_node=graph.gate_node,
        edge_zone=np.r_[p_zone, np.asarray(conn["zone"], dtype=np.int64)].astype(np.int64),
        edge_gate_id=np.r_[np.full(n_p, "", dtype=object), np.asarray(conn["gate"], dtype=object)].astype(object),
        zone_ids=tuple(zone_ids),
        zone_geometry=zones,
    )


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


def _connect(conn: dict, hub: int, port: int, hub_xy, port_xy, length: float, ride: bool, walk: bool, zone: int, gate: str) -> None:
    """Add one gate connector edge (hub -> port)."""
    conn["u"].append(hub)
    conn["v"].append(port)
    conn["geom"].append(shapely.LineString([tuple(hub_xy), tuple(port_xy)]))
    conn["len"].append(float(length))
    conn["ride"].append(bool(ride))
    conn["walk"].append(bool(walk))
    conn["zone"].append(zone)
    conn["gate"].append(gate)


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
        pairs = cKDTree(np.column_stack([jx[first], jy[first]])).query_pairs(_MERGE_M, output_type="ndarray")
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
        shared = (((ax0 == bx0) & (ay0 == by0)) | ((ax0 == bx1) & (ay0 == by1))
                  | ((ax1 == bx0) & (ay1 == by0)) | ((ax1 == bx1) & (ay1 == by1)))
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
        ta = _SPLIT_EPS_M / np.where(la > 0, la, 1.0)
        tb = _SPLIT_EPS_M / np.where(lb > 0, lb, 1.0)
    par = np.abs(denom) <= 1e-12 * np.maximum(la * lb, 1e-12)
    ok = ~par & (t >= -ta) & (t <= 1 + ta) & (u >= -tb) & (u <= 1 + tb)
    t, u = np.clip(t[ok], 0, 1), np.clip(u[ok], 0, 1)
    ia, ib = ia[ok], ib[ok]
    px = ax0[ok] + t * rx[ok]
    py = ay0[ok] + t * ry[ok]
    return ia, ib, t, u, px, py


# ---------------------------------------------------------------------------
# snapping
# ---------------------------------------------------------------------------
def _as_geoseries(points) -> gpd.GeoSeries:
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        return points.reset_index(drop=True) if points.crs is not None else points.reset_index(drop=True).set_crs(CRS)
    if isinstance(points, shapely.Geometry):
        points = [points]
    return gpd.GeoSeries(list(points), crs=CRS)


def snap(net: Network, points, *, mode: str | None = None, zones: bool = True, zone=None, max_snap_m: float = 2000.0) -> Snapped:
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
    seg_zone = net.edge_zone[s["edge"]]
    best_d = np.full(n, np.inf)
    best_s = np.full(n, -1, dtype=np.int64)
    best_t = np.zeros(n)
    todo = np.arange(n)
    kd = net._midpoint_index
    if n and kd is not None:
        # fast path: the K nearest sub-piece midpoints; exact when no unseen segment can be nearer
        k = min(12, kd.tree.n)
        dd, ii = kd.tree.query(xy, k=k, workers=-1)
        dd, ii = dd.reshape(n, k), ii.reshape(n, k)
        cand = kd.seg[ii]
        d, t = _point_segment(np.repeat(xy[:, 0], k), np.repeat(xy[:, 1], k), s, cand.ravel())
        d, t = d.reshape(n, k), t.reshape(n, k)
        ok = allowed[cand] & ((pz[:, None] == -2) | (seg_zone[cand] == pz[:, None]))
        d = np.where(ok, d, np.inf)
        dmin = d.min(axis=1)
        tie = d <= dmin[:, None] + 1e-9
        pick = np.argmin(np.where(tie, cand, np.iinfo(np.int64).max), axis=1)
        rows = np.arange(n)
        exact = np.isfinite(dmin) & ((dmin <= dd[:, -1] - kd.half) | (k == kd.tree.n)) & (dmin <= max_snap_m)
        hit = rows[exact]
        best_d[hit], best_s[hit], best_t[hit] = dmin[hit], cand[hit, pick[hit]], t[hit, pick[hit]]
        # with every segment among the candidates, the rest have nothing usable
        todo = rows[~exact] if k < kd.tree.n else np.zeros(0, dtype=np.int64)
    radius = min(25.0, max_snap_m)
    while len(todo):
        qi, si = kd.near(xy[todo], radius)
        ok = allowed[si] & ((pz[todo[qi]] == -2) | (seg_zone[si] == pz[todo[qi]]))
        qi, si = qi[ok], si[ok]
        d, t = _point_segment(xy[todo[qi], 0], xy[todo[qi], 1], s, si)
        within = d <= radius
        qi, si, d, t = qi[within], si[within], d[within], t[within]
        if len(qi):
            order = np.lexsort((si, d, qi))
            qi, si, d, t = qi[order], si[order], d[order], t[order]
            first = np.r_[True, qi[1:] != qi[:-1]]
            hit = todo[qi[first]]
            best_d[hit], best_s[hit], best_t[hit] = d[first], si[first], t[first]
        found = np.zeros(len(todo), dtype=bool)
        found[qi] = True
        todo = todo[~found]
        if radius >= max_snap_m:
            break
        radius = min(radius * 4, max_snap_m)
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


# ---------------------------------------------------------------------------
# graphs with points inserted
# ---------------------------------------------------------------------------
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
    """The ``mode`` graph with every snapped point inserted as a node on its edge.

    Points where ``spur`` is true also get a node at their own position,
    joined to the on-edge node by the straight spur (sources need it so the
    spur counts in the distance; for targets it is simply added afterwards).
    """
    usable = net.mode_mask(mode)
    n0 = net.n_nodes
    npts = len(snapped)
    ok = (snapped.edge >= 0) & usable[np.maximum(snapped.edge, 0)] if npts else np.zeros(0, bool)
    spur = ok & (np.ones(npts, dtype=bool) if spur is None else np.asarray(spur, dtype=bool))
    on_node = np.where(ok, n0 + np.arange(npts), -1)
    spur_node = np.full(npts, -1, dtype=np.int64)
    spur_node[spur] = n0 + npts + np.arange(int(spur.sum()))
    pts = np.flatnonzero(ok)
    # chains along edges that carry points
    pe, po = snapped.edge[pts], snapped.offset_m[pts]
    order = np.lexsort((po, pe))
    pts, pe, po = pts[order], pe[order], po[order]
    carries = np.zeros(net.n_edges, dtype=bool)
    carries[pe] = True
    plain = np.flatnonzero(usable & ~carries)
    a = [net.edge_u[plain]]
    b = [net.edge_v[plain]]
    w = [net.edge_length_m[plain]]
    orig = [plain]
    o0 = [np.zeros(len(plain))]
    o1 = [net.edge_length_m[plain]]
    if len(pts):
        first = np.r_[True, pe[1:] != pe[:-1]]
        last = np.r_[pe[1:] != pe[:-1], True]
        # u -> first point
        a.append(net.edge_u[pe[first]]); b.append(on_node[pts[first]]); w.append(po[first])
        orig.append(pe[first]); o0.append(np.zeros(int(first.sum()))); o1.append(po[first])
        # point -> next point on the same edge
        mid = np.flatnonzero(~last)
        a.append(on_node[pts[mid]]); b.append(on_node[pts[mid + 1]]); w.append(po[mid + 1] - po[mid])
        orig.append(pe[mid]); o0.append(po[mid]); o1.append(po[mid + 1])
        # last point -> v
        L = net.edge_length_m[pe[last]]
        a.append(on_node[pts[last]]); b.append(net.edge_v[pe[last]]); w.append(np.maximum(L - po[last], 0.0))
        orig.append(pe[last]); o0.append(po[last]); o1.append(L)
    sp = np.flatnonzero(spur)
    a.append(spur_node[sp]); b.append(on_node[sp]); w.append(snapped.distance_m[sp])
    orig.append(np.full(len(sp), -1)); o0.append(np.zeros(len(sp))); o1.append(np.zeros(len(sp)))
    a, b, w = np.concatenate(a), np.concatenate(b), np.concatenate(w).astype(float)
    orig, o0, o1 = np.concatenate(orig), np.concatenate(o0), np.concatenate(o1)
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


def _snapped(net: Network, points, mode: str, max_snap_m: float = 2000.0) -> Snapped:
    return points if isinstance(points, Snapped) else snap(net, points, mode=mode, max_snap_m=max_snap_m)


def _concat(a: Snapped, b: Snapped) -> Snapped:
    return Snapped(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in ("edge", "offset_m", "distance_m", "xy", "snapped_xy")))


def nearest_distances(net: Network, sources, targets, *, mode: str, max_snap_m: float = 2000.0) -> tuple[np.ndarray, np.ndarray]:
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


def nearest_distances_many(net: Network, sources: dict, targets, *, mode: str,
                           max_snap_m: float = 2000.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
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
        nodes = aug.spur_node[starts[name]:starts[name] + len(part)]
        live = nodes >= 0
        if not live.any():
            continue
        d, _pred, origin = dijkstra(aug.graph, directed=True, indices=nodes[live], min_only=True, return_predecessors=True)
        dist, which = out[name]
        dist[ok] = d[tn[ok]] + off
        lookup[nodes[live]] = np.flatnonzero(live)
        o = origin[tn[ok]]
        which[ok] = np.where(o >= 0, lookup[np.maximum(o, 0)], -1)
        which[~np.isfinite(dist)] = -1
        lookup[nodes[live]] = -1
    return out


def reachable_within_groups(net: Network, sources, source_group, targets, target_group, *, mode: str,
                            max_snap_m: float = 2000.0) -> np.ndarray:
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


def distance_matrix(net: Network, sources, targets, *, mode: str, limit_m: float = np.inf, chunk: int = 32) -> np.ndarray:
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
        part = live[start:start + chunk]
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
    to_wgs = Transformer.from_crs(net.crs, CRS, always_xy=True)
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
            pc = shapely.get_coordinates(_substring(net, e, float(aug.o0[k]), float(aug.o1[k])))
            coords.append(pc if forward else pc[::-1])
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
        out.append(Route(geometry=shapely.LineString(np.column_stack([lon, lat])), length_m=float(d[node] + dst.distance_m[i]),
                         edges=edges, path_ids=path_ids, gate_ids=gate_ids))
    return out


def route(net: Network, origin, destination, *, mode: str) -> Route | None:
    """Shortest route between two points (WGS84), or ``None`` if unreachable.

    See :func:`routes`.
    """
    return routes(net, origin, [destination] if isinstance(destination, shapely.Geometry) else destination, mode=mode)[0]


def _substring(net: Network, e: int, o0: float, o1: float) -> shapely.LineString:
    """Part of edge ``e`` between offsets (network metres) ``o0 <= o1``."""
    from shapely.ops import substring

    geom = net.edge_geometry[e]
    L = net.edge_length_m[e]
    scale = geom.length / L if L > 0 else 1.0
    return substring(geom, o0 * scale, o1 * scale)
