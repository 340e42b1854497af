"""The topology of a district's path network: streets plus compound paths, joined at gates.

One :class:`Topology` is built per bundle by :func:`topology_from_bundle`, in
the metric (UTM) CRS of the data, as plain arrays. It holds *where* one can
go, not *who* may: every gate gets its hub and connectors whatever its rule;
:mod:`.access` lays the rider rules of a time plan over it as edge masks
(a :class:`~ridermap.analysis.network.access.Network`).

How the topology is built (stages of :func:`topology_from_arrays`)
-----------------------------------------------------------------
- Paths are split into edges at every vertex two paths share, where two paths
  cross or touch, and where a path's loose end lies within ``touch_m``
  (default 1 m) of another path.
- Every compound polygon is a fence. Each edge belongs to the compound it lies
  in (its *zone*) or to the public side (zone ``-1``); edges of different zones
  never share a node, so a path crossing a compound boundary is cut there.
- Gates are the only way through: each gate is snapped (within
  ``gate_snap_m``) to the nearest point where zones meet, and a hub node joins
  the zones there with zero-length connector edges (which of them riders may
  ride or walk through is the business of :mod:`.access`).
  A gate on a plain through path (no zone change) is a barrier on that path.
  A gate with no path within ``gate_snap_m`` (thin OSM: a gate node on the
  fence, no path drawn through it) is linked by straight connectors to the
  nearest path inside its compound and outside, within ``gate_link_m``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields
from functools import cached_property

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from ridermap.errors import ValidationError
from ridermap.model.schema import CRS
from ridermap.utm import utm_epsg

from .primitives import (
    _group,
    _SegIndex,
    _Splits,
)
from .split import (
    _cut_pieces,
    _piece_zones,
    _segments,
    _split_at_boundaries,
    _split_at_crossings,
    _split_at_ends,
    _split_at_gate_links,
    _split_at_gates,
    _split_at_shared_vertices,
    _split_at_touches,
    _split_multilines,
    _vertices,
)

log = logging.getLogger(__name__)

#: path kinds nobody may walk on
_NO_WALK_KINDS = frozenset({"motorway", "motorway_link"})
#: ``access`` values that close a path to everyone
_CLOSED_ACCESS = frozenset({"no"})

_constructions = 0
_TRANSFORMERS: dict[tuple[str, str], Transformer] = {}


def transformer(src, dst) -> Transformer:
    """An ``always_xy`` transformer from ``src`` to ``dst``, made once per process and pair (route legs need many)."""
    key = (str(src), str(dst))
    found = _TRANSFORMERS.get(key)
    if found is None:
        found = _TRANSFORMERS[key] = Transformer.from_crs(src, dst, always_xy=True)
    return found


def constructions() -> int:
    """How many topologies this process has built (each is a full split of a bundle's paths)."""
    return _constructions


@dataclass(frozen=True)
class Topology:
    """Where one can go: the path network of a district in a metric CRS, as arrays.

    Who may go where is not in here: :meth:`network` lays the rider rules
    of one time plan over it (see :mod:`.access`).

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
    path_ride, path_walk
        Whether the path an edge comes from may be ridden / walked (``True``
        for gate connectors: their gate's rule decides).
    """

    crs: str
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_geometry: np.ndarray
    edge_path_id: np.ndarray
    gate_node: dict[str, int]
    edge_zone: np.ndarray
    edge_gate_id: np.ndarray
    zone_ids: tuple[str, ...]
    zone_geometry: np.ndarray
    path_ride: np.ndarray
    path_walk: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    def subset(self, edges, *, gate_ids=(), zone_ids=()) -> Topology:
        """The part of the topology made of ``edges`` (indices), e.g. what one compound's view needs.

        Nodes are renumbered in their order; the hubs of ``gate_ids`` stay
        even without a connector; zones are those of the kept edges plus
        ``zone_ids``. Nothing is split again: the pieces are the district's.
        """
        e = np.unique(np.asarray(edges, dtype=np.int64))
        gates = set(gate_ids)
        hubs = np.asarray([self.gate_node[g] for g in gate_ids if g in self.gate_node], dtype=np.int64)
        nodes = np.unique(np.r_[self.edge_u[e], self.edge_v[e], hubs])
        renumber = np.full(self.n_nodes, -1, dtype=np.int64)
        renumber[nodes] = np.arange(len(nodes))
        index = {z: i for i, z in enumerate(self.zone_ids)}
        keep_z = np.unique(np.r_[self.edge_zone[e], [index[z] for z in zone_ids if z in index]].astype(np.int64))
        keep_z = keep_z[keep_z >= 0]
        new_zone = np.full(len(self.zone_ids) + 1, -1, dtype=np.int64)  # last entry: -1 stays -1
        new_zone[keep_z] = np.arange(len(keep_z))
        return Topology(
            crs=self.crs,
            node_xy=self.node_xy[nodes],
            edge_u=renumber[self.edge_u[e]],
            edge_v=renumber[self.edge_v[e]],
            edge_length_m=self.edge_length_m[e],
            edge_geometry=self.edge_geometry[e],
            edge_path_id=self.edge_path_id[e],
            gate_node={g: int(renumber[n]) for g, n in self.gate_node.items() if g in gates and renumber[n] >= 0},
            edge_zone=new_zone[self.edge_zone[e]],
            edge_gate_id=self.edge_gate_id[e],
            zone_ids=tuple(self.zone_ids[z] for z in keep_z),
            zone_geometry=self.zone_geometry[keep_z],
            path_ride=self.path_ride[e],
            path_walk=self.path_walk[e],
        )

    def __getstate__(self) -> dict:
        """Pickle the arrays, not the caches (segment index, rebuilt on demand)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

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
            x, y = transformer(geoms.crs, self.crs).transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([x, y])
        return xy

    def to_wgs84(self, geom):
        """Transform shapely geometry (or array) from metres to WGS84."""
        to_wgs = transformer(self.crs, CRS)
        return shapely.transform(geom, lambda xy: np.column_stack(to_wgs.transform(xy[:, 0], xy[:, 1])))

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

    # -- directions at edge ends (for turn-by-turn signs) ---------------------
    @cached_property
    def _end_vectors_by_look(self) -> dict[float, tuple[list, list, list]]:
        return {}

    def end_vectors(self, look_m: float) -> tuple[list, list, list]:
        """Per edge: its length, and the vectors from ``u`` and from ``v`` to the points ``look_m`` along it.

        ``(length, away_from_u, away_from_v)`` as lists of floats and ``(dx, dy)``
        pairs, computed for all edges at once (a junction's arrows ask for
        them tens of thousands of times per compound), from the same GEOS
        interpolation a single edge would use.
        """
        held = self._end_vectors_by_look.get(look_m)
        if held is None:
            g = self.edge_geometry
            length = shapely.length(g)
            look = np.minimum(look_m, length)
            xy = [
                shapely.get_coordinates(shapely.line_interpolate_point(g, d))
                for d in (np.zeros(len(g)), look, length, length - look)
            ]
            if not all(len(p) == len(g) for p in xy):  # an empty geometry: no point at all
                xy = [np.array([_point_xy(line, d) for line, d in zip(g, ds)]) for ds in (
                    np.zeros(len(g)), look, length, length - look)]  # fmt: skip
            from_u = (xy[1] - xy[0]).tolist()
            from_v = (xy[3] - xy[2]).tolist()
            held = self._end_vectors_by_look[look_m] = (length.tolist(), from_u, from_v)
        return held

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
        out = {
            "edge": seg_edge,
            "x0": x0[keep],
            "y0": y0[keep],
            "x1": x1[keep],
            "y1": y1[keep],
            "length": length[keep],
            "offset": offset[keep],
        }
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


def _point_xy(line, d: float) -> tuple[float, float]:
    p = line.interpolate(d) if line is not None and not line.is_empty else None
    if p is None:
        return (math.nan, math.nan)
    return (p.x, p.y)


def _as_geoseries(points) -> gpd.GeoSeries:
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        return points.reset_index(drop=True) if points.crs is not None else points.reset_index(drop=True).set_crs(CRS)
    if isinstance(points, shapely.Geometry):
        points = [points]
    return gpd.GeoSeries(list(points), crs=CRS)


# ---------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------
def metric_crs(paths: gpd.GeoDataFrame) -> str:
    """The metric CRS of a network over ``paths``: the UTM zone of their bounds' centre."""
    minx, miny, maxx, maxy = paths.total_bounds
    return f"EPSG:{utm_epsg((minx + maxx) / 2.0, (miny + maxy) / 2.0)}"


def usable_paths(bundle) -> gpd.GeoDataFrame:
    """The bundle's paths that have a geometry."""
    paths = bundle.paths
    return paths[paths.geometry.notna() & ~paths.geometry.is_empty]


def topology_from_bundle(
    bundle, *, gate_snap_m: float = 5.0, gate_link_m: float = 50.0, touch_m: float = 1.0
) -> Topology:
    """Build the path topology of a bundle (once per build: every analysis shares it).

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
    Topology

    Raises
    ------
    ValidationError
        If the bundle has no usable path.
    """
    paths = usable_paths(bundle)
    if paths.empty:
        raise ValidationError("network: layer 'paths' has no line to build a network from")
    crs = metric_crs(paths)
    paths_m = paths.to_crs(crs)
    communities = bundle.communities
    communities_m = communities.to_crs(crs) if len(communities) else communities
    gates = bundle.gates
    gates_m = gates.to_crs(crs) if len(gates) else gates
    kinds = paths_m["kind"].to_numpy(dtype=object)
    closed = np.isin(paths_m["access"].to_numpy(dtype=object), list(_CLOSED_ACCESS))
    return topology_from_arrays(
        paths_m.geometry.values,
        path_id=paths_m["id"].to_numpy(dtype=object),
        path_ride=paths_m["rideable"].to_numpy(dtype=bool) & ~closed,
        path_walk=~np.isin(kinds, list(_NO_WALK_KINDS)) & ~closed,
        path_community=paths_m["community_id"].to_numpy(dtype=object),
        zones=communities_m.geometry.values if len(communities) else np.zeros(0, dtype=object),
        zone_ids=tuple(communities["id"]),
        gate_xy=shapely.get_coordinates(gates_m.geometry.values).reshape(-1, 2) if len(gates) else np.zeros((0, 2)),
        gate_ids=tuple(gates["id"]),
        gate_community=gates["community_id"].to_numpy(dtype=object),
        crs=crs,
        gate_snap_m=gate_snap_m,
        gate_link_m=gate_link_m,
        touch_m=touch_m,
    )


def topology_from_arrays(
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
    gate_community=None,
    gate_snap_m: float = 5.0,
    gate_link_m: float = 50.0,
    touch_m: float = 1.0,
) -> Topology:
    """Core of :func:`topology_from_bundle` on plain arrays in a metric CRS.

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
    gate_xy, gate_ids, gate_community
        Gate positions (metres), ids and the compound each belongs to.
    gate_snap_m, gate_link_m, touch_m
        See :func:`topology_from_bundle`.
    """
    global _constructions
    _constructions += 1
    lines = np.asarray(lines, dtype=object)
    n_paths = len(lines)
    path_id = np.asarray(path_id, dtype=object)
    path_ride = np.asarray(path_ride, dtype=bool)
    path_walk = np.asarray(path_walk, dtype=bool)
    path_community = np.asarray(path_community if path_community is not None else [""] * n_paths, dtype=object)
    zones = np.asarray(zones if zones is not None else [], dtype=object)
    gate_xy = np.asarray(gate_xy if gate_xy is not None else np.zeros((0, 2)), dtype=float).reshape(-1, 2)
    gates = _Gates(gate_xy, tuple(gate_ids))

    lines, path_id, path_ride, path_walk, path_community = _split_multilines(
        lines, path_id, path_ride, path_walk, path_community
    )
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
    paths = _Paths(path_id, path_ride, path_walk)
    topo = _assemble(graph, crs, pieces, p_path, p_len, p_zone, paths, zones, zone_ids)
    log.info(
        "network: %d paths -> %d nodes, %d edges, %d gates joined",
        n_paths,
        topo.n_nodes,
        topo.n_edges,
        len(graph.gate_node),
    )
    return topo


@dataclass(frozen=True)
class _Gates:
    """Gate positions (metres) and ids."""

    xy: np.ndarray
    ids: tuple[str, ...]


@dataclass(frozen=True)
class _Paths:
    """Per path (after splitting multi-lines): id, rideable, walkable."""

    ids: np.ndarray
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
    conn: dict[str, list] = field(
        default_factory=lambda: {"u": [], "v": [], "geom": [], "len": [], "zone": [], "gate": []}
    )
    extra_xy: list[np.ndarray] = field(default_factory=list)
    gate_node: dict[str, int] = field(default_factory=dict)


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
    return _Graph(
        cluster=cluster,
        cluster_xy=cluster_xy,
        nz=nz,
        ukeys=ukeys,
        node_cluster=node_cluster,
        node_xy=cluster_xy[node_cluster],
        e_u=e_u,
        e_v=e_v,
    )


def _join_gates(
    graph: _Graph, gates: _Gates, gate_j: np.ndarray, links: list, gate_snap_m: float, gate_link_m: float
) -> None:
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
    for port, dl in ports_d:
        _connect(
            graph.conn,
            hub,
            port,
            gates.xy[g],
            graph.node_xy[port],
            dl,
            int(graph.ukeys[port] % graph.nz) - 1,
            gates.ids[g],
        )


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
    for port in ports:
        _connect(
            graph.conn,
            hub,
            port,
            cl_xy,
            cl_xy,
            0.0,
            int(graph.ukeys[port] % graph.nz) - 1 if port < len(graph.ukeys) else -1,
            gates.ids[g],
        )


def _assemble(
    graph: _Graph,
    crs: str,
    pieces,
    p_path: np.ndarray,
    p_len: np.ndarray,
    p_zone: np.ndarray,
    paths: _Paths,
    zones: np.ndarray,
    zone_ids,
) -> Topology:
    """The :class:`Topology` of path pieces plus gate hubs and connectors."""
    node_xy = graph.node_xy
    if graph.extra_xy:
        node_xy = np.vstack([node_xy, np.asarray(graph.extra_xy)])
    conn = graph.conn
    n_p = len(pieces)
    nc = len(conn["u"])
    e_geom = np.empty(n_p + nc, dtype=object)
    e_geom[:n_p] = pieces
    e_geom[n_p:] = conn["geom"]
    return Topology(
        crs=crs,
        node_xy=np.asarray(node_xy, dtype=float).reshape(-1, 2),
        edge_u=np.r_[graph.e_u, np.asarray(conn["u"], dtype=np.int64)].astype(np.int64),
        edge_v=np.r_[graph.e_v, np.asarray(conn["v"], dtype=np.int64)].astype(np.int64),
        edge_length_m=np.r_[p_len, np.asarray(conn["len"], dtype=float)].astype(float),
        edge_geometry=e_geom,
        edge_path_id=np.r_[paths.ids[p_path], np.full(nc, "", dtype=object)].astype(object),
        gate_node=graph.gate_node,
        edge_zone=np.r_[p_zone, np.asarray(conn["zone"], dtype=np.int64)].astype(np.int64),
        edge_gate_id=np.r_[np.full(n_p, "", dtype=object), np.asarray(conn["gate"], dtype=object)].astype(object),
        zone_ids=tuple(zone_ids),
        zone_geometry=zones,
        path_ride=np.r_[paths.ride[p_path], np.ones(nc, dtype=bool)],
        path_walk=np.r_[paths.walk[p_path], np.ones(nc, dtype=bool)],
    )


def _connect(conn: dict, hub: int, port: int, hub_xy, port_xy, length: float, zone: int, gate: str) -> None:
    """Add one gate connector edge (hub -> port); which way it is open is its gate's rule (:mod:`.access`)."""
    conn["u"].append(hub)
    conn["v"].append(port)
    conn["geom"].append(shapely.LineString([tuple(hub_xy), tuple(port_xy)]))
    conn["len"].append(float(length))
    conn["zone"].append(zone)
    conn["gate"].append(gate)
