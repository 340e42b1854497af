"""Inference where the data is silent: gate candidates and compound names.

Everything guessed here is marked in the ``inferred`` column of its row and
reported as an info :class:`~ridermap.model.findings.Finding`; displays show
it as 待核实 (to be confirmed), never as fact.

* :func:`infer_gates`: where a mapped service road, footway, path, living
  street... crosses a compound outline and no gate is mapped nearby, a gate
  candidate (``source = "inferred:crossing"``, rider rule ``unknown``).
* :func:`infer_names`: a compound without a name gets the best nearby one
  (its address, its buildings' address, a named place it lies in or beside,
  the nearest named street); its id never becomes its name.

Pure functions of GeoDataFrames (no IO, no ingest imports); the geometry work
is vectorised with shapely (one STRtree query per step, not a loop over pairs).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ridermap import ids
from ridermap.model.bundle import Bundle
from ridermap.model.finalise import add_inferred, name_gates_by_side, unique_name
from ridermap.model.findings import Finding
from ridermap.model.schema import CRS
from ridermap.utm import metric_crs

log = logging.getLogger(__name__)

#: path kinds (OSM ``highway``) whose crossing of a compound outline is a gate candidate.
GATE_PATH_KINDS = frozenset({"service", "footway", "path", "living_street", "pedestrian", "cycleway", "track", "steps"})
#: street kinds that are a compound's own road only when they end inside it (cross its outline
#: once); one that crosses twice is a public through-street, not a gate. Bigger roads never are.
OWN_STREET_KINDS = frozenset({"residential", "unclassified", "road"})
INFERRED_GATE_SOURCE = "inferred:crossing"
INFERRED_GATE_FIELDS = "location,rider_access"
#: crossings closer than this (along one outline) are one gate.
CROSSING_MERGE_M = 8.0
#: no candidate this close to a gate mapped for the same compound.
MAPPED_GATE_CLEARANCE_M = 20.0
_PROBE_M = 6.0  # how far around a crossing the path is looked at
_INSET_M = 1.5  # a path must run this far inside (outside) the outline to count as entering
_MIN_RUN_M = 1.0  # ... for at least this length
_CONNECTED_M = 0.5  # paths this close to a crossing point are connected there


# --------------------------------------------------------------------------- gates


def infer_gates(
    bundle: Bundle, *, merge_m: float = CROSSING_MERGE_M, clearance_m: float = MAPPED_GATE_CLEARANCE_M
) -> Bundle:
    """Add gate candidates where mapped paths cross compound outlines.

    Parameters
    ----------
    bundle
        The bundle after de-duplication (compounds, gates and paths read).
    merge_m
        Crossings of one outline closer than this are one candidate.
    clearance_m
        No candidate within this distance of a gate mapped for the compound.

    Returns
    -------
    Bundle
        ``bundle`` with the candidates appended to ``gates`` (named by side,
        ``南侧出入口``; ``source`` ``inferred:crossing``; ``rider_access``
        ``unknown``; ``inferred`` ``location,rider_access``; not locked) and
        one info finding per compound that got any.
    """
    comm, paths = bundle.communities, bundle.paths
    if comm.empty or paths.empty:
        return bundle
    metric = metric_crs(comm)
    polys = comm.to_crs(metric).geometry.values
    lines = paths.to_crs(metric).geometry.values
    points = _crossings(polys, lines, paths["kind"].to_numpy())
    if points.empty:
        return bundle
    points = _clear_of_mapped_gates(points, bundle.gates, comm["id"].to_numpy(), metric, clearance_m)
    points = _merge_close(points, merge_m)
    if points.empty:
        return bundle
    new = _candidate_rows(points, comm, paths["id"].to_numpy(), polys, metric)
    findings = [
        _gate_finding(cid, n, src)
        for cid, n, src in new.groupby("community_id", sort=False)
        .size()
        .rename("n")
        .reset_index()
        .merge(comm[["id", "source"]], left_on="community_id", right_on="id")[["community_id", "n", "source"]]
        .itertuples(index=False)
    ]
    # named by side like every unnamed gate; mapped gates first, so they keep the names they had
    gates = name_gates_by_side(
        gpd.GeoDataFrame(pd.concat([bundle.gates, new], ignore_index=True), geometry="geometry", crs=CRS), comm
    )
    log.info("inferred %d gate candidates on %d compounds", len(new), len(findings))
    return bundle.replace(gates=gates).with_findings(findings)


def _crossings(polys: np.ndarray, lines: np.ndarray, kinds: np.ndarray) -> pd.DataFrame:
    """Points where a gate-kind path enters a compound: one row per (compound, path, point)."""
    is_own_street = np.isin(kinds, list(OWN_STREET_KINDS))
    usable = np.flatnonzero(np.isin(kinds, list(GATE_PATH_KINDS)) | is_own_street)
    rings = shapely.boundary(polys)
    ci, pi, pts = _touch_points(rings, lines, usable)
    if not len(pts):
        return pd.DataFrame(columns=["community", "path", "geometry"])
    enters = _enters(pts, ci, polys, lines)
    df = pd.DataFrame({"community": ci[enters], "path": pi[enters], "geometry": pts[enters]})
    # own streets: one crossing per compound (a dead end inside); through-streets cross twice or more
    street = is_own_street[df["path"].to_numpy()]
    per_pair = df.groupby(["community", "path"])["path"].transform("size").to_numpy()
    return df[~street | (per_pair == 1)].reset_index(drop=True)


def _touch_points(
    rings: np.ndarray, lines: np.ndarray, usable: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(compound, path, point) where a usable path meets an outline: crossings and path ends on it.

    A path end within ``_CONNECTED_M`` of an outline counts even when it is
    not exactly on it (drawn to the fence without sharing a node). Overlaps
    along the outline are not crossings. One point per path and place.
    """
    ci, k = shapely.STRtree(lines[usable]).query(rings, predicate="intersects")
    parts, part_of = shapely.get_parts(shapely.intersection(rings[ci], lines[usable[k]]), return_index=True)
    is_point = shapely.get_type_id(parts) == 0
    ends = np.concatenate([shapely.get_point(lines[usable], 0), shapely.get_point(lines[usable], -1)])
    owner = np.concatenate([usable, usable])
    ri, ei = shapely.STRtree(ends).query(rings, predicate="dwithin", distance=_CONNECTED_M)
    snapped = shapely.line_interpolate_point(rings[ri], shapely.line_locate_point(rings[ri], ends[ei]))
    ci = np.concatenate([ci[part_of[is_point]], ri])
    pi = np.concatenate([usable[k[part_of[is_point]]], owner[ei]])
    pts = np.concatenate([parts[is_point], snapped])
    a, b = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=2 * _CONNECTED_M)
    dup = np.unique(b[(a < b) & (ci[a] == ci[b]) & (pi[a] == pi[b])])
    keep = np.setdiff1d(np.arange(len(pts)), dup)
    return ci[keep], pi[keep], pts[keep]


def _enters(pts: np.ndarray, ci: np.ndarray, polys: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """True where the paths connected at a point lead through the outline there.

    Either they run both inside and outside the outline near the point, or a
    path from outside ends on the outline and nothing goes on from there (a
    road that stops at the fence: the inside is often not mapped). A path glued along an outline (sidewalks
    often share nodes with a landuse polygon) touches it without entering.
    """
    probes = shapely.buffer(pts, _PROBE_M)
    qi, li = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=_CONNECTED_M)
    near = shapely.intersection(lines[li], probes[qi])
    used, back = np.unique(ci[qi], return_inverse=True)  # each compound's inset and outset once
    inset, outset = shapely.buffer(polys[used], -_INSET_M)[back], shapely.buffer(polys[used], _INSET_M)[back]
    inside = shapely.length(shapely.intersection(near, inset)) >= _MIN_RUN_M
    outside = shapely.length(shapely.difference(near, outset)) >= _MIN_RUN_M
    ends = (
        np.minimum(
            shapely.distance(shapely.get_point(lines[li], 0), pts[qi]),
            shapely.distance(shapely.get_point(lines[li], -1), pts[qi]),
        )
        <= _CONNECTED_M
    )
    has_in, has_out, ends_out = (np.zeros(len(pts), dtype=bool) for _ in range(3))
    has_in[qi[inside]] = True
    has_out[qi[outside]] = True
    ends_out[qi[outside & ends]] = True
    dead_end = np.bincount(qi, minlength=len(pts)) == 1  # no other path goes on from there (along the fence)
    return (has_in & has_out) | (ends_out & dead_end)


def _clear_of_mapped_gates(
    points: pd.DataFrame, gates: gpd.GeoDataFrame, comm_ids: np.ndarray, metric: str, clearance_m: float
) -> pd.DataFrame:
    """Drop crossings within ``clearance_m`` of a gate mapped for the same compound."""
    if gates.empty:
        return points
    gpts = gates.to_crs(metric).geometry.values
    pi, gi = shapely.STRtree(gpts).query(points["geometry"].to_numpy(), predicate="dwithin", distance=clearance_m)
    same = comm_ids[points["community"].to_numpy()[pi]] == gates["community_id"].to_numpy()[gi]
    return points.drop(index=points.index[np.unique(pi[same])]).reset_index(drop=True)


def _merge_close(points: pd.DataFrame, merge_m: float) -> pd.DataFrame:
    """One crossing per cluster of crossings closer than ``merge_m`` on the same compound."""
    if points.empty:
        return points
    geoms = points["geometry"].to_numpy()
    pi, qi = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=merge_m)
    comm = points["community"].to_numpy()
    keep = comm[pi] == comm[qi]
    label = _components(len(points), pi[keep], qi[keep])
    out = points.assign(cluster=label)
    # the member nearest its cluster's middle represents it (a point on the outline)
    xy = shapely.get_coordinates(geoms)
    mid = pd.DataFrame(xy, columns=["x", "y"]).groupby(label).transform("mean").to_numpy()
    out["d"] = np.hypot(*(xy - mid).T)
    out = out.sort_values(["cluster", "d", "path"]).drop_duplicates("cluster")
    return out.drop(columns=["cluster", "d"]).reset_index(drop=True)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes joined by edges ``a``-``b``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _candidate_rows(
    points: pd.DataFrame, comm: gpd.GeoDataFrame, path_ids: np.ndarray, polys: np.ndarray, metric: str
) -> gpd.GeoDataFrame:
    """Gate rows for the crossings (unnamed yet): stable ids, inferred fields, in order along each outline."""
    cidx = points["community"].to_numpy()
    geoms = points["geometry"].to_numpy()
    order = np.lexsort((shapely.line_locate_point(shapely.boundary(polys)[cidx], geoms), cidx))
    cidx, geoms, pidx = cidx[order], geoms[order], points["path"].to_numpy()[order]
    comm_ids = comm["id"].to_numpy()[cidx]
    keys_taken: dict[str, set[str]] = {}
    gate_ids = [
        ids.gate_id(
            cid, unique_name(f"x{str(path_ids[p]).removeprefix('p-')}", keys_taken.setdefault(cid, set()), sep="_")
        )
        for cid, p in zip(comm_ids, pidx)
    ]
    wgs = gpd.GeoSeries(geoms, crs=metric).to_crs(CRS).values
    return gpd.GeoDataFrame(
        {
            "id": gate_ids,
            "community_id": comm_ids,
            "name": "",
            "rider_access": "unknown",
            "hours": "",
            "locked": False,
            "survey_key": "",
            "inferred": INFERRED_GATE_FIELDS,
            "source": INFERRED_GATE_SOURCE,
        },
        geometry=wgs,
        crs=CRS,
    )


def _gate_finding(cid: str, n: int, source: str) -> Finding:
    return Finding(
        "info",
        "gate_inferred",
        "communities",
        cid,
        source,
        f"推断出入口 {n} 处（道路穿过小区边界处），待核实",
        f"{n} gate(s) inferred where a path crosses the compound outline; to be confirmed",
    )


# --------------------------------------------------------------------------- names

#: ``place`` values small enough to name a compound (not a city or district).
NAMING_PLACES = frozenset(
    {"neighbourhood", "quarter", "locality", "hamlet", "isolated_dwelling", "village", "square", "plot", "city_block"}
)
#: a named place this close to a compound is its neighbour (``XX旁小区``).
NEIGHBOUR_M = 15.0
#: a place point this close to (or in) a compound names it.
PLACE_POINT_M = 30.0
#: the nearest named street within this distance names a compound ``XX路旁小区``.
STREET_M = 200.0
UNNAMED = "未命名小区"


def infer_names(
    communities: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Give every compound without a name the best name nearby, marked inferred.

    In order: the compound's own ``addr_street`` + ``addr_housenumber``; the
    most common street + house number of its buildings (shared by two or
    more, or the only one: one building's address among many does not name
    a compound); a named place it lies
    in (``place``, a named landuse or amenity area); a named place beside it
    (``富润家园旁小区``); the nearest named street (``学院路旁小区``); else
    ``未命名小区``. Never its id.

    Parameters
    ----------
    communities
        ``id``, ``name``, ``source``, ``inferred``, geometry; optional
        ``addr_street`` and ``addr_housenumber``.
    buildings
        ``community_id``, ``addr_street``, ``addr_housenumber``.
    places
        ``name``, ``kind`` (``place``, ``landuse``, ``amenity``), ``source``,
        optional ``residential`` (a residential area: names what lies in it
        as it is; a campus or park gives ``<name>内小区``); polygons or points.
    streets
        ``name``, lines.

    Returns
    -------
    tuple
        The compounds (names filled, ``name`` added to ``inferred``) and one
        info finding per inferred name.
    """
    comm = communities.copy()
    todo = comm["name"].fillna("").astype(str).str.strip() == ""
    if not todo.any():
        return comm, []
    metric = metric_crs(comm)
    cm = comm[todo].to_crs(metric)
    picks = pd.DataFrame({"name": "", "how_zh": "", "how_en": ""}, index=cm.index)
    for finder in (_own_address, _building_address):
        _fill(picks, finder(cm, buildings))
    _fill(picks, _containing_place(cm, places, metric))
    _fill(picks, _neighbour_place(cm, places, metric))
    _fill(picks, _nearest_street(cm, streets, metric))
    rest = picks["name"] == ""
    picks.loc[rest, ["name", "how_zh", "how_en"]] = [UNNAMED, "附近没有可用的名称", "no usable name nearby"]
    picks["name"] = _distinct(picks["name"], set(comm.loc[~todo, "name"]))
    comm.loc[picks.index, "name"] = picks["name"]
    comm["inferred"] = add_inferred(
        comm["inferred"] if "inferred" in comm else pd.Series("", index=comm.index), todo.values, "name"
    )
    findings = [
        Finding(
            "info",
            "name_inferred",
            "communities",
            comm.at[i, "id"],
            comm.at[i, "source"],
            f"小区没有名称，暂用推断名称「{name}」（{how_zh}），待核实",
            f"Compound has no name; using the inferred name \u201c{name}\u201d ({how_en}); to be confirmed",
            column="name",
            value=name,
        )
        for i, name, how_zh, how_en in picks[["name", "how_zh", "how_en"]].itertuples()
    ]
    return comm, findings


def _fill(picks: pd.DataFrame, found: pd.DataFrame | None) -> None:
    """Take names from ``found`` (index = compound) where ``picks`` has none yet."""
    if found is None or found.empty:
        return
    found = found[found.index.isin(picks.index[picks["name"] == ""])]
    picks.loc[found.index, ["name", "how_zh", "how_en"]] = found[["name", "how_zh", "how_en"]].to_numpy()


def _address(street: pd.Series, number: pd.Series) -> pd.Series:
    """``学院路`` + ``20`` -> ``学院路20号``; ``Main St`` + ``5`` -> ``Main St 5``; ``""`` unless both are given.

    >>> _address(pd.Series(["学院路", "学院路", "вуліца Берсана", ""]), pd.Series(["20", "20号", "15А", "3"])).tolist()
    ['学院路20号', '学院路20号', 'вуліца Берсана 15А', '']
    """
    street, number = street.fillna("").astype(str).str.strip(), number.fillna("").astype(str).str.strip()
    chinese = street.str.contains(r"[\u4e00-\u9fff]", regex=True)
    number = number.where(~(chinese & number.str[-1:].str.isdigit()), number + "号")
    return (street + number.where(chinese, " " + number)).where((street != "") & (number != ""), "")


def _own_address(cm: gpd.GeoDataFrame, _buildings) -> pd.DataFrame | None:
    if "addr_street" not in cm or "addr_housenumber" not in cm:
        return None
    name = _address(cm["addr_street"], cm["addr_housenumber"])
    name = name[name != ""]
    return pd.DataFrame(
        {
            "name": name,
            "how_zh": "小区地址 addr:street + addr:housenumber",
            "how_en": "the compound's addr:street + addr:housenumber",
        },
        index=name.index,
    )


def _building_address(cm: gpd.GeoDataFrame, buildings) -> pd.DataFrame | None:
    if buildings is None or buildings.empty or "addr_street" not in buildings:
        return None
    addr = pd.DataFrame(
        {"cid": buildings["community_id"], "name": _address(buildings["addr_street"], buildings["addr_housenumber"])}
    )
    addr = addr[(addr["name"] != "") & addr["cid"].isin(cm["id"])]
    if addr.empty:
        return None
    counts = addr.groupby(["cid", "name"]).size().rename("n").reset_index()
    # an address names the compound when buildings share it, or when it is the only one
    counts["kinds"] = counts.groupby("cid")["name"].transform("size")
    counts = counts[(counts["n"] >= 2) | (counts["kinds"] == 1)]
    best = counts.sort_values(["cid", "n", "name"], ascending=[True, False, True]).drop_duplicates("cid")
    index = pd.Series(cm.index, index=cm["id"])
    return pd.DataFrame(
        {
            "name": best["name"].to_numpy(),
            "how_zh": "楼栋地址中最常见的一个",
            "how_en": "the most common address of its buildings",
        },
        index=index[best["cid"]].to_numpy(),
    )


_PLACE_RANK = {"place": 0, "landuse": 1, "amenity": 2}


def _usable_places(places, metric: str) -> gpd.GeoDataFrame | None:
    if places is None or places.empty:
        return None
    p = places[places["name"].fillna("").astype(str).str.strip() != ""]
    if p.empty:
        return None
    residential = p["residential"].astype(bool) if "residential" in p else pd.Series(False, index=p.index)
    return p.to_crs(metric).assign(rank=p["kind"].map(_PLACE_RANK).fillna(3), residential=residential)


def _containing_place(cm: gpd.GeoDataFrame, places, metric: str) -> pd.DataFrame | None:
    """A named area the compound lies in, or a place point in (or at) it: its name."""
    p = _usable_places(places, metric)
    if p is None:
        return None
    areas = p[p.geom_type.isin(["Polygon", "MultiPolygon"])]
    pts = p[p.geom_type == "Point"]
    hits = []
    if len(areas):
        probe = gpd.GeoDataFrame(
            {"cid_index": cm.index, "src": cm["source"]}, geometry=cm.geometry.representative_point(), crs=metric
        )
        hit = gpd.sjoin(probe, areas, predicate="within", how="inner")
        hit = hit[hit["src"] != hit["source"]]
        hits.append(hit.assign(d=0.0, area=areas.geometry.area.reindex(hit["index_right"]).to_numpy()))
    if len(pts):
        hit = gpd.sjoin_nearest(
            cm.assign(cid_index=cm.index)[["cid_index", "geometry"]], pts, max_distance=PLACE_POINT_M, distance_col="d"
        )
        hits.append(hit.assign(area=0.0))
    hits = [h for h in hits if len(h)]
    if not hits:
        return None
    best = pd.concat(hits).sort_values(["cid_index", "rank", "area", "d", "name"]).drop_duplicates("cid_index")
    # a place or residential area names what lies in it; a campus or park holds the compound: "<name>内小区"
    own = (best["kind"] == "place") | best["residential"]
    return pd.DataFrame(
        {
            "name": best["name"].where(own, best["name"] + "内小区").to_numpy(),
            "how_zh": [f"所在地点 {s}" for s in best["source"]],
            "how_en": [f"the place it lies in, {s}" for s in best["source"]],
        },
        index=best["cid_index"].to_numpy(),
    )


def _neighbour_place(cm: gpd.GeoDataFrame, places, metric: str) -> pd.DataFrame | None:
    """A named area touching the compound (within ``NEIGHBOUR_M``): ``<name>旁小区``."""
    p = _usable_places(places, metric)
    if p is None:
        return None
    areas = p[p.geom_type.isin(["Polygon", "MultiPolygon"])]
    if areas.empty:
        return None
    left = cm.assign(cid_index=cm.index, src=cm["source"])[["cid_index", "src", "geometry"]]
    hit = gpd.sjoin(left, areas.assign(geometry=areas.buffer(NEIGHBOUR_M)), predicate="intersects", how="inner")
    hit = hit[hit["src"] != hit["source"]]
    if hit.empty:
        return None
    shared = shapely.length(
        shapely.intersection(
            shapely.boundary(left.geometry.loc[hit.index].values),
            areas.geometry.reindex(hit["index_right"]).buffer(NEIGHBOUR_M).values,
        )
    )
    best = hit.assign(shared=-shared).sort_values(["cid_index", "rank", "shared", "name"]).drop_duplicates("cid_index")
    return pd.DataFrame(
        {
            "name": [f"{n}旁小区" for n in best["name"]],
            "how_zh": [f"相邻地点 {s}" for s in best["source"]],
            "how_en": [f"the place next to it, {s}" for s in best["source"]],
        },
        index=best["cid_index"].to_numpy(),
    )


def _nearest_street(cm: gpd.GeoDataFrame, streets, metric: str) -> pd.DataFrame | None:
    """The nearest named street within ``STREET_M``: ``<street>旁小区``."""
    if streets is None or streets.empty:
        return None
    s = streets[streets["name"].fillna("").astype(str).str.strip() != ""]
    if s.empty:
        return None
    s = s.to_crs(metric)[["name", "geometry"]]
    hit = gpd.sjoin_nearest(
        cm.assign(cid_index=cm.index)[["cid_index", "geometry"]], s, max_distance=STREET_M, distance_col="d"
    )
    if hit.empty:
        return None
    best = hit.sort_values(["cid_index", "d", "name"]).drop_duplicates("cid_index")
    return pd.DataFrame(
        {
            "name": [f"{n}旁小区" for n in best["name"]],
            "how_zh": [f"最近道路 {n}" for n in best["name"]],
            "how_en": [f"the nearest street, {n}" for n in best["name"]],
        },
        index=best["cid_index"].to_numpy(),
    )


def _distinct(names: pd.Series, taken: set[str]) -> pd.Series:
    """Number repeated inferred names (``学院路旁小区``, ``学院路旁小区2``)."""
    taken = set(taken)
    return pd.Series([unique_name(n, taken) for n in names], index=names.index)
