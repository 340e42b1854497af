"""The path network of a district: streets plus compound paths, joined at gates.

A small package along the stages of the work:

- :mod:`.topology`: where one can go. :func:`topology_from_bundle` splits
  the paths into edges (stages (a)–(f) in :mod:`.split`), cuts them at
  compound fences and joins the zones at gates: **once per build** (see
  :class:`ridermap.analysis.context.Analysis`).
- :mod:`.access`: who may go there. A :class:`Network` is a topology with
  the rider rules of one time plan (``regular`` or ``off_hours``) as edge
  masks (:func:`network_from_bundle`).
- :mod:`.snap`: points onto edges (:func:`snap`), the one implementation
  that inserts them into the edges (:func:`split_edges`) and cuts an edge
  between two offsets (:func:`cut`).
- :mod:`.search`: distances (:func:`nearest_distances`,
  :func:`nearest_by_kind`, :func:`distance_matrix`), reachability and routes,
  with :mod:`scipy.sparse.csgraph`.
- :mod:`.primitives`: segment search and intersections, shared by the above.

Everything is in the metric (UTM) CRS of the data, as plain arrays.
"""

from __future__ import annotations

from .access import (
    MODES,
    PLANS,
    Network,
    gate_access,
    network_from_arrays,
    network_from_bundle,
)
from .search import (
    Route,
    _augment,
    distance_matrix,
    nearest_by_kind,
    nearest_distances,
    nearest_distances_many,
    reachable_within_groups,
    route,
    routes,
)
from .snap import EdgePieces, Snapped, _concat, cut, snap, split_edges
from .topology import (
    Topology,
    constructions,
    topology_from_arrays,
    topology_from_bundle,
)

__all__ = [
    "Topology",
    "Network",
    "Snapped",
    "EdgePieces",
    "Route",
    "topology_from_bundle",
    "topology_from_arrays",
    "constructions",
    "network_from_bundle",
    "network_from_arrays",
    "gate_access",
    "snap",
    "split_edges",
    "cut",
    "nearest_distances",
    "nearest_distances_many",
    "nearest_by_kind",
    "reachable_within_groups",
    "distance_matrix",
    "route",
    "routes",
    "MODES",
    "PLANS",
    "_augment",
    "_concat",
]
