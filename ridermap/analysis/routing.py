"""Rider routes from gate to door, computed once at build time.

For every unit door of a compound this module finds how a delivery rider
gets there and says it in a few lines of Chinese and English:

- **ride in** through a gate riders may ride through, along rideable paths,
  then park and walk the last metres (footways to the door);
- or, where riding in is not allowed, **park** at the nearest rider parking
  outside the compound (or, if there is none, at a gate open to walking) and
  **walk** in through a gate open to walking.

All of this is one shortest-path search over a two-layer graph built on top
of :mod:`ridermap.analysis.network` (the network's edges, split where doors
and parkings snap onto them): a *ride* layer (rideable edges, gates joined for
riding) and a *walk* layer (walkable edges, gates joined for walking).
Riders who ride in switch to walking at any node inside a compound (they
park by the building); riders who may not ride in start on foot from a
public rider parking or a gate. Cost is travel time (``ride_speed_mps``,
``walk_speed_mps``) plus a fixed cost for parking outside. One Dijkstra from a
virtual source tied to every allowed start (ride-in gates, parkings, gates
for parking at the gate) serves every door at once.

Gates whose rule is not known (``rider_access == "unknown"``, 待核实: inferred
gate candidates) are open to walking only, so riders park there and walk in;
a compound rule ``unknown`` does not restrict its gates (see
:mod:`ridermap.analysis.network`).

Gate rules with hours (OSM ``opening_hours``) are honoured with two plans per
door: the plan when every rule applies (:attr:`RoutePlan.routes`) and the
plan outside those hours, when riders park and walk
(:attr:`RoutePlan.off_hours`). Pages pick the plan for the current time with
the schedules from :func:`parse_hours`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from ridermap import i18n
from ridermap.analysis.network import Network, cut, nearest_by_kind, network_from_bundle, snap, split_edges
from ridermap.analysis.network.access import has_hours, plan_differs
from ridermap.config import RouteCosts
from ridermap.hours import Schedule, hours_apply, parse_hours
from ridermap.model.bundle import Bundle
from ridermap.model.schema import FACILITY_KINDS

log = logging.getLogger(__name__)

__all__ = [
    "Leg",
    "UnitRoute",
    "RoutePlan",
    "Schedule",
    "plan_routes",
    "rider_routes",
    "nearest_facilities",
    "off_hours_bundle",
    "parse_hours",
    "hours_apply",
    "route_steps",
    "NEAREST_KINDS",
]

#: facility kinds listed on unit pages, nearest first by path distance
NEAREST_KINDS = (
    "rider_parking",
    "charger",
    "battery_swap",
    "parcel_locker",
    "toilet",
    "rider_station",
    "drinking_water",
)
_EPS = 1e-6  # weight of "free" edges: scipy drops explicit zeros in some paths
_MAX_TRIES = 12  # starts tried per door for its runner-up (cheapest first)

# ---------------------------------------------------------------------------
# opening hours
# ---------------------------------------------------------------------------
# the pure parser lives in ridermap.hours (validation uses it too); re-exported here


_has_hours = has_hours


def off_hours_bundle(bundle: Bundle) -> Bundle | None:
    """The bundle as it is outside the hours of its rider rules.

    Gates and compounds whose rule has ``hours`` become ``walk`` (riders park
    and walk) outside those hours; locked gates stay locked.

    Returns
    -------
    Bundle or None
        ``None`` when no gate or compound of ``bundle`` has hours.
    """
    gates = bundle.gates.copy()
    comms = bundle.communities.copy()
    g_hours = gates["hours"].map(_has_hours)
    c_hours = comms["rider_hours"].map(_has_hours)
    if not g_hours.any() and not c_hours.any():
        return None
    gates.loc[g_hours, "rider_access"] = "walk"
    comms.loc[c_hours, "rider_access"] = "walk"
    return bundle.replace(gates=gates, communities=comms)


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Leg:
    """One stretch of a route travelled one way.

    Attributes
    ----------
    mode
        ``"ride"`` or ``"walk"``.
    geometry
        WGS84 LineString in travel order.
    length_m
        Length in metres.
    gate_id
        Gate passed at the start of this leg (``""`` if none).
    steps
        ``(turn, metres)`` pairs: go ``metres`` then turn (``left``,
        ``right``, ``slight_left``, ``slight_right``, ``uturn``; the last is
        ``arrive``).
    """

    mode: str
    geometry: shapely.LineString
    length_m: float
    gate_id: str = ""
    steps: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class UnitRoute:
    """How a rider reaches one unit door.

    Attributes
    ----------
    unit_id
        The unit.
    gate_id
        The gate the rider goes through into the compound (``""`` if the door
        is reached without passing a gate).
    entry
        ``"ride"`` (ride in, park near the door) or ``"walk"`` (park outside,
        walk in).
    parking_id
        Facility id of the rider parking used for ``walk`` entries (``""``
        when riding in, or when parking at the gate).
    legs
        Ride and walk legs in travel order.
    time_s
        Estimated travel time (the cost minimised), seconds.
    start_s
        The fixed part of ``time_s``: the time counted for parking before
        walking in (``park_s`` or ``gate_park_s``; 0 when riding in).
    """

    unit_id: str
    gate_id: str
    entry: str
    parking_id: str
    legs: tuple[Leg, ...]
    time_s: float
    start_s: float = 0.0

    @property
    def ride_m(self) -> float:
        return float(sum(leg.length_m for leg in self.legs if leg.mode == "ride"))

    @property
    def walk_m(self) -> float:
        return float(sum(leg.length_m for leg in self.legs if leg.mode == "walk"))

    @property
    def length_m(self) -> float:
        return self.ride_m + self.walk_m

    @property
    def gates_used(self) -> tuple[str, ...]:
        return tuple(leg.gate_id for leg in self.legs if leg.gate_id)

    def travel_s(self, costs: RouteCosts) -> float:
        """Moving time at the speeds of ``costs`` (riding and walking, no parking), seconds."""
        return self.ride_m / costs.ride_speed_mps + self.walk_m / costs.walk_speed_mps


@dataclass(frozen=True)
class RoutePlan:
    """Routes and nearest facilities of every unit of a bundle.

    Attributes
    ----------
    routes
        ``unit id -> UnitRoute`` (``None`` if unreachable) when every rider
        rule applies (inside their hours).
    off_hours
        The same outside the hours of rules that have hours; empty when no
        rule has hours.
    schedules
        Gate or compound id -> parsed hours (``None`` if not understood),
        for rules that have hours.
    nearest
        One row per unit and facility kind: ``unit_id``, ``kind``,
        ``facility_id``, ``distance_m`` (path distance, walking).
    runners_up, off_runners_up
        ``unit id -> UnitRoute``: the best route through another gate than
        the chosen one (in :attr:`routes` / :attr:`off_hours`), for units
        that have one: what pages compare the choice with.
    costs
        The speeds and costs the routes were planned with.
    """

    routes: dict[str, UnitRoute | None]
    off_hours: dict[str, UnitRoute | None] = field(default_factory=dict)
    schedules: dict[str, Schedule | None] = field(default_factory=dict)
    nearest: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["unit_id", "kind", "facility_id", "distance_m"])
    )
    runners_up: dict[str, UnitRoute] = field(default_factory=dict)
    off_runners_up: dict[str, UnitRoute] = field(default_factory=dict)
    costs: RouteCosts = field(default_factory=RouteCosts)


# ---------------------------------------------------------------------------
# the two-layer search
# ---------------------------------------------------------------------------
def plan_routes(
    bundle: Bundle,
    *,
    network: Network | None = None,
    off_hours_network: Network | None = None,
    ride_speed_mps: float = 4.2,
    walk_speed_mps: float = 1.2,
    park_s: float = 30.0,
    gate_park_s: float = 90.0,
    gate_parking_m: float = 40.0,
    alternative_pct: float = 20.0,
    kinds: tuple[str, ...] = NEAREST_KINDS,
) -> RoutePlan:
    """Routes (inside and outside rule hours), their runners-up and nearest facilities for every unit.

    Parameters
    ----------
    bundle
        Usually one compound (:meth:`Bundle.community`), with the streets and
        facilities around it.
    network
        The network of ``bundle`` under the ``regular`` plan (usually from
        :meth:`ridermap.analysis.context.Analysis.route_plan`, which cuts it
        out of the district's); built from ``bundle`` when not given.
    off_hours_network
        The same under the ``off_hours`` plan (the same topology, other
        masks); made from ``network``'s topology when a rule has hours and
        it is not given.
    ride_speed_mps, walk_speed_mps, park_s, gate_park_s, gate_parking_m
        See :func:`rider_routes` (``[routing]`` in the config,
        :class:`ridermap.config.RouteCosts`).
    alternative_pct
        Kept in :attr:`RoutePlan.costs`: pages show a runner-up whose cost is
        within this percentage of the best.
    kinds
        Facility kinds for :attr:`RoutePlan.nearest`.

    Returns
    -------
    RoutePlan
    """
    costs = RouteCosts(
        ride_speed_mps=ride_speed_mps,
        walk_speed_mps=walk_speed_mps,
        park_s=park_s,
        gate_park_s=gate_park_s,
        gate_parking_m=gate_parking_m,
        alternative_pct=alternative_pct,
    )
    if bundle.units.empty or bundle.paths.empty:
        log.info("routing: no units or no paths; no routes")
        return RoutePlan(routes={uid: None for uid in bundle.units["id"]}, costs=costs)
    net = network if network is not None else network_from_bundle(bundle)
    routes, runners = _search(bundle, net, costs)
    schedules: dict[str, Schedule | None] = {}
    for table, column in ((bundle.gates, "hours"), (bundle.communities, "rider_hours")):
        for rid, text in zip(table["id"], table[column]):
            if _has_hours(text):
                schedules[rid] = parse_hours(text)
                if schedules[rid] is None:
                    log.warning("routing: %s: hours %r not understood; pages show them as text", rid, text)
    off_routes: dict[str, UnitRoute | None] = {}
    off_runners: dict[str, UnitRoute] = {}
    if plan_differs(bundle.gates, bundle.communities):
        off = (
            off_hours_network
            if off_hours_network is not None
            else network_from_bundle(bundle, plan="off_hours", topology=net.topology)
        )
        off_routes, off_runners = _search(bundle, off, costs)
    return RoutePlan(
        routes=routes,
        off_hours=off_routes,
        schedules=schedules,
        nearest=nearest_facilities(bundle, network=net, kinds=kinds),
        runners_up=runners,
        off_runners_up=off_runners,
        costs=costs,
    )


def rider_routes(
    bundle: Bundle,
    *,
    network: Network | None = None,
    ride_speed_mps: float = 4.2,
    walk_speed_mps: float = 1.2,
    park_s: float = 30.0,
    gate_park_s: float = 90.0,
    gate_parking_m: float = 40.0,
) -> dict[str, UnitRoute | None]:
    """Best way in for a rider to every unit door, as the gate rules stand.

    Parameters
    ----------
    bundle
        Units, gates, paths, compounds and rider parkings (facilities of kind
        ``rider_parking``).
    network
        The network of ``bundle`` if already built.
    ride_speed_mps, walk_speed_mps
        Speeds that turn metres into the time minimised.
    park_s
        Time to park at a rider parking outside and set off on foot.
    gate_park_s
        Time to park at a gate that has no rider parking (higher: riders
        should use proper parkings where there are some).
    gate_parking_m
        When riders park at a gate, a rider parking this close to it (either
        side of the fence) is where they park.

    Returns
    -------
    dict
        Unit id -> :class:`UnitRoute`, or ``None`` when the door cannot be
        reached from any gate riders may use.
    """
    costs = RouteCosts(
        ride_speed_mps=ride_speed_mps,
        walk_speed_mps=walk_speed_mps,
        park_s=park_s,
        gate_park_s=gate_park_s,
        gate_parking_m=gate_parking_m,
    )
    net = network if network is not None else network_from_bundle(bundle)
    return _search(bundle, net, costs, runners_up=False)[0]


def _search(
    bundle: Bundle, net: Network, costs: RouteCosts, *, runners_up: bool = True
) -> tuple[dict[str, UnitRoute | None], dict[str, UnitRoute]]:
    """The best route to every unit door (one search from every start at once) and, per door, the best through
    another gate (``runners_up``: one search per start)."""
    units = bundle.units
    out: dict[str, UnitRoute | None] = {uid: None for uid in units["id"]}
    if units.empty:
        return out, {}
    parkings = bundle.facilities[bundle.facilities["kind"] == "rider_parking"]
    n_units = len(units)
    points = gpd.GeoSeries(list(units.geometry.values) + list(parkings.geometry.values), crs=units.crs)
    snapped = snap(net, points, mode="walk")
    graph = _LayeredGraph(net, snapped, ride_speed_mps=costs.ride_speed_mps, walk_speed_mps=costs.walk_speed_mps)
    park_xy = snapped.xy[n_units:]
    starts = _starts(net, graph, parkings, n_units, park_xy, park_s=costs.park_s, gate_park_s=costs.gate_park_s)
    src_node, src_cost, src_what = starts
    if not src_node:
        log.warning("routing: no gate riders may use and no rider parking; no routes")
        return out, {}
    mat, source = graph.matrix(np.asarray(src_node), np.asarray(src_cost))
    cost, pred = dijkstra(mat, directed=True, indices=source, return_predecessors=True)
    first_of = {node: i for i, node in enumerate(src_node)}  # start node -> source row

    def parking_at(what: tuple[str, str]) -> str:
        """Parking at a gate: the rider parking right there, if any."""
        if what[0] != "gate_park" or not len(parkings):
            return ""
        d = np.hypot(*(park_xy - net.node_xy[net.gate_node[what[1]]]).T)
        return str(parkings["id"].iloc[int(d.argmin())]) if d.min() <= costs.gate_parking_m else ""

    for i, uid in enumerate(units["id"]):
        spur = graph.point_spur[i]
        if spur < 0 or not np.isfinite(cost[graph.walk(spur)]):
            log.info("routing: unit %s cannot be reached from any gate riders may use", uid)
            continue
        chain = _chain(pred, graph.walk(spur), source)
        k = first_of.get(chain[0])
        what = src_what[k] if k is not None else ("gate", "")
        out[uid] = graph.unit_route(
            uid,
            chain,
            what,
            float(cost[graph.walk(spur)]),
            parking_id=parking_at(what),
            start_s=float(src_cost[k]) if k is not None else 0.0,
        )
    if not runners_up:
        return out, {}
    return out, _runners_up(graph, mat, starts, units["id"].tolist(), out, parking_at)


def _runners_up(graph: _LayeredGraph, mat, starts, unit_ids: list[str], best: dict, parking_at) -> dict[str, UnitRoute]:
    """Per unit door, the cheapest route whose entry gate differs from the best route's (none if every way in
    goes through that gate)."""
    src_node, src_cost, src_what = starts
    nodes = np.asarray(src_node)
    dist, pred = dijkstra(mat, directed=True, indices=nodes, return_predecessors=True)
    total = dist + np.asarray(src_cost, dtype=float)[:, None]
    out: dict[str, UnitRoute] = {}
    for i, uid in enumerate(unit_ids):
        chosen = best.get(uid)
        spur = graph.point_spur[i]
        if chosen is None or spur < 0:
            continue
        target = graph.walk(spur)
        for k in np.argsort(total[:, target], kind="stable")[:_MAX_TRIES].tolist():
            kind, ref = src_what[k]
            if not np.isfinite(total[k, target]) or (kind != "parking" and ref == chosen.gate_id):
                continue
            chain = _chain(pred[k], target, -1)
            route = graph.unit_route(
                uid,
                chain,
                src_what[k],
                float(total[k, target]),
                parking_id=parking_at(src_what[k]),
                start_s=float(src_cost[k]),
            )
            if route.gate_id and route.gate_id != chosen.gate_id:
                out[uid] = route
                break
    return out


def _starts(
    net: Network,
    graph: _LayeredGraph,
    parkings,
    n_units: int,
    park_xy: np.ndarray,
    *,
    park_s: float,
    gate_park_s: float,
) -> tuple[list[int], list[float], list[tuple[str, str]]]:
    """Where a rider may start, its cost and what it is: ride-layer gate hubs, walk-layer gate hubs, public parkings."""
    src_node: list[int] = []
    src_cost: list[float] = []
    src_what: list[tuple[str, str]] = []
    gate_ride, gate_walk = _gate_modes(net)
    for gid, hub in net.gate_node.items():
        if gate_ride.get(gid):
            src_node.append(graph.ride(hub))
            src_cost.append(0.0)
            src_what.append(("gate", gid))
        if gate_walk.get(gid):
            src_node.append(graph.walk(hub))
            src_cost.append(gate_park_s)
            src_what.append(("gate_park", gid))
    park_zone = net.zone_of_xy(park_xy) if len(parkings) else np.zeros(0, dtype=np.int64)
    for k, (fid, zone) in enumerate(zip(parkings["id"], park_zone)):
        node = graph.point_spur[n_units + k]
        if node >= 0 and zone < 0:
            src_node.append(graph.walk(node))
            src_cost.append(park_s)
            src_what.append(("parking", fid))
    return src_node, src_cost, src_what


def _gate_modes(net: Network) -> tuple[dict[str, bool], dict[str, bool]]:
    """Whether each gate's connectors let riders ride / walk through."""
    ride: dict[str, bool] = {}
    walk: dict[str, bool] = {}
    if not len(net.edge_gate_id):
        return ride, walk
    conn = np.flatnonzero(net.edge_gate_id != "")
    for e in conn.tolist():
        gid = net.edge_gate_id[e]
        ride[gid] = ride.get(gid, False) or bool(net.edge_ride[e])
        walk[gid] = walk.get(gid, False) or bool(net.edge_walk[e])
    return ride, walk


def _chain(pred: np.ndarray, node: int, source: int) -> list[int]:
    chain = [node]
    while True:
        p = int(pred[chain[-1]])
        if p < 0 or p == source:
            break
        chain.append(p)
    chain.reverse()
    return chain


class _LayeredGraph:
    """The network with points inserted, doubled into a ride and a walk layer."""

    def __init__(self, net: Network, snapped, *, ride_speed_mps: float, walk_speed_mps: float) -> None:
        self.net = net
        self.snapped = snapped
        self.v_ride = ride_speed_mps
        self.v_walk = walk_speed_mps
        n0 = net.n_nodes
        npts = len(snapped)
        self.n_local = n0 + 2 * npts
        # pieces: every network edge, split where points sit on it (the one splitting, see network.snap)
        pieces = split_edges(net, snapped)
        self.point_on = pieces.on_node
        self.point_spur = np.where(pieces.on_node >= 0, n0 + npts + np.arange(npts), -1)
        self.a, self.b, self.orig, self.o0, self.o1 = pieces.a, pieces.b, pieces.orig, pieces.o0, pieces.o1
        self.length = np.maximum(self.o1 - self.o0, 0.0)
        self.ride_ok = net.edge_ride[self.orig]
        self.walk_ok = net.edge_walk[self.orig]
        # where riders may get off: nodes of path pieces inside a compound
        zone = net.edge_zone[self.orig] if len(net.edge_zone) else np.full(len(self.orig), -1)
        is_conn = (net.edge_gate_id[self.orig] != "") if len(net.edge_gate_id) else np.zeros(len(self.orig), bool)
        inside = (zone >= 0) & ~is_conn
        self.dismount = np.zeros(self.n_local, dtype=bool)
        self.dismount[self.a[inside]] = True
        self.dismount[self.b[inside]] = True
        self.is_conn = is_conn
        self._pieces: dict[tuple[int, bool], np.ndarray] = {}
        self._lookup: dict[tuple[str, int, int], int] = {}
        # a piece per (layer, node pair): keep the shortest
        for layer, usable in (("ride", self.ride_ok), ("walk", self.walk_ok)):
            idx = np.flatnonzero(usable)
            order = idx[np.argsort(self.length[idx], kind="stable")]
            for k in order[::-1].tolist():  # shortest written last wins
                x, y = int(self.a[k]), int(self.b[k])
                self._lookup[(layer, x, y)] = k
                self._lookup[(layer, y, x)] = k

    def ride(self, node: int) -> int:
        return int(node)

    def walk(self, node: int) -> int:
        return int(node) + self.n_local

    def matrix(self, src_nodes: np.ndarray, src_cost: np.ndarray) -> tuple[sparse.csr_array, int]:
        """Directed CSR graph of both layers plus a virtual source (returned)."""
        M = self.n_local
        S = 2 * M
        rows, cols, w = [], [], []
        r = np.flatnonzero(self.ride_ok)
        rw = self.length[r] / self.v_ride + _EPS
        rows += [self.a[r], self.b[r]]
        cols += [self.b[r], self.a[r]]
        w += [rw, rw]
        k = np.flatnonzero(self.walk_ok)
        ww = self.length[k] / self.v_walk + _EPS
        rows += [self.a[k] + M, self.b[k] + M]
        cols += [self.b[k] + M, self.a[k] + M]
        w += [ww, ww]
        ok = self.point_spur >= 0
        sp, on = self.point_spur[ok], self.point_on[ok]
        sw = self.snapped.distance_m[ok] / self.v_walk + _EPS
        rows += [sp + M, on + M]
        cols += [on + M, sp + M]
        w += [sw, sw]
        dm = np.flatnonzero(self.dismount)
        rows += [dm]
        cols += [dm + M]
        w += [np.full(len(dm), _EPS)]
        # the virtual source: one edge to every allowed start, weighted by its start cost
        rows += [np.asarray(src_nodes) * 0 + S]
        cols += [np.asarray(src_nodes)]
        w += [np.asarray(src_cost) + _EPS]
        rows_a, cols_a, w_a = np.concatenate(rows), np.concatenate(cols), np.concatenate(w)
        # parallel edges would be summed by the constructor: keep the cheapest
        order = np.lexsort((w_a, cols_a, rows_a))
        rows_a, cols_a, w_a = rows_a[order], cols_a[order], w_a[order]
        keep = np.r_[True, (rows_a[1:] != rows_a[:-1]) | (cols_a[1:] != cols_a[:-1])]
        n = 2 * M + 1
        return sparse.csr_array((w_a[keep], (rows_a[keep], cols_a[keep])), shape=(n, n)), S

    def _piece_coords(self, k: int, forward: bool) -> np.ndarray:
        """Coordinates of piece ``k`` (read-only; cut once: the routes of a compound's units share their pieces)."""
        held = self._pieces.get((k, forward))
        if held is None:
            held = cut(self.net, int(self.orig[k]), float(self.o0[k]), float(self.o1[k]), forward=forward)
            held.setflags(write=False)
            self._pieces[(k, forward)] = held
        return held

    def unit_route(
        self,
        unit_id: str,
        chain: list[int],
        what: tuple[str, str],
        time_s: float,
        *,
        parking_id: str = "",
        start_s: float = 0.0,
    ) -> UnitRoute:
        """Turn a chain of layered nodes into legs."""
        kind, ref = what
        segments, entry_gate = _entry(self._segments(chain), kind, ref)
        cur_gate = ""
        if kind == "gate" and entry_gate and segments and not segments[0][2]:
            cur_gate = entry_gate
        if kind == "gate_park":
            cur_gate = ref
        legs = self._legs(segments, cur_gate)
        return UnitRoute(
            unit_id=unit_id,
            gate_id=entry_gate,
            entry="ride" if kind == "gate" else "walk",
            parking_id=ref if kind == "parking" else parking_id,
            legs=tuple(legs),
            time_s=time_s,
            start_s=start_s,
        )

    def _segments(self, chain: list[int]) -> list[tuple[str, np.ndarray, str, int]]:
        """The chain as runs of ``(mode, metric coords, gate crossed, zone)`` (zone ``-2``: a spur or connector)."""
        M = self.n_local
        spur0 = self.net.n_nodes + len(self.snapped)
        segments: list[tuple[str, np.ndarray, str, int]] = []
        zone_arr = self.net.edge_zone if len(self.net.edge_zone) else None
        for x, y in zip(chain[:-1], chain[1:]):
            lx, ly = x % M, y % M
            if lx == ly:  # ride -> walk transfer
                continue
            mode = "ride" if x < M else "walk"
            k = self._lookup.get((mode, lx, ly))
            if k is None:  # a spur: straight between the point and its snapped position
                spur = lx if lx >= spur0 else ly
                p0, p1 = self.snapped.xy[spur - spur0], self.snapped.snapped_xy[spur - spur0]
                segments.append((mode, np.vstack([p0, p1]) if spur == lx else np.vstack([p1, p0]), "", -2))
                continue
            gate = self.net.edge_gate_id[self.orig[k]] if self.is_conn[k] else ""
            zone = int(zone_arr[self.orig[k]]) if zone_arr is not None and not self.is_conn[k] else -2
            segments.append((mode, self._piece_coords(k, int(self.a[k]) == lx), gate, zone))
        return segments

    def _legs(self, segments: list[tuple[str, np.ndarray, str, int]], cur_gate: str) -> list[Leg]:
        """Runs of one mode joined into legs (a walk leg starts again at each gate it passes)."""
        legs: list[Leg] = []
        cur_mode: str | None = None
        cur_xy: list[np.ndarray] = []
        for mode, xy, gate, _zone in segments:
            if cur_mode is not None and (mode != cur_mode or (gate and mode == "walk" and cur_gate != gate)):
                self._flush(legs, cur_mode, cur_xy, cur_gate)
                cur_xy, cur_gate = [], ""
            if gate and not cur_xy:
                cur_gate = gate  # (riding through a second gate stays one ride leg)
            cur_mode = mode
            cur_xy.append(xy)
        self._flush(legs, cur_mode, cur_xy, cur_gate)
        return legs

    def _flush(self, legs: list[Leg], mode: str | None, parts: list[np.ndarray], gate: str) -> None:
        """Append the leg of ``parts`` (consecutive duplicate points dropped) unless it is empty."""
        if mode is None or not parts:
            return
        xy = np.vstack(parts)
        keep = np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]
        xy = xy[keep]
        if len(xy) < 2:
            xy = np.vstack([xy, xy])
        length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
        if length <= 0 and legs and not gate:
            return
        geom = self.net.to_wgs84(shapely.LineString(xy))
        legs.append(Leg(mode=mode, geometry=geom, length_m=length, gate_id=gate, steps=route_steps(xy)))


def _entry(segments: list, kind: str, ref: str) -> tuple[list, str]:
    """The entry gate (the first gate after the last stretch on public ground) and the segments from where the route
    starts.

    Riding before the entry gate is the rider's own way: a ride-in route
    starts at the gate.
    """
    last_public = max((i for i, s in enumerate(segments) if s[3] == -1), default=-1)
    entry_gate = next((s[2] for s in segments[last_public + 1 :] if s[2]), "")
    if not entry_gate and kind in ("gate", "gate_park") and last_public < 0:
        entry_gate = ref
    if kind == "gate" and entry_gate:
        idx = next((i for i, s in enumerate(segments) if s[2] == entry_gate and i > last_public), None)
        if idx is not None:
            segments = segments[idx:]
    return segments, entry_gate


# ---------------------------------------------------------------------------
# turn-by-turn
# ---------------------------------------------------------------------------
def route_steps(
    xy: np.ndarray, *, simplify_m: float = 2.0, turn_deg: float = 35.0, short_m: float = 6.0
) -> tuple[tuple[str, float], ...]:
    """Turn instructions along a metric polyline.

    Parameters
    ----------
    xy
        ``(n, 2)`` coordinates in metres, in travel order.
    simplify_m
        Wiggles smaller than this are ignored.
    turn_deg
        Bends sharper than this are turns.
    short_m
        A stretch shorter than this between two bends merges them (a jog).

    Returns
    -------
    tuple
        ``(turn, metres)``: go ``metres`` then ``turn``; the last turn is
        ``"arrive"``.

    Examples
    --------
    >>> route_steps(np.array([[0, 0], [0, 120], [45, 120]]))
    (('right', 120.0), ('arrive', 45.0))
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    line = shapely.LineString(xy) if len(xy) >= 2 else None
    if line is None or line.length == 0:
        return (("arrive", 0.0),)
    pts = shapely.get_coordinates(line.simplify(simplify_m, preserve_topology=False))
    seg = np.diff(pts, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    keep = lengths > 0
    seg, lengths = seg[keep], lengths[keep]
    heading = np.degrees(np.arctan2(seg[:, 1], seg[:, 0]))
    turns = (heading[1:] - heading[:-1] + 180.0) % 360.0 - 180.0  # >0: left (counter-clockwise)
    steps: list[list] = []
    run = lengths[0]
    pending = 0.0
    for i, angle in enumerate(turns, start=1):
        pending += angle
        if lengths[i] < short_m and i < len(lengths) - 1:
            run += lengths[i]
            continue
        if abs(pending) >= turn_deg:
            steps.append([_turn_name(pending), run])
            run = 0.0
        pending = 0.0
        run += lengths[i]
    steps.append(["arrive", run])
    return tuple((t, float(round(d, 1))) for t, d in steps)


def _turn_name(angle: float) -> str:
    side = "left" if angle > 0 else "right"
    a = abs(angle)
    if a >= 150:
        return "uturn"
    if a < 60:
        return f"slight_{side}"
    return side


#: route step words by language (from the catalogue, :mod:`ridermap.i18n`, spaces ``turn`` and ``route``)
_TURN_TEXT = {lang: i18n.words("turn", lang) for lang in i18n.LANGUAGES}
_TEXT = {lang: i18n.words("route", lang) for lang in i18n.LANGUAGES}


def round_m(distance_m: float) -> int:
    """Distances as riders read them: to 5 m below 100 m, to 10 m above.

    >>> round_m(123), round_m(47), round_m(1), round_m(0)
    (120, 45, 5, 0)
    """
    if distance_m <= 0:
        return 0
    step = 5 if distance_m < 100 else 10
    return int(max(step, step * round(distance_m / step)))


def round_min(seconds: float) -> int:
    """Minutes as riders read them: whole minutes, rounded up, at least 1.

    >>> round_min(1), round_min(60), round_min(61), round_min(0)
    (1, 1, 2, 0)
    """
    if seconds <= 0:
        return 0
    return max(1, math.ceil(seconds / 60.0 - 1e-9))


def describe(
    route: UnitRoute,
    *,
    lang: str,
    gate_names: dict[str, str],
    parking_names: dict[str, str],
    destination: str,
    detail_m: float = 40.0,
    signs: dict[tuple[int, int], str] | None = None,
) -> list[str]:
    """Turn-by-turn text of a route, a few lines in Chinese or English.

    Parameters
    ----------
    route
        The route.
    lang
        ``"zh"`` or ``"en"``.
    gate_names, parking_names
        Id -> display name (data, not escaped: escape when rendering).
    destination
        What the rider arrives at, e.g. ``"7号楼2单元"``.
    detail_m
        Legs shorter than this get no turns, just their length.
    signs
        ``(leg, step) -> sign post id`` of the junction signs at the turns
        (:func:`ridermap.analysis.signs.signs_at_turns`): the line names the sign.

    Returns
    -------
    list of str
        e.g. ``["从南门骑行进入", "直行约120米，右转", "骑行约45米后停车", "步行约10米到达7号楼2单元"]``.
    """
    if lang not in _TEXT:
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    text, turn = _TEXT[lang], _TURN_TEXT[lang]
    lines: list[str] = []
    if route.entry == "walk":
        if route.parking_id:
            fallback = "骑手停车点" if lang == "zh" else "the rider parking"
            lines.append(text["park_at"].format(name=parking_names.get(route.parking_id) or fallback))
        elif route.gate_id:
            lines.append(text["park_outside"].format(gate=gate_names.get(route.gate_id, route.gate_id)))
    n_legs = len(route.legs)
    for li, leg in enumerate(route.legs):
        last = li == n_legs - 1
        gate = gate_names.get(leg.gate_id, leg.gate_id) if leg.gate_id else ""
        if gate:
            lines.append(text["ride_in" if leg.mode == "ride" else "walk_in"].format(gate=gate))
        steps = leg.steps if leg.length_m >= detail_m and leg.steps else (("arrive", leg.length_m),)
        for si, (t, d) in enumerate(steps):
            dist = round_m(d)
            if t != "arrive":
                if si == 0 and gate and d <= 10:
                    lines.append(text["after_gate"].format(turn=turn[t]))
                elif signs and (li, si) in signs:
                    lines.append(text["sign_turn"].format(d=dist, turn=turn[t], sign=signs[(li, si)]))
                else:
                    lines.append(text["straight_turn"].format(d=dist, turn=turn[t]))
            elif last:
                key = "arrive_ride" if leg.mode == "ride" else "arrive_walk"
                lines.append(
                    text[key].format(d=dist, dest=destination) if dist else text["arrive"].format(dest=destination)
                )
            elif leg.mode == "ride":
                lines.append(text["ride_park"].format(d=dist) if dist else text["park"])
            elif dist:
                nxt = route.legs[li + 1].gate_id
                lines.append(
                    text["walk_to_gate"].format(d=dist, gate=gate_names.get(nxt, nxt))
                    if nxt
                    else text["walk"].format(d=dist)
                )
    return lines


# ---------------------------------------------------------------------------
# nearest facilities
# ---------------------------------------------------------------------------
def nearest_facilities(
    bundle: Bundle, *, network: Network | None = None, kinds: tuple[str, ...] = NEAREST_KINDS
) -> pd.DataFrame:
    """Nearest facility of each kind to each unit door, by walking path distance.

    Parameters
    ----------
    bundle
        Units and facilities (facilities outside the compound count too).
    network
        The network of ``bundle`` if already built.
    kinds
        Facility kinds to look for (see :data:`ridermap.model.schema.FACILITY_KINDS`).

    Returns
    -------
    pandas.DataFrame
        ``unit_id``, ``kind``, ``facility_id``, ``distance_m``; only kinds
        reachable from the door appear.
    """
    cols = ["unit_id", "kind", "facility_id", "distance_m"]
    unknown = set(kinds) - set(FACILITY_KINDS)
    if unknown:
        raise ValueError(f"unknown facility kinds {sorted(unknown)} (known: {', '.join(FACILITY_KINDS)})")
    units, fac = bundle.units, bundle.facilities
    present = [k for k in kinds if (fac["kind"] == k).any()]
    if units.empty or not present or bundle.paths.empty:
        return pd.DataFrame(columns=cols)
    net = network if network is not None else network_from_bundle(bundle)
    frames = []
    for k, (dist, ids) in nearest_by_kind(net, units.geometry, fac, present, mode="walk").items():
        ok = np.isfinite(dist) & (ids != "")
        frames.append(
            pd.DataFrame(
                {
                    "unit_id": units["id"].to_numpy()[ok],
                    "kind": k,
                    "facility_id": ids[ok],
                    "distance_m": dist[ok],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    return out.sort_values(["unit_id", "distance_m"], kind="stable").reset_index(drop=True)
