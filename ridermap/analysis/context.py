"""The analysis context of a build: the path network built once and shared.

One :class:`Analysis` is made per build from the district bundle. Its path
topology (:func:`ridermap.analysis.network.topology_from_bundle`) is built
the first time anything asks for it and then serves everyone:

- validation (reachability of unit doors), :func:`ridermap.analysis.validate.validate`;
- gap distances and siting, :func:`ridermap.analysis.gaps.gap_report`;
- rider routes and nearest facilities of every compound,
  :meth:`Analysis.route_plan` (the site renderer receives the context).

Rider rules are masks over that topology, one per time plan
(``regular``; ``off_hours`` when a rule has hours), see
:mod:`ridermap.analysis.network.access`.

For per-compound tasks that run in other processes (or on Dask workers),
:meth:`Analysis.for_compound` cuts a compound's *sub-network view* out of the
district topology: the edges of the paths in the compound's view (its own
paths and the streets around it) and the connectors of its gates, with both
plans' masks. It is small to pickle (it grows with the compound, not with the
district) and is never split again.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pandas as pd
import shapely

from ridermap.analysis.network import (
    PLANS,
    Network,
    Topology,
    gate_access,
    topology_from_bundle,
)
from ridermap.analysis.network.access import plan_differs
from ridermap.errors import ValidationError
from ridermap.model.bundle import Bundle

log = logging.getLogger(__name__)

__all__ = ["Analysis"]


class Analysis:
    """The path network of one district (or one compound's view of it), built once, with its time plans.

    Parameters
    ----------
    bundle
        The district bundle.
    topology_options
        Passed to :func:`~ridermap.analysis.network.topology_from_bundle`
        (``gate_snap_m``, ``gate_link_m``, ``touch_m``).

    Notes
    -----
    The topology is built lazily, on the first :meth:`network`; an error in
    building it (e.g. no path at all) is kept and raised to every later
    caller, so it is never attempted twice.
    """

    def __init__(self, bundle: Bundle | None, **topology_options) -> None:
        self._bundle = bundle
        self._options = topology_options
        self._topology: Topology | None = None
        self._error: Exception | None = None
        self._networks: dict[str, Network] = {}
        self._edges_of: tuple[dict, dict] | None = None
        self._signs: dict[str, tuple[Bundle, object]] = {}

    # -- the district ----------------------------------------------------------
    @property
    def topology(self) -> Topology:
        """The path topology (built on first use, once)."""
        if self._topology is None:
            if self._error is not None:
                raise self._error
            if self._bundle is None:
                raise ValidationError("network: this analysis context has no network")
            try:
                self._topology = topology_from_bundle(self._bundle, **self._options)
            except Exception as exc:  # kept: every later caller gets it, nobody builds twice
                self._error = exc
                raise
        return self._topology

    def plans(self) -> tuple[str, ...]:
        """The time plans of this context: ``regular``, plus ``off_hours`` when a rule has hours."""
        if self._bundle is None:
            return tuple(p for p in PLANS if p in self._networks)
        return PLANS if plan_differs(self._bundle.gates, self._bundle.communities) else PLANS[:1]

    def network(self, plan: str = "regular") -> Network:
        """The network under ``plan`` (``regular`` or ``off_hours``): the shared topology with that plan's masks."""
        net = self._networks.get(plan)
        if net is None:
            if self._bundle is None:
                raise ValidationError(f"network: no {plan} plan in this compound's context")
            topo = self.topology
            gates = self._bundle.gates
            ride, walk = gate_access(gates, self._bundle.communities, plan=plan)
            net = self._networks[plan] = Network.of(topo, gates["id"], ride, walk, plan=plan)
        return net

    # -- one compound ----------------------------------------------------------
    def for_compound(self, view: Bundle) -> Analysis:
        """A compound's sub-network view, cheap to pickle for a worker.

        Parameters
        ----------
        view
            The compound's view (:meth:`Bundle.community`): its paths, gates
            and the streets around it.

        Returns
        -------
        Analysis
            A context without bundle whose networks (every plan of ``view``)
            are the district's edges of ``view``'s paths and gates.
        """
        if self._bundle is None:
            return self
        topo = self.topology
        by_path, by_gate = self._edge_index()
        gate_ids = list(view.gates["id"])
        parts = [by_path.get(p, ()) for p in dict.fromkeys(view.paths["id"])] + [by_gate.get(g, ()) for g in gate_ids]
        edges = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]) if parts else np.zeros(0, np.int64)
        sub = topo.subset(edges, gate_ids=gate_ids, zone_ids=tuple(view.communities["id"]))
        out = Analysis(None)
        out._topology = sub
        for plan in PLANS if plan_differs(view.gates, view.communities) else PLANS[:1]:
            ride, walk = gate_access(view.gates, view.communities, plan=plan)
            out._networks[plan] = Network.of(sub, gate_ids, ride, walk, plan=plan)
        return out

    def _edge_index(self) -> tuple[dict, dict]:
        """Edge positions by path id and by gate id (built once; a compound's edges are then a lookup)."""
        if self._edges_of is None:
            topo = self.topology
            by_path = pd.Series(topo.edge_path_id).groupby(topo.edge_path_id, sort=False).indices
            by_gate = pd.Series(topo.edge_gate_id).groupby(topo.edge_gate_id, sort=False).indices
            by_path.pop("", None)
            by_gate.pop("", None)
            self._edges_of = (by_path, by_gate)
        return self._edges_of

    def digest(self) -> str:
        """A hash of the networks (topology and each plan's masks): what routes depend on beyond a compound's view.

        A compound's sub-network is cut from the district's, so a change
        outside its view (a neighbour's fence or a street crossing) can change
        it; incremental builds key the site pages with this.
        """
        topo = self.topology
        h = hashlib.sha256()
        for arr in (
            topo.node_xy,
            topo.edge_u,
            topo.edge_v,
            topo.edge_length_m,
            topo.edge_zone,
            topo.path_ride,
            topo.path_walk,
            shapely.get_coordinates(topo.edge_geometry),
            shapely.get_num_coordinates(topo.edge_geometry),
        ):
            h.update(np.ascontiguousarray(arr).tobytes())
        for texts in (topo.edge_path_id, topo.edge_gate_id, topo.zone_ids, sorted(topo.gate_node.items())):
            h.update("\x1f".join(map(str, texts)).encode())
        h.update(b"".join(shapely.to_wkb(topo.zone_geometry)) if len(topo.zone_geometry) else b"")
        for plan in PLANS:
            if plan in self._networks or self._bundle is not None and plan in self.plans():
                net = self.network(plan)
                h.update(plan.encode() + net.edge_ride.tobytes() + net.edge_walk.tobytes())
        return h.hexdigest()

    # -- routes ----------------------------------------------------------------
    def route_plan(self, view: Bundle, **options):
        """Routes (every time plan) and nearest facilities of the units of a compound view.

        See :func:`ridermap.analysis.routing.plan_routes`; ``options`` are its
        speeds and costs.
        """
        from ridermap.analysis.routing import plan_routes

        if view.units.empty or view.paths.empty:
            return plan_routes(view, **options)
        ctx = self.for_compound(view)
        plans = ctx.plans()
        return plan_routes(
            view,
            network=ctx.network("regular"),
            off_hours_network=ctx.network("off_hours") if "off_hours" in plans else None,
            **options,
        )

    # -- signs -----------------------------------------------------------------
    def sign_plan(self, view: Bundle, community_id: str):
        """The compound's signage plan (:func:`ridermap.analysis.signs.sign_plan`), made once per context and view.

        The posters' sign layer, the site's route steps ("at sign J3") and the
        signs output of one compound share it: a build makes it once per
        compound, always on the compound's sub-network (:meth:`for_compound`),
        so the ``site`` and ``signs`` commands name the same signs as ``build``.
        An error is kept and raised to every later caller of the same view.
        """
        hit = self._signs.get(community_id)
        if hit is not None and hit[0] is view:
            result = hit[1]
        else:
            from ridermap.analysis.signs import sign_plan

            try:
                result = sign_plan(view, community_id, analysis=self.for_compound(view))
            except Exception as exc:  # kept, like the topology's: nobody plans twice
                result = exc
            self._signs[community_id] = (view, result)
        if isinstance(result, Exception):
            raise result
        return result
