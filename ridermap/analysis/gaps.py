"""Planner gaps: how far every unit door is from each kind of rider facility.

For every door and facility kind, the network distance (riding and walking)
to the nearest facility of that kind and its id; a gap flag where the
distance of the kind's own mode exceeds the target; and summaries per
compound and for the district.

Conventions
-----------
- A *door* is a unit door; a building of a compound without any unit gets
  one door at its representative point (thin OSM data), marked
  ``door == "building"``.
- Each kind is judged in one mode (:data:`KIND_MODE`): riders *ride* to
  chargers and battery-swap cabinets; rider parking, lockers, toilets, rider
  stations and water are *walked* to. Both distances are kept.
- ``parcel_locker`` gaps count only in compounds closed to riders (lockers are
  the answer where riders may not ride in).
- A compound is *closed to riders* when its ``rider_access`` is ``walk`` or
  ``none``, or it has gates and none of them may let riders ride in
  (unlocked, ``rider_access`` ``ride`` or ``unknown``). An ``unknown``
  rule (待核实) never closes a compound. It *has a locker* when a parcel
  locker belongs to it or stands within :data:`LOCKER_NEAR_M` of its outline.
- A compound is **no_gate** when it has no usable gate: none mapped or
  inferred, or every gate locked or ``rider_access == "none"`` (a gate of
  ``unknown`` rule is usable on foot). Its doors are not facility gaps: no
  path leaves the compound, so distances say nothing about facilities. Per
  door and kind, ``<kind>_status`` is one of ``ok``, ``gap``, ``no_gate``,
  ``not_applicable`` (no target for the kind, or lockers in a compound open
  to riders); distances of ``no_gate`` doors are ``NaN``. Summaries count
  ``no_gate_doors`` apart from gaps, and siting never tries to cover them.
- **Coverage** ``<kind>_coverage_pct`` = 100 × (assessed doors − doors in
  gap) / assessed doors, where *assessed doors* are the doors the kind
  applies to minus the ``no_gate`` doors (``NaN`` when none is assessed).
- Distances are ``inf`` where no path joins the door to any facility of
  that kind although the compound has a usable gate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from ridermap.analysis.network import Network, nearest_by_kind, network_from_bundle, snap
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import gate_usable
from ridermap.model.schema import CRS, FACILITY_KINDS
from ridermap.utm import utm_crs

log = logging.getLogger(__name__)

__all__ = [
    "KIND_MODE",
    "LOCKER_NEAR_M",
    "STATUSES",
    "GapReport",
    "doors",
    "compound_access",
    "unit_distances",
    "gap_report",
    "gap_kinds",
]

#: mode each facility kind is judged in
KIND_MODE: dict[str, str] = {
    "charger": "ride",
    "battery_swap": "ride",
    "rider_parking": "walk",
    "parcel_locker": "walk",
    "toilet": "walk",
    "rider_station": "walk",
    "drinking_water": "walk",
    "transfer_bicycle": "walk",
}
#: kinds whose gaps count only in compounds closed to riders
CLOSED_ONLY_KINDS = ("parcel_locker",)
#: per-door status of a kind: within target, beyond it, compound without usable gate, kind not judged here
STATUSES = ("ok", "gap", "no_gate", "not_applicable")
#: a parcel locker this close to a compound's outline serves it
LOCKER_NEAR_M = 50.0


@dataclass(frozen=True)
class GapReport:
    """Distances, gap flags and summaries.

    Attributes
    ----------
    units
        One row per door (WGS84): ``id``, ``community_id``, ``building_id``,
        ``label``, ``door``, ``no_gate``; per kind ``<kind>_m`` (distance
        in the kind's mode), ``<kind>_ride_m``, ``<kind>_walk_m``,
        ``<kind>_id`` (nearest facility), ``<kind>_gap``, ``<kind>_status``
        (:data:`STATUSES`); and ``n_gaps``.
    communities
        One row per compound: access, gate counts, closed / locker / no_gate
        flags, door counts (``doors``, ``unit_doors``, ``building_doors``,
        ``no_gate_doors``, ``doors_with_gaps``) and, per kind with a target,
        ``<kind>_gaps`` and ``<kind>_coverage_pct``.
    district
        District totals (JSON-ready).
    kinds
        Kinds reported, in schema order.
    targets_m
        Target distance per kind.
    """

    units: gpd.GeoDataFrame
    communities: pd.DataFrame
    district: dict
    kinds: tuple[str, ...]
    targets_m: dict[str, float] = field(default_factory=dict)

    def gap_units(self, kind: str) -> gpd.GeoDataFrame:
        """Doors in gap for ``kind``."""
        return self.units[self.units[f"{kind}_gap"]]


def gap_kinds(bundle: Bundle, targets_m: dict[str, float]) -> tuple[str, ...]:
    """Kinds to report: those with a target or present in the data, in schema order."""
    present = set(bundle.facilities["kind"])
    return tuple(k for k in FACILITY_KINDS if k in targets_m or k in present)


def doors(bundle: Bundle) -> gpd.GeoDataFrame:
    """Unit doors, plus one door per compound building that has no unit.

    Returns
    -------
    GeoDataFrame
        ``id``, ``community_id``, ``building_id``, ``label``, ``door``
        (``unit`` or ``building``), points in WGS84.
    """
    units = bundle.units
    out = pd.DataFrame(
        {
            "id": units["id"],
            "community_id": units["community_id"],
            "building_id": units["building_id"],
            "label": units["label"],
            "door": "unit",
        }
    )
    geoms = list(units.geometry)
    b = bundle.buildings
    lone = b[~b["id"].isin(set(units["building_id"])) & (b["community_id"] != "")]
    if len(lone):
        out = pd.concat(
            [
                out,
                pd.DataFrame(
                    {
                        "id": lone["id"],
                        "community_id": lone["community_id"],
                        "building_id": lone["id"],
                        "label": lone["label"],
                        "door": "building",
                    }
                ),
            ],
            ignore_index=True,
        )
        geoms += list(lone.geometry.representative_point())
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geoms, crs=CRS)


def compound_access(bundle: Bundle) -> pd.DataFrame:
    """Per compound: gates, whether closed to riders, whether a locker serves it.

    Returns
    -------
    DataFrame
        ``id``, ``name``, ``rider_access``, ``gates``, ``ride_gates``,
        ``usable_gates``, ``no_gate``, ``closed_to_riders``, ``has_locker``.
    """
    comm = bundle.communities
    gates = bundle.gates
    rideable = (gates["rider_access"] == "ride") & ~gates["locked"]
    maybe_ride = gates["rider_access"].isin(("ride", "unknown")) & ~gates["locked"]
    usable = pd.Series(
        [gate_usable(rider_access=a, locked=k) for a, k in zip(gates["rider_access"], gates["locked"])],
        index=gates.index,
        dtype=bool,
    )

    def count(mask) -> pd.Series:
        return out["id"].map(gates[mask].groupby("community_id").size()).fillna(0).astype(int)

    out = pd.DataFrame({"id": comm["id"], "name": comm["name"], "rider_access": comm["rider_access"]})
    out["gates"] = count(pd.Series(True, index=gates.index))
    out["ride_gates"] = count(rideable)
    out["usable_gates"] = count(usable)
    out["no_gate"] = out["usable_gates"] == 0
    out["closed_to_riders"] = out["rider_access"].isin(("walk", "none")) | (
        (out["gates"] > 0) & (count(maybe_ride) == 0)
    )
    lockers = bundle.facilities[bundle.facilities["kind"] == "parcel_locker"]
    has = set(lockers["community_id"]) - {""}
    if len(lockers) and len(comm):
        metric = utm_crs(comm)
        near = gpd.sjoin(
            lockers[["geometry"]].to_crs(metric),
            comm[["id", "geometry"]].to_crs(metric),
            predicate="dwithin",
            distance=LOCKER_NEAR_M,
        )
        has |= set(near["id"])
    out["has_locker"] = out["id"].isin(has)
    return out.reset_index(drop=True)


def unit_distances(
    bundle: Bundle,
    *,
    network: Network | None = None,
    kinds: tuple[str, ...] | None = None,
    door_table: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Distance from every door to the nearest facility of each kind, riding and walking.

    Parameters
    ----------
    bundle
        The district (or one compound) bundle.
    network
        A prebuilt :class:`~ridermap.analysis.network.Network` of ``bundle``.
    kinds
        Facility kinds (default: every kind present).
    door_table
        Doors to measure (default :func:`doors`).

    Returns
    -------
    GeoDataFrame
        The door columns plus ``<kind>_ride_m``, ``<kind>_walk_m``,
        ``<kind>_ride_id``, ``<kind>_walk_id`` per kind.
    """
    table = doors(bundle) if door_table is None else door_table.reset_index(drop=True)
    kinds = (
        tuple(kinds) if kinds is not None else tuple(k for k in FACILITY_KINDS if k in set(bundle.facilities["kind"]))
    )
    out = table.copy()
    if len(table) == 0:
        for kind in kinds:
            for mode in ("ride", "walk"):
                out[f"{kind}_{mode}_m"] = pd.Series(dtype=float)
                out[f"{kind}_{mode}_id"] = pd.Series(dtype=str)
        return out
    net = network if network is not None else network_from_bundle(bundle)
    for mode in ("ride", "walk"):
        targets = snap(net, table.geometry, mode=mode)
        for kind, (dist, ids) in nearest_by_kind(net, targets, bundle.facilities, kinds, mode=mode).items():
            out[f"{kind}_{mode}_m"] = dist
            out[f"{kind}_{mode}_id"] = ids
    return out


def gap_report(
    bundle: Bundle,
    *,
    targets_m: dict[str, float] | None = None,
    config=None,
    network: Network | None = None,
    kinds: tuple[str, ...] | None = None,
) -> GapReport:
    """Distances, gap flags and summaries for every door of ``bundle``.

    Parameters
    ----------
    bundle
        The district bundle.
    targets_m
        Target distance per kind (default: ``config.targets_m``, else the
        config defaults).
    config
        A :class:`~ridermap.config.Config` (for ``targets_m``).
    network
        A prebuilt network of ``bundle``.
    kinds
        Kinds to report (default :func:`gap_kinds`).

    Returns
    -------
    GapReport
    """
    if targets_m is None:
        from ridermap.config import DEFAULT_TARGETS_M

        targets_m = dict(config.targets_m) if config is not None else dict(DEFAULT_TARGETS_M)
    kinds = tuple(kinds) if kinds is not None else gap_kinds(bundle, targets_m)
    access = compound_access(bundle)
    net = network if network is not None else (network_from_bundle(bundle) if len(bundle.paths) else None)
    table = doors(bundle)
    if net is None:
        from ridermap.errors import ValidationError

        raise ValidationError("gaps: layer 'paths' is empty; distances along paths need at least the streets")
    dist = unit_distances(bundle, network=net, kinds=kinds, door_table=table)
    units = _door_status(dist, access, kinds, targets_m)
    communities = _community_summary(units, access, kinds, targets_m)
    district = _district_summary(units, communities, kinds, targets_m)
    log.info(
        "gaps: %d doors, %d compounds, %d doors with at least one gap, %d doors in compounds without usable gate",
        len(units),
        len(communities),
        int((units["n_gaps"] > 0).sum()),
        int(units["no_gate"].sum()),
    )
    return GapReport(units=units, communities=communities, district=district, kinds=kinds, targets_m=dict(targets_m))


def _door_status(dist: gpd.GeoDataFrame, access: pd.DataFrame, kinds, targets_m) -> gpd.GeoDataFrame:
    """Per door: distances in each kind's mode, gap flags and statuses (see the module notes)."""
    closed = set(access.loc[access["closed_to_riders"], "id"])
    in_closed = dist["community_id"].isin(closed).to_numpy()
    no_gate = dist["community_id"].isin(set(access.loc[access["no_gate"], "id"])).to_numpy()
    units = dist[["id", "community_id", "building_id", "label", "door"]].copy()
    units["no_gate"] = no_gate
    gaps = np.zeros(len(units), dtype=np.int64)
    for kind in kinds:
        mode = KIND_MODE.get(kind, "walk")
        for col, src in (
            (f"{kind}_m", f"{kind}_{mode}_m"),
            (f"{kind}_ride_m", f"{kind}_ride_m"),
            (f"{kind}_walk_m", f"{kind}_walk_m"),
        ):
            units[col] = np.where(no_gate, np.nan, dist[src].to_numpy(dtype=float))
        units[f"{kind}_id"] = np.where(no_gate, "", dist[f"{kind}_{mode}_id"].to_numpy(dtype=object))
        applies = np.ones(len(units), dtype=bool) if kind in targets_m else np.zeros(len(units), dtype=bool)
        if kind in CLOSED_ONLY_KINDS:
            applies &= in_closed
        flag = applies & ~no_gate & ~(units[f"{kind}_m"].to_numpy() <= targets_m.get(kind, np.inf))
        units[f"{kind}_gap"] = flag
        units[f"{kind}_status"] = np.select([no_gate, ~applies, flag], ["no_gate", "not_applicable", "gap"], "ok")
        gaps += flag
    units["n_gaps"] = gaps
    return gpd.GeoDataFrame(units, geometry=dist.geometry.values, crs=CRS)


def _applies(kind: str, closed: pd.Series) -> pd.Series:
    return closed if kind in CLOSED_ONLY_KINDS else pd.Series(True, index=closed.index)


def _community_summary(units: gpd.GeoDataFrame, access: pd.DataFrame, kinds, targets_m) -> pd.DataFrame:
    out = access.copy()
    grouped = units.groupby("community_id")

    def count(mask) -> pd.Series:
        return out["id"].map(units[mask].groupby("community_id").size()).fillna(0).astype(int)

    out["doors"] = out["id"].map(grouped.size()).fillna(0).astype(int)
    out["unit_doors"] = count(units["door"] == "unit")
    out["building_doors"] = count(units["door"] == "building")
    out["no_gate_doors"] = count(units["no_gate"])
    out["doors_with_gaps"] = count(units["n_gaps"] > 0)
    assessed = out["doors"] - out["no_gate_doors"]
    for kind in kinds:
        if kind not in targets_m:
            continue
        n_gap = count(units[f"{kind}_gap"])
        applies = _applies(kind, out["closed_to_riders"])
        out[f"{kind}_gaps"] = n_gap.where(applies, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = 100.0 * (assessed - n_gap) / assessed
        out[f"{kind}_coverage_pct"] = pct.where(applies & (assessed > 0)).round(1)
    return out


def _district_summary(units: gpd.GeoDataFrame, communities: pd.DataFrame, kinds, targets_m) -> dict:
    closed = communities[communities["closed_to_riders"]]
    per_kind = {}
    closed_ids = set(closed["id"])
    no_gate = units["no_gate"].to_numpy(dtype=bool)
    for kind in kinds:
        d = units[f"{kind}_m"].to_numpy()
        entry = {
            "mode": KIND_MODE.get(kind, "walk"),
            "target_m": targets_m.get(kind),
            "reachable": int(np.isfinite(d).sum()),
            "median_m": float(np.round(np.median(d[np.isfinite(d)]), 1)) if np.isfinite(d).any() else None,
        }
        if kind in targets_m:
            scope = (
                units["community_id"].isin(closed_ids).to_numpy()
                if kind in CLOSED_ONLY_KINDS
                else np.ones(len(units), bool)
            )
            n = int((scope & ~no_gate).sum())
            gap = int(units[f"{kind}_gap"].sum())
            entry.update(
                {
                    "doors": n,
                    "gaps": gap,
                    "no_gate_doors": int((scope & no_gate).sum()),
                    "coverage_pct": round(100.0 * (n - gap) / n, 1) if n else None,
                }
            )
        per_kind[kind] = entry
    return {
        "doors": int(len(units)),
        "unit_doors": int((units["door"] == "unit").sum()),
        "building_doors": int((units["door"] == "building").sum()),
        "no_gate_doors": int(no_gate.sum()),
        "doors_with_gaps": int((units["n_gaps"] > 0).sum()),
        "compounds": int(len(communities)),
        "compounds_no_gate": sorted(communities.loc[communities["no_gate"], "id"]),
        "compounds_closed_to_riders": int(len(closed)),
        "closed_with_locker": sorted(closed.loc[closed["has_locker"], "id"]),
        "closed_without_locker": sorted(closed.loc[~closed["has_locker"], "id"]),
        "kinds": per_kind,
    }
