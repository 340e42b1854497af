"""Where new facilities would close most gaps: candidates, MCLP and LSCP on network distances.

Candidates are gate fronts (the public side of every gate open to riders),
path junctions, kerbside points on public rideable streets ("parking
edges"), and/or points the planner supplies. The cost matrix is the network
distance from each candidate to each door in gap, in the kind's mode
(:data:`ridermap.analysis.gaps.KIND_MODE`), never straight-line.

spopt's MCLP picks ``k`` sites covering the most doors in gap; LSCP the
fewest sites covering every door in gap that any candidate can cover. Doors
with identical coverage are merged into one weighted client first, which
keeps the integer programmes small without changing their optimum.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ridermap.analysis.gaps import KIND_MODE, GapReport
from ridermap.analysis.network import Network, distance_matrix, snap
from ridermap.errors import ValidationError
from ridermap.model.bundle import Bundle
from ridermap.model.schema import CRS

log = logging.getLogger(__name__)

__all__ = [
    "CANDIDATE_SOURCES",
    "SitingResult",
    "candidate_sites",
    "coverage",
    "solve_mclp",
    "solve_lscp",
    "propose_sites",
]

CANDIDATE_SOURCES = ("gate_front", "junction", "parking_edge")
#: kerbside candidates only on public rideable edges at least this long
_PARKING_EDGE_MIN_M = 10.0


@dataclass(frozen=True)
class SitingResult:
    """Proposed sites for one facility kind.

    Attributes
    ----------
    kind, radius_m
        The facility kind and its target distance.
    sites
        Chosen sites (WGS84): ``method`` (``mclp`` / ``lscp``), ``rank``,
        ``candidate_id``, ``source``, ``newly_covered`` (doors in gap this
        site reaches within the target), ``unit_ids`` (``;``-joined).
    gap_doors
        Doors in gap for this kind.
    coverable
        Of those, doors some candidate handed to the solvers reaches within the target.
    mclp_covered
        Doors in gap the ``k`` MCLP sites cover together.
    lscp_sites
        Sites LSCP needs to cover every coverable door (``0`` when none).
    """

    kind: str
    radius_m: float
    sites: gpd.GeoDataFrame
    gap_doors: int
    coverable: int
    mclp_covered: int
    lscp_sites: int


def candidate_sites(
    bundle: Bundle, network: Network, *, sources: tuple[str, ...] = CANDIDATE_SOURCES, user=None
) -> gpd.GeoDataFrame:
    """Candidate sites for new facilities.

    Parameters
    ----------
    bundle
        The district bundle.
    network
        Its network.
    sources
        Which generated candidates to include: ``gate_front`` (each gate open
        to riders or walkers), ``junction`` (network nodes where three or more
        paths meet), ``parking_edge`` (midpoints of public rideable edges).
    user
        Extra candidate points (GeoSeries / GeoDataFrame in WGS84); a
        GeoDataFrame's ``id`` column names them.

    Returns
    -------
    GeoDataFrame
        ``id``, ``source``, points in WGS84.
    """
    unknown = set(sources) - set(CANDIDATE_SOURCES)
    if unknown:
        raise ValidationError(
            f"siting: unknown candidate sources {sorted(unknown)} (known: {', '.join(CANDIDATE_SOURCES)})"
        )
    frames = []
    if "gate_front" in sources and len(bundle.gates):
        g = bundle.gates[(bundle.gates["rider_access"] != "none") & ~bundle.gates["locked"]]
        frames.append(pd.DataFrame({"id": "gate:" + g["id"], "source": "gate_front", "geometry": list(g.geometry)}))
    path_edge = network.edge_gate_id == ""
    if "junction" in sources:
        ends = np.r_[network.edge_u[path_edge], network.edge_v[path_edge]]
        deg = np.bincount(ends, minlength=network.n_nodes)
        nodes = np.flatnonzero(deg >= 3)
        pts = network.to_wgs84(shapely.points(network.node_xy[nodes])) if len(nodes) else []
        frames.append(pd.DataFrame({"id": [f"node:{n}" for n in nodes], "source": "junction", "geometry": list(pts)}))
    if "parking_edge" in sources:
        sel = np.flatnonzero(
            path_edge & (network.edge_zone == -1) & network.edge_ride & (network.edge_length_m >= _PARKING_EDGE_MIN_M)
        )
        mids = shapely.line_interpolate_point(network.edge_geometry[sel], 0.5, normalized=True) if len(sel) else []
        pts = network.to_wgs84(np.asarray(mids, dtype=object)) if len(sel) else []
        frames.append(pd.DataFrame({"id": [f"edge:{e}" for e in sel], "source": "parking_edge", "geometry": list(pts)}))
    if user is not None:
        geoms = user.geometry if isinstance(user, gpd.GeoDataFrame) else gpd.GeoSeries(user)
        if geoms.crs is not None and str(geoms.crs) != CRS:
            geoms = geoms.to_crs(CRS)
        names = (
            user["id"].astype(str).tolist()
            if isinstance(user, gpd.GeoDataFrame) and "id" in user
            else [f"user:{i + 1}" for i in range(len(geoms))]
        )
        frames.append(pd.DataFrame({"id": names, "source": "user", "geometry": list(geoms)}))
    frames = [f for f in frames if len(f)]
    if not frames:
        return gpd.GeoDataFrame({"id": [], "source": []}, geometry=[], crs=CRS)
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out.drop(columns="geometry"), geometry=list(out["geometry"]), crs=CRS)


def coverage(cost_matrix: np.ndarray, *, radius_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge clients with identical coverage.

    Parameters
    ----------
    cost_matrix
        ``(n_clients, n_candidates)`` distances.
    radius_m
        Service radius.

    Returns
    -------
    rows, weights, client_row
        Unique boolean coverage rows, how many clients each stands for, and
        the row of every client.
    """
    cov = np.asarray(cost_matrix) <= radius_m
    if cov.shape[0] == 0:
        return cov, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    packed = np.ascontiguousarray(np.packbits(cov, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, client_row, weights = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return cov[first], weights, client_row.reshape(-1)


def _solver():
    import pulp

    return pulp.PULP_CBC_CMD(msg=False)


@contextmanager
def _quiet_solver_deprecations():
    """PuLP 3.3 warns (through spopt) that its v4 API changes; nothing for our users to act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(spopt|pulp)(\..*)?$")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"(spopt|pulp)(\..*)?$")
        yield


def solve_mclp(
    cost_matrix: np.ndarray, *, radius_m: float, k: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Maximal covering location: the ``k`` candidates covering the most client weight.

    Parameters
    ----------
    cost_matrix
        ``(n_clients, n_candidates)`` network distances.
    radius_m
        Service radius (the kind's target).
    k
        Sites to choose.
    weights
        Client weights (default 1 each).

    Returns
    -------
    chosen, covered_weight
        Candidate indices chosen (sorted) and the weight they cover.
    """
    from spopt.locate import MCLP

    cost = np.asarray(cost_matrix, dtype=float)
    n_cli, n_fac = cost.shape
    w = np.ones(n_cli) if weights is None else np.asarray(weights, dtype=float)
    if n_cli == 0 or n_fac == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), 0.0
    k = min(k, n_fac)
    finite = np.where(np.isfinite(cost), cost, 2.0 * radius_m + 1.0)
    with _quiet_solver_deprecations():
        model = MCLP.from_cost_matrix(finite, w, service_radius=radius_m, p_facilities=k, name="ridermap_mclp")
        model.solve(_solver(), results=False)
    chosen = np.array(sorted(j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5), dtype=np.int64)
    covered = float(w[(finite[:, chosen] <= radius_m).any(axis=1)].sum()) if len(chosen) else 0.0
    return chosen, covered


def solve_lscp(cost_matrix: np.ndarray, *, radius_m: float) -> np.ndarray:
    """Location set covering: the fewest candidates covering every client.

    Every client must be coverable by some candidate (drop the others first).

    Returns
    -------
    numpy.ndarray
        Candidate indices chosen (sorted).
    """
    from spopt.locate import LSCP

    cost = np.asarray(cost_matrix, dtype=float)
    if cost.shape[0] == 0 or cost.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    finite = np.where(np.isfinite(cost), cost, 2.0 * radius_m + 1.0)
    if not (finite <= radius_m).any(axis=1).all():
        raise ValidationError("siting: LSCP needs every client within reach of some candidate")
    with _quiet_solver_deprecations():
        model = LSCP.from_cost_matrix(finite, service_radius=radius_m, name="ridermap_lscp")
        model.solve(_solver(), results=False)
    return np.array(sorted(j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5), dtype=np.int64)


def propose_sites(
    report: GapReport,
    bundle: Bundle,
    network: Network,
    *,
    kind: str,
    k: int = 3,
    candidates: gpd.GeoDataFrame | None = None,
    max_candidates: int = 120,
) -> SitingResult:
    """Propose ``k`` new sites for ``kind`` (MCLP) and the minimal full cover (LSCP).

    Parameters
    ----------
    report
        The :class:`~ridermap.analysis.gaps.GapReport` of ``bundle``.
    bundle, network
        The district and its network.
    kind
        Facility kind (must have a target in the report).
    k
        Sites MCLP may place.
    candidates
        From :func:`candidate_sites` (default: generated ones).
    max_candidates
        Candidates handed to the solvers: those reaching the most doors in
        gap within the target along the network (after a crow-flies
        prefilter to four times as many). spopt builds its models in Python,
        so this bounds the run time on a whole district.

    Returns
    -------
    SitingResult
    """
    if kind not in report.targets_m:
        raise ValidationError(f"siting: no target distance for kind {kind!r} (known: {', '.join(report.targets_m)})")
    radius = float(report.targets_m[kind])
    mode = KIND_MODE.get(kind, "walk")
    gap = report.gap_units(kind)
    cand = candidate_sites(bundle, network) if candidates is None else candidates.reset_index(drop=True)
    empty = _sites_frame([])
    if gap.empty or cand.empty:
        return SitingResult(kind, radius, empty, len(gap), 0, 0, 0)
    # crow-flies prefilter: the network distance is never shorter
    from scipy.spatial import cKDTree

    gxy = network.to_metric(gap.geometry)
    cxy = network.to_metric(cand.geometry)
    counts = np.asarray(cKDTree(gxy).query_ball_point(cxy, radius, return_length=True))
    keep = np.flatnonzero(counts > 0)
    if len(keep) > 4 * max_candidates:
        keep = np.sort(keep[np.argsort(-counts[keep], kind="stable")[: 4 * max_candidates]])
    cand = cand.iloc[keep].reset_index(drop=True)
    if cand.empty:
        return SitingResult(kind, radius, empty, len(gap), 0, 0, 0)
    targets = snap(network, gap.geometry, mode=mode)
    sources = snap(network, cand.geometry, mode=mode)
    cost = distance_matrix(network, sources, targets, mode=mode, limit_m=radius)
    # then the candidates reaching the most doors in gap along the network
    reach_count = (cost <= radius).sum(axis=0)
    cols = np.flatnonzero(reach_count > 0)
    if len(cols) > max_candidates:
        cols = np.sort(cols[np.argsort(-reach_count[cols], kind="stable")[:max_candidates]])
    cost, cand = cost[:, cols], cand.iloc[cols].reset_index(drop=True)
    reach = (cost <= radius).any(axis=1)
    coverable = int(reach.sum())
    if not coverable:
        return SitingResult(kind, radius, empty, len(gap), 0, 0, 0)
    rows, weights, _ = coverage(cost[reach], radius_m=radius)
    sub = np.where(rows, 0.0, np.inf)
    chosen, covered = solve_mclp(sub, radius_m=radius, k=k, weights=weights)
    lscp = solve_lscp(sub, radius_m=radius)
    useful = np.arange(cost.shape[1])
    ids = gap["id"].to_numpy(dtype=object)
    records = []
    for method, picks in (("mclp", chosen), ("lscp", lscp)):
        # rank by doors newly covered, most first
        cols = useful[picks]
        order = np.argsort(-(cost[:, cols] <= radius).sum(axis=0), kind="stable")
        for rank, j in enumerate(cols[order], start=1):
            hit = cost[:, j] <= radius
            records.append(
                {
                    "kind": kind,
                    "method": method,
                    "rank": rank,
                    "candidate_id": cand["id"].iloc[j],
                    "source": cand["source"].iloc[j],
                    "newly_covered": int(hit.sum()),
                    "unit_ids": ";".join(ids[hit]),
                    "geometry": cand.geometry.iloc[j],
                }
            )
    log.info(
        "siting %s: %d doors in gap, %d coverable, %d covered by %d MCLP sites; LSCP needs %d",
        kind,
        len(gap),
        coverable,
        int(covered),
        len(chosen),
        len(lscp),
    )
    return SitingResult(kind, radius, _sites_frame(records), len(gap), coverable, int(covered), len(lscp))


def _sites_frame(records: list[dict]) -> gpd.GeoDataFrame:
    cols = ["kind", "method", "rank", "candidate_id", "source", "newly_covered", "unit_ids"]
    if not records:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=CRS)
    df = pd.DataFrame(records)
    df = df.astype({"rank": int, "newly_covered": int})
    return gpd.GeoDataFrame(df[cols], geometry=list(df["geometry"]), crs=CRS)
