"""Signage plan: where every direction sign and building-side number goes, and what it says.

Nanjing's "一眼望到" standard asks for a direction sign at every junction of a
compound and the building number on the side of every building; Sichuan's
plan (item 5) for numbers "within a rider's view". This module decides both
from the path network and the rider routes:

**Junction direction signs.** For every usable gate of a compound, every
travel mode the gate allows (ride in; walk in after parking) and every time
plan (inside and outside the hours of rider rules), the shortest route from
the gate to every door is found (:func:`ridermap.analysis.network.routes`).
A rider who follows only the signs does this at a junction: where a sign
faces them, the arrow listing their building; where none does, the
*straightest* way on (the one closest to straight ahead, as people keep to
the road they are on). So a junction approach needs a sign face exactly
when some route leaves it by another way than the straightest; the face
then lists every way routes leave it, each with the buildings reached that
way (``← 1–4号楼   ↑ 5–8号楼``). Approaches where every route goes straight
on get no sign, which keeps the number of signs down; faces of one junction
share one post (:class:`JunctionSign`). :func:`follow_signs` simulates a
rider reading only the signs and the tests check every route.

Arrows are relative to the approach (a sign faces the rider coming along
it): ``↑`` ahead, ``↗`` ``↖`` half right / left, ``→`` ``←`` right / left,
``↘`` ``↙`` sharp right / left, ``↓`` back.

**Building-side numbers.** Each building gets its number on the facade(s)
facing the paths its routes arrive by: the facade segment nearest to where
each arriving path passes the building, and on a long slab (a facade longer
than :data:`SLAB_M`) at both ends. The letter height follows the
legibility rule :data:`LEGIBILITY_M_PER_MM` (viewing distance per mm of
letter height), for the distance from the facade to the farthest point of
the arriving path from which the facade is seen (capped at
:data:`MAX_VIEW_M`).

Everything is computed in the network's metric CRS and returned with WGS84
positions. Only rideable routes go through gates riders may ride through:
the ride plan uses only edges open to riding (see :mod:`ridermap.analysis.network`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from shapely.ops import nearest_points

from ridermap.analysis.context import Analysis
from ridermap.analysis.gaps import doors
from ridermap.analysis.network import Network, snap
from ridermap.analysis.network.topology import transformer
from ridermap.i18n import t
from ridermap.model.bundle import Bundle
from ridermap.numbers import parse_building_number, parse_unit_number

log = logging.getLogger(__name__)

__all__ = [
    "Arrow",
    "SignFace",
    "JunctionSign",
    "BuildingSign",
    "PlannedRoute",
    "SignPlan",
    "sign_plan",
    "signs_at_turns",
    "follow_signs",
    "ARROWS",
    "LEGIBILITY_M_PER_MM",
    "letter_height_mm",
]

#: turns closer than this to straight ahead count as "straight on"
STRAIGHT_DEG = 30.0
#: metres back along an edge used for its direction at a node (ignores the last kink of a drawn line)
LOOK_M = 8.0
#: where a face stands: this far before the junction on the approach (or half the approach if shorter)
SET_BACK_M = 5.0
#: a facade longer than this gets the number at both ends
SLAB_M = 40.0
#: legibility rule: metres of viewing distance per millimetre of letter (cap) height. The United
#: States Sign Council's "Sign Legibility Rules of Thumb" (2006) and its letter visibility chart
#: (USSC / Pennsylvania Transportation Institute, 1998) read 1 inch of upper-case Helvetica at
#: 25-30 ft in good conditions (0.30-0.36 m per mm). Chinese characters have more strokes than
#: Latin capitals and riders read while moving, so we take the short end: 25 ft per inch.
LEGIBILITY_M_PER_MM = 0.30
#: letter heights are rounded up to these (mm), the smallest being legible at arm's length on a facade
LETTER_SIZES_MM = (50, 75, 100, 150, 200, 250, 300, 400, 500)
#: farthest distance a building number is meant to be read from
MAX_VIEW_M = 120.0
#: distance a junction face is read from: a rider slowing for the turn (about 4 s at riding speed)
JUNCTION_VIEW_M = 15.0
#: 8 arrows by turn (degrees, positive = right), nearest wins
ARROWS = ((0.0, "↑"), (45.0, "↗"), (90.0, "→"), (135.0, "↘"), (180.0, "↓"), (-135.0, "↙"), (-90.0, "←"), (-45.0, "↖"))
#: order of arrows on a face, left to right
_ARROW_ORDER = {"↙": 0, "←": 1, "↖": 2, "↑": 3, "↗": 4, "→": 5, "↘": 6, "↓": 7}


@dataclass(frozen=True)
class Arrow:
    """One arrow of a sign face: a way out of the junction and what lies that way."""

    symbol: str
    turn_deg: float
    exit_edge: int
    doors: tuple[str, ...]  # door ids (units, or buildings without units) reached this way
    text: str  # "1–4号楼", "7号楼1单元"
    modes: tuple[str, ...]  # "ride" and/or "walk": who is sent this way (routes of these modes)
    text_en: str = ""  # "Bldg 1–4", "Bldg 7 Unit 1"


@dataclass(frozen=True)
class SignFace:
    """What a rider coming along ``approach_edge`` sees at the junction."""

    approach_edge: int  # -1: at the gate, facing the rider coming in
    lon: float
    lat: float
    facing_deg: float  # compass bearing the face looks towards (towards the oncoming rider)
    arrows: tuple[Arrow, ...]
    routes: int  # routes that pass this face
    letter_mm: int = 50  # cap height for reading at JUNCTION_VIEW_M

    @property
    def text(self) -> str:
        """``← 1–4号楼   ↑ 5号楼（步行）``: arrows left to right; a way for one mode only says so."""
        both = len({m for a in self.arrows for m in a.modes}) > 1
        return "   ".join(
            f"{a.symbol} {a.text}{t('signs.mode_' + a.modes[0], 'zh') if both and len(a.modes) == 1 else ''}"
            for a in self.arrows
        )

    def text_en(self) -> str:
        """English face text: ``← Bldg 1–4   ↑ Bldg 5 (on foot)``."""
        both = len({m for a in self.arrows for m in a.modes}) > 1
        return "   ".join(
            f"{a.symbol} {a.text_en}{t('signs.mode_' + a.modes[0], 'en') if both and len(a.modes) == 1 else ''}"
            for a in self.arrows
        )


@dataclass(frozen=True)
class JunctionSign:
    """A sign post at a junction: one face per approach that needs one."""

    id: str  # "J1", "J2"… per compound, by position
    community_id: str
    node: int
    lon: float
    lat: float
    faces: tuple[SignFace, ...]
    why: str


@dataclass(frozen=True)
class BuildingSign:
    """A building number painted or fixed on a facade."""

    id: str  # "N1"…
    community_id: str
    building_id: str
    text: str
    lon: float
    lat: float
    facing_deg: float  # compass bearing the facade faces
    letter_mm: int
    view_m: float
    why: str
    path_edges: tuple[int, ...] = ()  # the network edges (paths) it faces


@dataclass(frozen=True)
class PlannedRoute:
    """A route the plan covers: from a gate, in a mode and time plan, to a building's door."""

    gate_id: str
    mode: str
    plan: str  # "regular" (inside rule hours, or always) or "off_hours"
    building_id: str
    door_id: str
    start: int  # first node
    edges: tuple[int, ...]
    nodes: tuple[int, ...]  # node reached at the end of each edge but the last
    gate_bearing: float  # compass bearing of travel entering through the gate (across the outline)


@dataclass
class SignPlan:
    """The signs of one compound and the routes they were made for."""

    community_id: str
    junctions: list[JunctionSign]
    buildings: list[BuildingSign]
    routes: list[PlannedRoute]
    networks: dict[str, Network] = field(repr=False, default_factory=dict)  # plan -> network (for follow_signs)

    def face(self, node: int, approach_edge: int) -> SignFace | None:
        for sign in self.junctions:
            if sign.node == node:
                for f in sign.faces:
                    if f.approach_edge == approach_edge:
                        return f
        return None


# ---------------------------------------------------------------------------
# geometry helpers
# ---------------------------------------------------------------------------
def _bearing(dx: float, dy: float) -> float:
    """Compass bearing (0 = north, 90 = east) of a vector in metres."""
    return math.degrees(math.atan2(dx, dy)) % 360.0


def _turn(arrive_deg: float, leave_deg: float) -> float:
    """Turn from travelling ``arrive_deg`` to ``leave_deg``: -180..180, positive = right."""
    return (leave_deg - arrive_deg + 180.0) % 360.0 - 180.0


def _arrow(turn_deg: float) -> str:
    best = min(ARROWS, key=lambda a: abs(_turn(a[0], turn_deg)))
    return best[1]


def _edge_dir_at(net: Network, e: int, node: int, *, leaving: bool) -> float:
    """Compass bearing of travel on edge ``e`` at ``node``: leaving it, or arriving at it."""
    lengths, from_u, from_v = net.topology.end_vectors(LOOK_M)  # for every edge at once, once per network
    if not lengths[e] > 0:  # a gate connector: no direction of its own (the heading carries through it)
        return math.nan
    away = from_u[e] if int(net.edge_u[e]) == node else from_v[e]  # from the node along the edge
    return _bearing(*away) if leaving else _bearing(-away[0], -away[1])


def _heading(net: Network, came: int, node: int, before: float) -> float:
    """Heading on arriving at ``node`` by ``came``: the edge's direction, or ``before`` through a gate connector."""
    d = _edge_dir_at(net, came, node, leaving=False)
    return before if math.isnan(d) else d


def _other(net: Network, e: int, node: int) -> int:
    u, v = int(net.edge_u[e]), int(net.edge_v[e])
    return v if u == node else u


# ---------------------------------------------------------------------------
# routes: one shortest-path tree per building, mode and time plan
# ---------------------------------------------------------------------------
def _gate_modes(net: Network, gate_id: str) -> list[str]:
    conn = np.flatnonzero(net.edge_gate_id == gate_id) if len(net.edge_gate_id) else np.zeros(0, dtype=int)
    modes = []
    if len(conn) and net.edge_ride[conn].any():
        modes.append("ride")
    if len(conn) and net.edge_walk[conn].any():
        modes.append("walk")
    return modes


class _Graph:
    """The network's edges usable in one mode as a sparse graph, plus one spare node (the building)."""

    def __init__(self, net: Network, mode: str) -> None:
        mask = net.mode_mask(mode)
        e = np.flatnonzero(mask)
        w = np.maximum(net.edge_length_m[e].astype(float), 1e-3)
        u, v = net.edge_u[e].astype(np.int64), net.edge_v[e].astype(np.int64)
        # the shortest usable edge between each pair of nodes (parallel edges must not add up)
        a, b = np.r_[u, v], np.r_[v, u]
        w2, e2 = np.r_[w, w], np.r_[e, e]
        order = np.lexsort((e2, w2, b, a))
        a, b, w2, e2 = a[order], b[order], w2[order], e2[order]
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
        self.a, self.b, self.w, self.e = a[first], b[first], w2[first], e2[first]
        self.n = net.n_nodes + 1  # the last node stands for the building
        self.edge_of = {(int(x), int(y)): int(k) for x, y, k in zip(self.a, self.b, self.e)}

    def tree(self, net: Network, snapped) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
        """Distances to the building, the next node towards it, and the door edge at each node beside a door."""
        src = self.n - 1
        rows, cols, ws = [self.a], [self.b], [self.w]
        door_edge: dict[int, int] = {}
        best: dict[int, float] = {}
        for e, o, d in zip(snapped.edge.tolist(), snapped.offset_m.tolist(), snapped.distance_m.tolist()):
            if e < 0:
                continue
            length = float(net.edge_length_m[e])
            for node, cost in ((int(net.edge_u[e]), o + d), (int(net.edge_v[e]), max(length - o, 0.0) + d)):
                if cost < best.get(node, math.inf):
                    best[node], door_edge[node] = cost, int(e)
        if not best:
            return np.full(self.n, np.inf), np.full(self.n, -9999), {}
        nodes = np.array(list(best), dtype=np.int64)
        rows.append(np.full(len(nodes), src))
        cols.append(nodes)
        ws.append(np.maximum(np.array([best[n] for n in nodes.tolist()]), 1e-3))
        graph = sparse.csr_array(
            (np.concatenate(ws), (np.concatenate(rows), np.concatenate(cols))), shape=(self.n, self.n)
        )
        dist, pred = dijkstra(graph, directed=True, indices=src, return_predecessors=True)
        return dist, pred, door_edge


def _route_from(g: _Graph, hub: int, dist, pred, door_edge: dict[int, int]) -> tuple[list[int], list[int]] | None:
    """(edges, nodes) from the gate hub to the building along the tree: ``nodes[k]`` ends ``edges[k]``."""
    if not np.isfinite(dist[hub]):
        return None
    src = g.n - 1
    nodes: list[int] = []
    edges: list[int] = []
    here = hub
    for _ in range(g.n):
        nxt = int(pred[here])
        if nxt == src:
            edges.append(door_edge[here])
            return edges, nodes
        if nxt < 0:
            return None
        edges.append(g.edge_of[(here, nxt)])
        nodes.append(nxt)
        here = nxt
    return None


def _inward(poly, gx: float, gy: float, fallback: float) -> float:
    """Compass bearing into the compound across its outline at the gate (normal of the nearest outline side)."""
    ring = shapely.get_coordinates(
        poly.exterior if poly.geom_type == "Polygon" else max(poly.geoms, key=lambda g: g.area).exterior
    )
    if len(ring) < 3:
        return fallback
    a, b = ring[:-1], ring[1:]
    ab = b - a
    t = np.clip(((gx - a[:, 0]) * ab[:, 0] + (gy - a[:, 1]) * ab[:, 1]) / np.maximum((ab**2).sum(axis=1), 1e-9), 0, 1)
    near = a + ab * t[:, None]
    k = int(np.argmin(np.hypot(near[:, 0] - gx, near[:, 1] - gy)))
    normal = np.array([-ab[k, 1], ab[k, 0]])
    if not np.any(normal):
        return fallback
    normal /= np.linalg.norm(normal)
    if not poly.contains(shapely.Point(near[k] + normal * 0.5)):
        normal = -normal
    return _bearing(*normal)


def _take(snapped, k: int):
    """Point ``k`` of a :class:`~ridermap.analysis.network.Snapped` as a one-point Snapped."""
    return dataclasses.replace(
        snapped, **{f.name: getattr(snapped, f.name)[k : k + 1] for f in dataclasses.fields(snapped)}
    )


def _doors(bundle: Bundle):
    """The view's doors (:func:`ridermap.analysis.gaps.doors`), made once: every plan and the sign names ask."""
    return bundle.memo("doors", lambda: doors(bundle))


def _plan_routes(bundle: Bundle, cid: str, net: Network, plan: str) -> list[PlannedRoute]:
    """From each usable gate of ``cid``, per mode the gate allows, to each door (unit, or building without units)."""
    comm = bundle.communities[bundle.communities["id"] == cid]
    gates = bundle.gates[bundle.gates["community_id"] == cid]
    dr = _doors(bundle)
    dr = dr[dr["community_id"] == cid]
    if comm.empty or gates.empty or dr.empty:
        return []
    to_m = transformer("EPSG:4326", net.crs)
    poly = comm.to_crs(net.crs).geometry.iloc[0]
    cx, cy = poly.representative_point().coords[0]
    starts = []
    for gid, geom in zip(gates["id"], gates.geometry):
        if gid in net.gate_node:
            gx, gy = to_m.transform(geom.x, geom.y)
            inward = _inward(poly, gx, gy, _bearing(cx - gx, cy - gy))
            starts.append((str(gid), int(net.gate_node[gid]), inward, _gate_modes(net, gid)))
    out: list[PlannedRoute] = []
    for mode in ("ride", "walk"):
        users = [s for s in starts if mode in s[3]]
        if not users:
            continue
        graph = _Graph(net, mode)
        snapped_all = snap(net, dr.geometry, mode=mode)
        for k, (door, bid) in enumerate(zip(dr["id"].astype(str), dr["building_id"].astype(str))):
            dist, pred, door_edge = graph.tree(net, _take(snapped_all, k))
            for gid, hub, inward, _ in users:
                found = _route_from(graph, hub, dist, pred, door_edge)
                if found is not None:
                    edges, nodes = found
                    out.append(PlannedRoute(gid, mode, plan, bid, door, hub, tuple(edges), tuple(nodes), inward))
    return out


# ---------------------------------------------------------------------------
# deciding the faces
# ---------------------------------------------------------------------------
def _usable(net: Network, node: int, mode: str, adjacency: dict[int, list[int]]) -> list[int]:
    mask = net.mode_mask(mode)
    return [e for e in adjacency.get(node, ()) if mask[e]]


def _adjacency(net: Network) -> dict[int, list[int]]:
    adj: dict[int, list[int]] = defaultdict(list)
    for e, (u, v) in enumerate(zip(net.edge_u.tolist(), net.edge_v.tolist())):
        adj[u].append(e)
        if v != u:
            adj[v].append(e)
    return adj


def _straightest(
    net: Network, node: int, arrive_deg: float, came_by: int, mode: str, adjacency: dict[int, list[int]]
) -> int | None:
    """The way a rider without a sign takes: the usable edge closest to straight ahead (never back)."""
    options = [e for e in _usable(net, node, mode, adjacency) if e != came_by]
    if came_by < 0 and len(net.edge_zone):  # through the gate: into the compound, not back to the street
        options = [e for e in options if net.edge_zone[e] >= 0] or options
    if not options:
        return None

    return min(options, key=lambda e: (abs(_turn(arrive_deg, _way_dir(net, e, node, arrive_deg, mode, adjacency))), e))


def _way_dir(net: Network, e: int, node: int, arrive_deg: float, mode: str, adjacency, depth: int = 3) -> float:
    """Bearing of the way ``e`` leaves ``node`` by; through a gate connector (no length), of the straightest
    way on beyond it (straight ahead if there is none)."""
    d = _edge_dir_at(net, e, node, leaving=True)
    if not math.isnan(d):
        return d
    port = _other(net, e, node)
    beyond = [x for x in _usable(net, port, mode, adjacency) if x != e]
    if depth <= 0 or not beyond:
        return arrive_deg
    dirs = [_way_dir(net, x, port, arrive_deg, mode, adjacency, depth - 1) for x in beyond]
    return min(dirs, key=lambda b: abs(_turn(arrive_deg, b)))


@dataclass
class _Pass:
    """Routes passing one (node, approach) of one network, by the edge they leave by."""

    arrive_deg: float
    exits: dict[int, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))  # edge -> {(door, mode)}
    misled: bool = False  # some route leaves by another way than a rider without a sign would take
    n: int = 0


def _passes(net: Network, rs: list[PlannedRoute], adjacency) -> dict[tuple[int, int], _Pass]:
    passes: dict[tuple[int, int], _Pass] = {}
    for r in rs:
        # the gate: the rider comes in along the gate's inward bearing; approach -1
        steps = [(r.start, -1, r.gate_bearing, r.edges[0])]
        for k, node in enumerate(r.nodes):
            came = r.edges[k]
            steps.append((node, came, _heading(net, came, node, steps[-1][2]), r.edges[k + 1]))
        for node, came, arrive, leave in steps:
            p = passes.setdefault((node, came), _Pass(arrive))
            p.exits[leave].add((r.door_id, r.mode))
            p.misled |= leave != _unsigned_way(net, node, arrive, came, r.mode, adjacency, r.edges[-1])
            p.n += 1
    return passes


def _natural(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


_BARE_NUMBER = re.compile(r"^\s*([0-9０-９]+|[零〇一二两三四五六七八九十百]+)\s*(号楼|号|栋|幢|座)?\s*$")


def _number(label: str) -> str:
    """The number of a label that is only a building number (``7号楼``, ``七栋``, ``12``), else ``""``."""
    if not _BARE_NUMBER.match(label or ""):
        return ""
    number = parse_building_number(label)
    return number if number.isdigit() else ""


_UNNUMBERED = re.compile(r"^未编号B(\d+)$")


def _runs(values: list[int], fmt=str) -> list[str]:
    """``[1, 2, 3, 5]`` -> ``["1–3", "5"]`` (three or more in a row become a range)."""
    runs: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        if j > i + 1:
            runs.append(f"{fmt(values[i])}–{fmt(values[j])}")
        else:
            runs += [fmt(v) for v in values[i : j + 1]]
        i = j + 1
    return runs


def _buildings_text(labels: list[str], *, lang: str = "zh") -> str:
    """``1–4号楼、7号楼`` (en ``Bldg 1–4, 7``) from labels like ``1号楼``; unnumbered buildings by their survey keys
    as runs (``未编号B03–B14``, 待核实 until surveyed); other labels listed as they are."""
    numbered = sorted({int(n) for n in map(_number, labels) if n})
    keys = sorted({int(m.group(1)) for lb in labels if (m := _UNNUMBERED.match(lb))})
    others = sorted({lb for lb in labels if not _number(lb) and not _UNNUMBERED.match(lb)}, key=_natural)
    runs = _runs(numbered)
    unnumbered = _runs(keys, lambda k: f"B{k:02d}")
    if lang == "en":
        parts = ([f"Bldg {', '.join(runs)}"] if runs else []) + (
            [f"unnumbered {', '.join(unnumbered)}"] if keys else []
        )
        return ", ".join(parts + others)
    parts = ([f"{'、'.join(runs)}号楼"] if runs else []) + ([f"未编号{'、'.join(unnumbered)}"] if keys else [])
    return "、".join(parts + others)


def _unsigned_way(
    net: Network, node: int, arrive: float, came: int, mode: str, adjacency, door_edge: int
) -> int | None:
    """Where a rider goes at a junction without a face for them: onto the door's own path when it starts
    here (the building's number faces it), else the straightest way on."""
    if door_edge != came and door_edge in _usable(net, node, mode, adjacency):
        return door_edge
    return _straightest(net, node, arrive, came, mode, adjacency)


# ---------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------
def sign_plan(bundle: Bundle, community_id: str, *, analysis: Analysis | None = None) -> SignPlan:
    """Junction signs and building-side numbers of one compound.

    Parameters
    ----------
    bundle
        The compound's view (:meth:`~ridermap.model.bundle.Bundle.community`) or the district.
    community_id
        The compound.
    analysis
        The build's network context for this compound (:meth:`Analysis.for_compound`); made here
        from ``bundle`` when not given. Every time plan it has (``regular``, ``off_hours``) is planned.

    Returns
    -------
    SignPlan
    """
    context = analysis if analysis is not None else Analysis(bundle)
    nets = {plan: context.network(plan) for plan in context.plans()}
    net = nets["regular"]
    # a plan's rules are in its network's masks (gate connectors): the same view serves every plan
    planned = [r for plan, n in nets.items() for r in _plan_routes(bundle, community_id, n, plan)]
    names = _Names(bundle, community_id)
    to_wgs = transformer(net.crs, "EPSG:4326")
    faces: dict[int, list[SignFace]] = defaultdict(list)
    why: dict[int, set[str]] = defaultdict(set)
    for plan, n in nets.items():
        if n.n_edges != net.n_edges or not np.array_equal(n.edge_u, net.edge_u):
            log.info("signs: %s: the %s network differs in topology; its faces are placed on it", community_id, plan)
        adjacency = _adjacency(n)
        for (node, came), p in sorted(_passes(n, [r for r in planned if r.plan == plan], adjacency).items()):
            if not p.misled:
                continue
            face = _face(n, node, came, p, names, to_wgs, adjacency)
            merged = _merge_face(faces[node], face)
            if not merged:
                faces[node].append(face)
            why[node].add("routes part here" if len(p.exits) > 1 else "routes turn off the straight way")
    junctions = _number_junctions(net, community_id, faces, why, to_wgs)
    return SignPlan(community_id, junctions, building_signs(bundle, community_id, net, planned), planned, nets)


def _face(net: Network, node: int, came: int, p: _Pass, names: _Names, to_wgs, adjacency) -> SignFace:
    arrows = []
    split = _split_buildings(p, names)
    for leave, reached in p.exits.items():
        mode = "ride" if any(m == "ride" for _, m in reached) else "walk"
        turn = _turn(p.arrive_deg, _way_dir(net, leave, node, p.arrive_deg, mode, adjacency))
        door_ids = sorted({d for d, _ in reached}, key=names.order)
        arrows.append(
            Arrow(
                _arrow(turn),
                round(turn, 1),
                int(leave),
                tuple(door_ids),
                names.text(door_ids, split),
                tuple(sorted({m for _, m in reached})),
                names.text(door_ids, split, lang="en"),
            )
        )
    arrows = _distinct_symbols(arrows)
    x, y = _face_xy(net, node, came, p.arrive_deg)
    lon, lat = to_wgs.transform(x, y)
    return SignFace(
        came,
        float(lon),
        float(lat),
        (p.arrive_deg + 180.0) % 360.0,
        tuple(arrows),
        p.n,
        letter_height_mm(JUNCTION_VIEW_M),
    )


def _distinct_symbols(arrows: list[Arrow]) -> list[Arrow]:
    """Arrows left to right, no two with the same symbol (a fork of two ways both ahead: ↖ and ↗)."""
    ring = [sym for _, sym in sorted(ARROWS, key=lambda a: a[0])]  # ↙ ← ↖ ↑ ↗ → ↘ ↓ by turn
    ordered = sorted(arrows, key=lambda a: a.turn_deg)
    taken: set[str] = set()
    out: list[Arrow] = []
    for a in ordered:
        choices = sorted(ring, key=lambda sym: abs(_turn(dict((s_, d) for d, s_ in ARROWS)[sym], a.turn_deg)))
        free = [c for c in choices if c not in taken and (not out or _ARROW_ORDER[c] > _ARROW_ORDER[out[-1].symbol])]
        symbol = free[0] if free else a.symbol
        taken.add(symbol)
        out.append(dataclasses.replace(a, symbol=symbol))
    return sorted(out, key=lambda a: (_ARROW_ORDER[a.symbol], a.turn_deg))


class _Names:
    """Building and unit labels of a compound's doors, for sign text."""

    def __init__(self, bundle: Bundle, cid: str) -> None:
        dr = _doors(bundle)
        dr = dr[dr["community_id"] == cid]
        bl = bundle.buildings
        keys = bl["survey_key"].astype(str) if "survey_key" in bl else bl["id"].astype(str)
        labels: dict[str, str] = {
            b: (lb if lb and lb != "nan" else f"未编号{k}")
            for b, lb, k in zip(bl["id"].astype(str), bl["label"].fillna("").astype(str), keys)
        }
        self.building: dict[str, str] = dict(zip(dr["id"].astype(str), dr["building_id"].astype(str)))
        self.building_label: dict[str, str] = {b: labels.get(b, b) for b in self.building.values()}
        self.unit: dict[str, str] = {
            d: (lb if kind == "unit" else "")
            for d, lb, kind in zip(dr["id"].astype(str), dr["label"].astype(str), dr["door"])
        }

    def order(self, door: str) -> tuple:
        """Sort key of a door: building label, unit number, then the id (doors without a unit number tie)."""
        label = _natural(self.building_label.get(self.building.get(door, door), door)) + _natural(
            self.unit.get(door, "")
        )
        return (label, door)  # natural keys of different lengths compare safely only as a whole

    def text(self, door_ids: list[str], split: set[str], *, lang: str = "zh") -> str:
        """``1–4号楼、7号楼1单元`` (en ``Bldg 1–4, Bldg 7 Unit 1``): whole buildings as runs, a building whose
        doors leave by several arrows with its units. Labels that are not a bare number stay as in the data."""
        whole, parts = [], []
        by_building: dict[str, list[str]] = defaultdict(list)
        for d in door_ids:
            by_building[self.building.get(d, d)].append(d)
        for b, ds in by_building.items():
            label = self.building_label.get(b, b)
            if b not in split:
                whole.append(label)
                continue
            units = [self.unit.get(d, "") for d in ds if self.unit.get(d, "")]
            if lang == "en":
                name = f"Bldg {_number(label)}" if _number(label) else label
                nums = [parse_unit_number(u) or u for u in units]
                parts.append(name + (f" Unit {', '.join(nums)}" if nums else ""))
            else:
                parts.append(label + ("、".join(units) if units else ""))
        sep = ", " if lang == "en" else "、"
        return sep.join(x for x in [_buildings_text(whole, lang=lang)] + parts if x)


def _split_buildings(p: _Pass, names: _Names) -> set[str]:
    """Buildings whose doors leave this face by more than one arrow."""
    ways: dict[str, set[int]] = defaultdict(set)
    for leave, reached in p.exits.items():
        for d, _ in reached:
            ways[names.building.get(d, d)].add(leave)
    return {b for b, w in ways.items() if len(w) > 1}


def _face_xy(net: Network, node: int, came: int, arrive_deg: float) -> tuple[float, float]:
    if came < 0:
        x, y = net.node_xy[node]
        return float(x), float(y)
    line = net.edge_geometry[came]
    at_start = int(net.edge_u[came]) == node
    back = min(SET_BACK_M, line.length / 2)
    pt = line.interpolate(back if at_start else line.length - back)
    return float(pt.x), float(pt.y)


def _merge_face(existing: list[SignFace], face: SignFace) -> bool:
    """Merge ``face`` into a face of the same approach (another time plan); False if there is none."""
    for i, f in enumerate(existing):
        if f.approach_edge != face.approach_edge:
            continue
        by_exit = {a.exit_edge: a for a in f.arrows}
        for a in face.arrows:
            old = by_exit.get(a.exit_edge)
            if old is None:
                by_exit[a.exit_edge] = a
                continue
            ids = tuple(dict.fromkeys(old.doors + a.doors))
            same = ids == old.doors
            by_exit[a.exit_edge] = Arrow(
                old.symbol,
                old.turn_deg,
                old.exit_edge,
                ids,
                old.text if same else _merge_text(old.text, a.text, "、"),
                tuple(sorted(set(old.modes) | set(a.modes))),
                old.text_en if same else _merge_text(old.text_en, a.text_en, ", "),
            )
        arrows = tuple(sorted(by_exit.values(), key=lambda a: (_ARROW_ORDER[a.symbol], a.turn_deg)))
        existing[i] = dataclasses.replace(f, arrows=arrows, routes=f.routes + face.routes)
        return True
    return False


def _merge_text(a: str, b: str, sep: str) -> str:
    return sep.join(dict.fromkeys([*a.split(sep), *b.split(sep)]))


def _number_junctions(
    net: Network, cid: str, faces: dict[int, list[SignFace]], why: dict[int, set[str]], to_wgs
) -> list[JunctionSign]:
    """One post per junction with faces, numbered J1, J2… north to south, then west to east."""
    nodes = sorted(faces, key=lambda n: (-round(float(net.node_xy[n][1]), 1), round(float(net.node_xy[n][0]), 1)))
    out = []
    for k, node in enumerate(nodes, start=1):
        x, y = net.node_xy[node]
        lon, lat = to_wgs.transform(float(x), float(y))
        fs = tuple(sorted(faces[node], key=lambda f: (f.approach_edge >= 0, f.facing_deg)))
        out.append(JunctionSign(f"J{k}", cid, int(node), float(lon), float(lat), fs, "; ".join(sorted(why[node]))))
    return out


# ---------------------------------------------------------------------------
# following the signs
# ---------------------------------------------------------------------------
def follow_signs(plan: SignPlan, route: PlannedRoute, *, max_steps: int = 500) -> tuple[int, ...]:
    """The edges a rider takes from ``route``'s gate to its building reading only ``plan``'s signs.

    At a face the arrow listing the rider's building (for the rider's mode)
    is taken; at a junction without a face for the rider's approach, or whose
    face does not list the building, the straightest usable way on. The
    rider stops on reaching the route's last edge (the door's), at a dead
    end, or after ``max_steps`` edges.
    """
    net = plan.networks[route.plan]
    adjacency = _adjacency(net)
    goal = route.edges[-1]
    taken: list[int] = []
    node, came, arrive = route.start, -1, route.gate_bearing
    seen: set[tuple[int, int]] = set()
    numbered = {e for s in plan.buildings if s.building_id == route.building_id for e in s.path_edges}
    for _ in range(max_steps):
        if (node, came) in seen:
            return tuple(taken)  # going round in circles
        seen.add((node, came))
        face = plan.face(node, came)
        nxt = None
        if face is not None:
            for a in face.arrows:
                if route.door_id in a.doors and route.mode in a.modes:
                    nxt = a.exit_edge
                    break
        if nxt is None:
            nxt = _unsigned_way(net, node, arrive, came, route.mode, adjacency, goal if goal in numbered else -2)
        if nxt is None:
            return tuple(taken)
        taken.append(int(nxt))
        if nxt == goal:
            return tuple(taken)
        node, came = _other(net, nxt, node), int(nxt)
        arrive = _heading(net, came, node, arrive)
    return tuple(taken)


# ---------------------------------------------------------------------------
# building-side numbers
# ---------------------------------------------------------------------------
def letter_height_mm(view_m: float) -> int:
    """Letter (cap) height to read at ``view_m`` metres (:data:`LEGIBILITY_M_PER_MM`), rounded up to a stock size."""
    need = view_m / LEGIBILITY_M_PER_MM
    for size in LETTER_SIZES_MM:
        if size >= need:
            return size
    return LETTER_SIZES_MM[-1]


def building_signs(bundle: Bundle, cid: str, net: Network, planned: list[PlannedRoute]) -> list[BuildingSign]:
    """Numbers on the facades facing the paths each building's routes arrive by."""
    b = bundle.buildings[bundle.buildings["community_id"] == cid]
    if b.empty:
        return []
    metric = b.to_crs(net.crs)
    to_wgs = transformer(net.crs, "EPSG:4326")
    arriving: dict[str, set[int]] = defaultdict(set)
    for r in planned:
        arriving[r.building_id].add(r.edges[-1])
    out: list[BuildingSign] = []
    keys = b["survey_key"].fillna("").astype(str) if "survey_key" in b else [""] * len(b)
    names = [
        lb if lb and lb != "nan" else (f"未编号{k}" if k else "未编号")
        for lb, k in zip(b["label"].fillna("").astype(str), keys)
    ]
    for bid, label, poly in zip(b["id"].astype(str), names, metric.geometry):
        if poly is None or poly.is_empty:
            continue
        edges = sorted(arriving.get(bid, ()))
        why = "faces the path its routes arrive by"
        if not edges:  # no route reaches it: face the nearest path
            edges = _nearest_edges(net, poly)
            why = "no route reaches it: faces the nearest path"
        facades: dict[tuple, list] = {}
        for e in edges:
            if not net.edge_geometry[e].length:
                continue
            found = _facade(poly, net.edge_geometry[e])
            if found is None:
                continue
            a, c, facing, view = found
            key = (round(float(a[0]), 1), round(float(a[1]), 1), round(float(c[0]), 1), round(float(c[1]), 1))
            if key in facades:
                facades[key][3] = max(facades[key][3], view)
                facades[key][4].append(int(e))
            else:
                facades[key] = [a, c, facing, view, [int(e)]]
        for a, c, facing, view, faced in facades.values():
            for x, y in _facade_spots(a, c):
                lon, lat = to_wgs.transform(float(x), float(y))
                out.append(
                    BuildingSign(
                        "",
                        cid,
                        bid,
                        label,
                        float(lon),
                        float(lat),
                        round(facing, 1),
                        letter_height_mm(view),
                        round(view, 1),
                        why,
                        tuple(faced),
                    )
                )
    out.sort(key=lambda s: (-round(s.lat, 6), round(s.lon, 6), s.building_id))
    return [dataclasses.replace(s, id=f"N{k}") for k, s in enumerate(out, start=1)]


def _nearest_edges(net: Network, poly) -> list[int]:
    if not net.n_edges:
        return []
    d = shapely.distance(net.edge_geometry, poly)
    return [int(np.argmin(d))]


def _facade(poly, path: shapely.LineString) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """The facade of ``poly`` facing ``path``: ``(start, end, facing bearing, viewing distance)``.

    The outline side nearest to where the path passes the building, extended
    over its neighbours in the same direction (an outline drawn with a vertex
    at every unit still has one facade).
    """
    ring = shapely.get_coordinates(
        poly.exterior if poly.geom_type == "Polygon" else max(poly.geoms, key=lambda g: g.area).exterior
    )
    if len(ring) < 3 or path is None or path.is_empty:
        return None
    near_on_path, _ = nearest_points(path, poly)
    segs = [(a, c) for a, c in zip(ring[:-1], ring[1:]) if np.linalg.norm(c - a) >= 0.5]
    if not segs:
        return None
    k = min(range(len(segs)), key=lambda i: shapely.LineString(segs[i]).distance(near_on_path))
    heading = _bearing(*(segs[k][1] - segs[k][0]))

    def same(i: int) -> bool:
        return abs(_turn(heading, _bearing(*(segs[i % len(segs)][1] - segs[i % len(segs)][0])))) <= 10.0

    lo, hi = k, k
    while hi - lo + 1 < len(segs) and same(hi + 1):
        hi += 1
    while hi - lo + 1 < len(segs) and same(lo - 1):
        lo -= 1
    a, c = segs[lo % len(segs)][0], segs[hi % len(segs)][1]
    mid = (a + c) / 2
    normal = np.array([c[1] - a[1], -(c[0] - a[0])])
    if not np.any(normal):
        return None
    normal = normal / np.linalg.norm(normal)
    if poly.contains(shapely.Point(mid + normal * 0.5)):
        normal = -normal
    view = min(MAX_VIEW_M, max(5.0, float(path.hausdorff_distance(shapely.Point(mid)))))
    return a, c, _bearing(*normal), view


def _facade_spots(a: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    """Where the number goes on a facade: its middle, or both ends of a long slab."""
    length = float(np.linalg.norm(c - a))
    if length <= SLAB_M:
        return [(a + c) / 2]
    unit = (c - a) / length
    return [a + unit * 0.15 * length, c - unit * 0.15 * length]


# ---------------------------------------------------------------------------
# signs on a rider's route page
# ---------------------------------------------------------------------------
def signs_at_turns(route, plan: SignPlan, *, near_m: float = 10.0, along_m: float = 15.0) -> dict[tuple[int, int], str]:
    """The junction sign post at each turn of a :class:`~ridermap.analysis.routing.UnitRoute`.

    A post counts for a turn when it stands within ``near_m`` of the leg and
    within ``along_m`` (along the leg) of where the turn is, so a route page
    can say "在导向牌J3处右转" / "turn right at sign J3".

    Returns
    -------
    dict
        ``(leg index, step index) -> post id`` (``J3``), as
        :func:`~ridermap.analysis.routing.describe` takes them.
    """
    if route is None or not plan.junctions or "regular" not in plan.networks:
        return {}
    to_m = transformer("EPSG:4326", plan.networks["regular"].crs)
    posts = [(s.id, shapely.Point(*to_m.transform(s.lon, s.lat))) for s in plan.junctions]
    out: dict[tuple[int, int], str] = {}
    for li, leg in enumerate(route.legs):
        xy = shapely.get_coordinates(leg.geometry)
        if len(xy) < 2:
            continue
        line = shapely.LineString(np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
        near = [(pid, line.project(p)) for pid, p in posts if line.distance(p) <= near_m]
        done = 0.0
        for si, (turn, metres) in enumerate(leg.steps):
            done += metres
            if turn == "arrive" or not near:
                continue
            pid, at = min(near, key=lambda n: abs(n[1] - done))
            if abs(at - done) <= along_m:
                out[(li, si)] = pid
    return out
