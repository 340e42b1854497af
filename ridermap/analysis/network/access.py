"""Who may go where: rider rules laid over a :class:`~.topology.Topology` as edge masks.

A :class:`Network` is a topology plus, per edge, whether riders may ride
and walk it under one *time plan*:

- ``"regular"``: every rule applies (inside the hours of rules with hours);
- ``"off_hours"``: outside those hours: gates and compounds whose rider rule
  has hours become ``walk`` (riders park and walk); locked gates stay locked.

A gate with ``rider_access == "ride"`` joins riding and walking, ``"walk"``
joins walking only, ``"none"`` or ``locked`` joins nothing. A compound whose
own ``rider_access`` is ``walk`` (or ``none``) caps its gates at that. A gate
whose rule is ``"unknown"`` (待核实, e.g. an inferred gate candidate) joins
walking only: riders park there and walk. A compound rule ``"unknown"`` does
not restrict its gates. Path edges keep their path's own access (``rideable``,
motorways not walkable, ``access=no`` closed) in every plan.

Masks are cheap (two boolean arrays); the topology under them is shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ridermap.errors import ConfigError

from .topology import Topology, topology_from_arrays, topology_from_bundle

__all__ = ["MODES", "PLANS", "Network", "gate_access", "has_hours", "network_from_bundle", "network_from_arrays"]

MODES = ("ride", "walk")
#: time plans: every rule applies / outside the hours of rules that have hours
PLANS = ("regular", "off_hours")
_ACCESS_RANK = {"none": 0, "walk": 1, "ride": 2}
#: a gate whose rule is not known (``unknown``, 待核实) is usable on foot only:
#: riders park at the gate and walk in
_GATE_ACCESS_RANK = {**_ACCESS_RANK, "unknown": 1}
#: a compound whose rule is not known does not restrict its gates
_COMMUNITY_ACCESS_RANK = {**_ACCESS_RANK, "unknown": 2}


def has_hours(value) -> bool:
    """Whether a rule's hours text says anything (the rule then has an off-hours plan)."""
    return bool(str(value or "").strip())


def gate_access(gates, communities, *, plan: str = "regular") -> tuple[np.ndarray, np.ndarray]:
    """Whether each gate lets riders ride / walk through under ``plan``.

    Parameters
    ----------
    gates, communities
        The bundle's layers (``rider_access``, ``locked``, ``hours``;
        ``rider_access``, ``rider_hours``).
    plan
        One of :data:`PLANS`.

    Returns
    -------
    ride, walk
        One bool per gate row.
    """
    if plan not in PLANS:
        raise ConfigError(f"network: plan must be one of {', '.join(PLANS)}, got {plan!r}")
    gate_rule = gates["rider_access"].to_numpy(dtype=object).copy()
    comm_rule = dict(zip(communities["id"], communities["rider_access"]))
    if plan == "off_hours":
        gate_rule[gates["hours"].map(has_hours).to_numpy(dtype=bool)] = "walk"
        comm_rule.update({cid: "walk" for cid, h in zip(communities["id"], communities["rider_hours"]) if has_hours(h)})
    ride = np.zeros(len(gates), dtype=bool)
    walk = np.zeros(len(gates), dtype=bool)
    for i, (cid, access, locked) in enumerate(zip(gates["community_id"], gate_rule, gates["locked"])):
        rank = min(_GATE_ACCESS_RANK.get(access, 0), _COMMUNITY_ACCESS_RANK.get(comm_rule.get(cid, "ride"), 2))
        ride[i] = not locked and rank >= 2
        walk[i] = not locked and rank >= 1
    return ride, walk


def plan_differs(gates, communities) -> bool:
    """Whether any gate or compound rule has hours (so ``off_hours`` is a plan of its own)."""
    return bool(gates["hours"].map(has_hours).any() or communities["rider_hours"].map(has_hours).any())


@dataclass(frozen=True, eq=False)
class Network:
    """A :class:`~.topology.Topology` with the rider rules of one time plan.

    Every topology attribute (``node_xy``, ``edge_u`` ...) reads through;
    ``edge_ride`` / ``edge_walk`` say whether riders may ride / walk each edge.
    """

    topology: Topology
    edge_ride: np.ndarray
    edge_walk: np.ndarray
    plan: str = "regular"

    @classmethod
    def of(cls, topology: Topology, gate_ids, gate_ride, gate_walk, *, plan: str = "regular") -> Network:
        """The network of ``topology`` with gate connectors open as ``gate_ride`` / ``gate_walk`` say (by gate id)."""
        ride_of = dict(zip(gate_ids, np.asarray(gate_ride, dtype=bool).tolist()))
        walk_of = dict(zip(gate_ids, np.asarray(gate_walk, dtype=bool).tolist()))
        conn = topology.edge_gate_id != ""
        ids = topology.edge_gate_id[conn]
        ride = topology.path_ride.copy()
        walk = topology.path_walk.copy()
        ride[conn] = [ride_of.get(g, False) for g in ids]
        walk[conn] = [walk_of.get(g, False) for g in ids]
        return cls(topology, ride, walk, plan)

    def mode_mask(self, mode: str) -> np.ndarray:
        """Boolean mask of the edges usable in ``mode`` (``ride`` or ``walk``)."""
        if mode == "ride":
            return self.edge_ride
        if mode == "walk":
            return self.edge_walk
        raise ConfigError(f"network: mode must be one of {', '.join(MODES)}, got {mode!r}")

    # -- the topology, read through ------------------------------------------
    crs = property(lambda self: self.topology.crs)
    node_xy = property(lambda self: self.topology.node_xy)
    edge_u = property(lambda self: self.topology.edge_u)
    edge_v = property(lambda self: self.topology.edge_v)
    edge_length_m = property(lambda self: self.topology.edge_length_m)
    edge_geometry = property(lambda self: self.topology.edge_geometry)
    edge_path_id = property(lambda self: self.topology.edge_path_id)
    edge_zone = property(lambda self: self.topology.edge_zone)
    edge_gate_id = property(lambda self: self.topology.edge_gate_id)
    gate_node = property(lambda self: self.topology.gate_node)
    zone_ids = property(lambda self: self.topology.zone_ids)
    zone_geometry = property(lambda self: self.topology.zone_geometry)
    n_nodes = property(lambda self: self.topology.n_nodes)
    n_edges = property(lambda self: self.topology.n_edges)
    _segments = property(lambda self: self.topology._segments)
    _midpoint_index = property(lambda self: self.topology._midpoint_index)
    _zones_with_edges = property(lambda self: self.topology._zones_with_edges)

    def to_metric(self, points) -> np.ndarray:
        """``(n, 2)`` metric coordinates of WGS84 points (see :meth:`Topology.to_metric`)."""
        return self.topology.to_metric(points)

    def to_wgs84(self, geom):
        """Transform shapely geometry (or array) from metres to WGS84."""
        return self.topology.to_wgs84(geom)

    def zone_of_xy(self, xy: np.ndarray) -> np.ndarray:
        """Zone (compound index, ``-1`` public) of metric points."""
        return self.topology.zone_of_xy(xy)


def network_from_bundle(bundle, *, plan: str = "regular", topology: Topology | None = None, **options) -> Network:
    """The path network of a bundle under one time plan.

    Builds the topology (:func:`~.topology.topology_from_bundle`, with
    ``options``) unless ``topology`` is given; several plans over one
    topology cost one construction (see :class:`ridermap.analysis.context.Analysis`).

    Raises
    ------
    ValidationError
        If the bundle has no usable path.
    """
    topo = topology if topology is not None else topology_from_bundle(bundle, **options)
    ride, walk = gate_access(bundle.gates, bundle.communities, plan=plan)
    return Network.of(topo, bundle.gates["id"], ride, walk, plan=plan)


def network_from_arrays(lines, *, gate_ids: tuple[str, ...] = (), gate_ride=None, gate_walk=None, **options) -> Network:
    """A :class:`Network` from plain arrays (:func:`~.topology.topology_from_arrays` plus gate rules).

    ``gate_ride`` / ``gate_walk``: whether each gate joins riding / walking
    (default: neither).
    """
    topo = topology_from_arrays(lines, gate_ids=tuple(gate_ids), **options)
    n = len(gate_ids)
    ride = np.zeros(n, dtype=bool) if gate_ride is None else gate_ride
    walk = np.zeros(n, dtype=bool) if gate_walk is None else gate_walk
    return Network.of(topo, gate_ids, ride, walk)
