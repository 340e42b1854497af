"""Read OSM data (``.osm``, ``.osm.bz2``, ``.osm.pbf``) into the community model.

pyosmium does the reading (XML, bz2 and PBF alike, with node locations and
multipolygon areas); :func:`bundle_from_elements` is the pure core that maps
tags (domain.md §3) to the six layers and assigns features to compounds by
geometry. Clipped extracts are survived: ways are cut to their runs of known
nodes, incomplete relations are skipped.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from shapely import wkb

from ridermap import ids
from ridermap.errors import InputError
from ridermap.ingest.numbers import parse_building_number, parse_unit_number
from ridermap.model.bundle import Bundle
from ridermap.model.schema import CRS, PATH_KINDS_RIDEABLE

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".o5m")
GATE_BARRIERS = {"gate", "lift_gate", "swing_gate", "sliding_gate", "entrance", "wicket_gate", "turnstile", "full-height_turnstile", "kissing_gate", "bollard"}
COMPOUND_LANDUSE = {"residential"}
_BUILDING_NO = {"no", "roof", "construction"}
_YES = {"yes", "designated", "permissive", "destination"}
_NO = {"no", "private_no", "dismount"}
#: OSM compound outlines are drawn loosely; gates this close to one belong to it.
GATE_MAX_OFF_BOUNDARY_M = 15.0
RIDER_STATION_WORDS = ("骑手驿站", "暖新驿站", "骑手之家", "小哥驿站", "新就业群体", "户外劳动者", "rider station")


@dataclass
class OsmElements:
    """What the reader pulls out of an OSM file: plain Python, no osmium objects."""

    nodes: list[tuple[int, float, float, dict]] = field(default_factory=list)  # id, lon, lat, tags
    lines: list[tuple[int, list[int], np.ndarray, dict]] = field(default_factory=list)  # way id, node ids, coords, tags
    areas: list[tuple[str, int, object, dict]] = field(default_factory=list)  # "way"/"relation", id, geometry, tags


def is_osm_path(path: str | Path) -> bool:
    name = str(path).lower()
    return name.endswith(OSM_SUFFIXES)


def _wanted_area(tags: dict) -> bool:
    return (
        "building" in tags
        or tags.get("landuse") in COMPOUND_LANDUSE
        or tags.get("place") == "neighbourhood"
        or "residential" in tags
        or "amenity" in tags
    )


def read_osm_elements(path: str | Path) -> OsmElements:
    """Read the nodes, ways and areas ridermap uses from an OSM file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    out = OsmElements()
    factory = osmium.geom.WKBFactory()
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        for obj in processor:
            if obj.is_node():
                if len(obj.tags) and obj.location.valid():
                    out.nodes.append((obj.id, obj.location.lon, obj.location.lat, dict(obj.tags)))
            elif obj.is_way():
                tags = dict(obj.tags)
                if "highway" in tags or "barrier" in tags:
                    refs, coords = _valid_run(obj)
                    if len(refs) >= 2:
                        out.lines.append((obj.id, refs, coords, tags))
            elif obj.is_area():
                tags = dict(obj.tags)
                if _wanted_area(tags):
                    try:
                        geom = wkb.loads(factory.create_multipolygon(obj), hex=True)
                    except (RuntimeError, osmium.InvalidLocationError) as exc:
                        log.debug("skip area %s: %s", obj.orig_id(), exc)
                        continue
                    kind = "way" if obj.from_way() else "relation"
                    out.areas.append((kind, obj.orig_id(), geom, tags))
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot read OSM data: {str(exc).splitlines()[0]}") from exc
    if not (out.nodes or out.lines or out.areas):
        raise InputError(f"{path}: no OSM features found (empty or not an OSM file)")
    return out


def _valid_run(way) -> tuple[list[int], np.ndarray]:
    """The longest run of consecutive nodes with known locations (clipped extracts)."""
    best: list[tuple[int, float, float]] = []
    run: list[tuple[int, float, float]] = []
    for nref in way.nodes:
        loc = nref.location
        if loc.valid():
            run.append((nref.ref, loc.lon, loc.lat))
        else:
            best = max(best, run, key=len)
            run = []
    best = max(best, run, key=len)
    refs = [r for r, _, _ in best]
    coords = np.array([(x, y) for _, x, y in best], dtype=float).reshape(-1, 2)
    return refs, coords


def _facility_kind(tags: dict) -> str | None:
    amenity = tags.get("amenity", "")
    name = tags.get("name", "") + tags.get("name:zh", "")
    if tags.get("rider_station") == "yes" or any(w in name for w in RIDER_STATION_WORDS):
        return "rider_station"
    if amenity == "charging_station":
        return "battery_swap" if tags.get("vending") == "battery" or "换电" in name else "charger"
    if amenity == "vending_machine" and tags.get("vending") == "battery":
        return "battery_swap"
    if amenity == "parcel_locker" or tags.get("vending") == "parcel_pickup":
        return "parcel_locker"
    if amenity in ("motorcycle_parking", "bicycle_parking"):
        return "rider_parking"
    if amenity == "parking" and any(tags.get(k) in _YES for k in ("motorcycle", "moped", "bicycle", "e_bike")):
        return "rider_parking"
    if amenity == "toilets":
        return "toilet"
    if amenity == "drinking_water":
        return "drinking_water"
    if amenity == "bicycle_rental":
        return "transfer_bicycle"
    return None


def _rideable(tags: dict) -> bool:
    kind = tags.get("highway", "")
    ride = PATH_KINDS_RIDEABLE.get(kind, False)
    for key in ("moped", "motorcycle", "bicycle"):
        value = tags.get(key)
        if value in _NO:
            return False
        if value in _YES:
            ride = True
    if tags.get("access") == "no" or tags.get("vehicle") == "no":
        return False
    return ride


def _name(tags: dict) -> str:
    return tags.get("name:zh-Hans") or tags.get("name:zh") or tags.get("name", "")


def _utm(gdf_or_geoms) -> str:
    geoms = gpd.GeoSeries(gdf_or_geoms, crs=CRS)
    return str(geoms.estimate_utm_crs()) if len(geoms) else "EPSG:3857"


def bundle_from_elements(elements: OsmElements, *, admin_code: str, where: str) -> Bundle:
    """Map OSM elements to the six layers (pure: no IO).

    Compounds are ``landuse=residential`` (or ``place=neighbourhood``)
    polygons; buildings, units and gates belong to the compound their
    geometry falls in; public streets and facilities outside any compound
    get ``community_id == ""``.
    """
    comm_rows, bld_rows, fac_rows = [], [], []
    for kind, oid, geom, tags in elements.areas:
        key = ids.osm_key(kind, oid)
        src = f"osm:{kind}/{oid}"
        if tags.get("landuse") in COMPOUND_LANDUSE or tags.get("place") == "neighbourhood":
            comm_rows.append({"key": key, "name": _name(tags), "source": src, "geometry": geom,
                              "access_tag": tags.get("access", ""), "hours": tags.get("opening_hours", "")})
        elif "building" in tags and tags["building"] not in _BUILDING_NO:
            label = _name(tags) or tags.get("addr:housenumber", "")
            number = parse_building_number(_name(tags)) or parse_building_number(tags.get("addr:housenumber", ""))
            bld_rows.append({"key": key, "number": number, "label": label or number,
                             "levels": pd.to_numeric(tags.get("building:levels"), errors="coerce"),
                             "source": src, "geometry": geom})
        fkind = _facility_kind(tags)
        if fkind:
            fac_rows.append({"kind": fkind, "name": _name(tags), "key": key, "source": src,
                             "geometry": geom.representative_point()})

    communities = gpd.GeoDataFrame(comm_rows or None, columns=["key", "name", "source", "geometry", "access_tag", "hours"], geometry="geometry", crs=CRS)
    buildings = gpd.GeoDataFrame(bld_rows or None, columns=["key", "number", "label", "levels", "source", "geometry"], geometry="geometry", crs=CRS)
    # keep compounds that hold at least one building (others are plain landuse)
    if len(communities) and len(buildings):
        rep = buildings.copy()
        rep["geometry"] = buildings.geometry.representative_point()
        hit = gpd.sjoin(rep, communities[["geometry"]], predicate="within", how="inner")
        communities = communities[communities.index.isin(hit["index_right"])]
    elif len(communities):
        communities = communities.iloc[0:0]
    communities = communities.reset_index(drop=True)
    communities["id"] = [ids.community_id(admin_code, k) for k in communities["key"]]
    communities["rider_access"] = ["none" if a in ("no", "private_no") else "ride" for a in communities["access_tag"]]
    communities["rider_hours"] = communities["hours"]
    communities["admin_code"] = admin_code
    communities["name"] = [n or f"小区 {k}" for n, k in zip(communities["name"], communities["key"])]

    buildings = _assign_community(buildings, communities, point=True)
    buildings["id"] = _unique_ids([ids.building_id(c or ids.slug(admin_code), n, fallback=k) if c else f"{ids.slug(admin_code)}-b_{k}"
                                   for c, n, k in zip(buildings["community_id"], buildings["number"], buildings["key"])],
                                  buildings["key"])

    # nodes: unit entrances, gates, facilities
    unit_rows, gate_rows = [], []
    for oid, lon, lat, tags in elements.nodes:
        pt = shapely.Point(lon, lat)
        key = ids.osm_key("node", oid)
        src = f"osm:node/{oid}"
        barrier = tags.get("barrier")
        if barrier in GATE_BARRIERS:
            gate_rows.append({"key": key, "name": _name(tags) or tags.get("ref", ""), "tags": tags, "source": src, "geometry": pt})
        elif "entrance" in tags:
            unit_rows.append({"key": key, "tags": tags, "source": src, "geometry": pt})
        fkind = _facility_kind(tags)
        if fkind:
            fac_rows.append({"kind": fkind, "name": _name(tags), "key": key, "source": src, "geometry": pt})

    metric = _utm(list(communities.geometry) + list(buildings.geometry) or [shapely.Point(lon, lat) for _, lon, lat, _ in elements.nodes[:1]])
    units, extra_gates = _units_from_entrances(unit_rows, buildings, communities, metric)
    gates = _gates_from_nodes(gate_rows + extra_gates, communities, metric, admin_code)
    facilities = gpd.GeoDataFrame(fac_rows or None, columns=["kind", "name", "key", "source", "geometry"], geometry="geometry", crs=CRS)
    facilities = _assign_community(facilities, communities, point=True)
    facilities["id"] = _unique_ids([ids.facility_id(k, key) for k, key in zip(facilities["kind"], facilities["key"])], facilities["key"])

    path_rows = []
    for oid, _refs, coords, tags in elements.lines:
        if "highway" not in tags or tags.get("area") == "yes":
            continue
        path_rows.append({"id": f"p-{ids.osm_key('way', oid)}", "kind": tags["highway"], "access": tags.get("access", ""),
                          "rideable": _rideable(tags), "source": f"osm:way/{oid}", "geometry": shapely.LineString(coords)})
    paths = gpd.GeoDataFrame(path_rows or None, columns=["id", "kind", "access", "rideable", "source", "geometry"], geometry="geometry", crs=CRS)
    paths = _assign_community(paths, communities, point=False)

    return Bundle.from_layers({"communities": communities, "gates": gates, "buildings": buildings,
                               "units": units, "facilities": facilities, "paths": paths})


def _unique_ids(values: list[str], keys) -> list[str]:
    """Keep ids stable; a repeated id gets its OSM key appended."""
    seen: set[str] = set()
    out = []
    for value, key in zip(values, keys):
        if value in seen:
            value = f"{value}-{key}"
        seen.add(value)
        out.append(value)
    return out


def _assign_community(gdf: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *, point: bool) -> gpd.GeoDataFrame:
    """Set ``community_id`` from the compound polygon the feature falls in."""
    gdf = gdf.reset_index(drop=True).copy()
    gdf["community_id"] = ""
    if gdf.empty or communities.empty:
        return gdf
    geoms = gdf.geometry.values
    probe = shapely.point_on_surface(geoms) if point else shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    hit = gpd.sjoin(gpd.GeoDataFrame(geometry=probe, crs=CRS), communities[["id", "geometry"]], predicate="within", how="inner")
    # nested compounds: the smallest polygon wins
    if hit.index.has_duplicates:
        areas = communities.geometry.area
        hit["area"] = areas.loc[hit["index_right"]].values
        hit = hit.sort_values("area").groupby(level=0).head(1)
    gdf.loc[hit.index, "community_id"] = hit["id"].values
    return gdf


def _units_from_entrances(rows, buildings, communities, metric) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """Entrance nodes on a building outline are unit doors; on a compound boundary, gates."""
    cols = ["id", "community_id", "building_id", "number", "label", "flats", "source", "geometry"]
    if not rows:
        return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs=CRS), []
    ent = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs(metric)
    bm = buildings[["id", "community_id", "geometry"]].to_crs(metric)
    bm["geometry"] = bm.geometry.boundary
    near = gpd.sjoin_nearest(ent, bm, how="left", max_distance=3.0, distance_col="d")
    near = near[~near.index.duplicated()]
    unit_rows, gate_rows = [], []
    boundaries = communities.to_crs(metric).geometry.boundary if len(communities) else gpd.GeoSeries([], crs=metric)
    for idx, row in near.iterrows():
        tags = row["tags"]
        if isinstance(row.get("id"), str):
            raw = tags.get("ref") or tags.get("addr:unit") or tags.get("name") or ""
            number = parse_unit_number(raw)
            label = raw if (raw and not raw.isdigit()) else (f"{number}单元" if number else "")
            unit_rows.append({"building_id": row["id"], "community_id": row["community_id"], "number": number, "label": label,
                              "flats": tags.get("addr:flats", ""), "key": row["key"], "source": row["source"],
                              "geometry": rows[idx]["geometry"]})
        elif tags.get("entrance") in ("main", "yes", "service", "emergency") and len(boundaries) and boundaries.distance(row.geometry).min() < GATE_MAX_OFF_BOUNDARY_M:
            gate_rows.append({"key": row["key"], "name": _name(tags) or tags.get("ref", ""), "tags": tags,
                              "source": row["source"], "geometry": rows[idx]["geometry"]})
    units = gpd.GeoDataFrame(unit_rows or None, columns=["building_id", "community_id", "number", "label", "flats", "key", "source", "geometry"], geometry="geometry", crs=CRS)
    units["id"] = _unique_ids([ids.unit_id(b, n, fallback=k) for b, n, k in zip(units["building_id"], units["number"], units["key"])], units["key"])
    return units, gate_rows


def _gates_from_nodes(rows, communities, metric, admin_code) -> gpd.GeoDataFrame:
    """Gate nodes within ``GATE_MAX_OFF_BOUNDARY_M`` of a compound boundary belong to the nearest compound."""
    cols = ["id", "community_id", "name", "rider_access", "hours", "locked", "source", "geometry"]
    if not rows or communities.empty:
        return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs=CRS)
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs(metric)
    rings = communities[["id", "geometry"]].to_crs(metric)
    rings["geometry"] = rings.geometry.boundary
    near = gpd.sjoin_nearest(g, rings, how="inner", max_distance=GATE_MAX_OFF_BOUNDARY_M, distance_col="d")
    near = near.sort_values("d")
    near = near[~near.index.duplicated()].sort_index()
    out = []
    for idx, row in near.iterrows():
        tags = row["tags"]
        locked = tags.get("locked") == "yes" or tags.get("access") in ("no",)
        access = _gate_access(tags, locked)
        out.append({"community_id": row["id"], "name": row["name"], "rider_access": access,
                    "hours": tags.get("opening_hours", ""), "locked": locked, "key": row["key"],
                    "source": row["source"], "geometry": rows[idx]["geometry"]})
    gates = gpd.GeoDataFrame(out or None, columns=cols[1:] + ["key"], geometry="geometry", crs=CRS)
    gates["id"] = _unique_ids([ids.gate_id(c, k) for c, k in zip(gates["community_id"], gates["key"])], gates["key"])
    return gates


def _gate_access(tags: dict, locked: bool) -> str:
    """Rider access of a gate from OSM tags: none if locked, walk if vehicles are barred."""
    if locked:
        return "none"
    barrier = tags.get("barrier", "")
    for key in ("moped", "motorcycle", "bicycle", "vehicle"):
        if tags.get(key) in _YES:
            return "ride"
        if tags.get(key) in _NO:
            return "walk"
    if tags.get("foot") in _NO:
        return "none"
    if barrier in ("turnstile", "full-height_turnstile", "kissing_gate", "wicket_gate"):
        return "walk"
    return "ride"


def bundle_from_osm(path: str | Path, *, admin_code: str = "000000") -> Bundle:
    """Read an OSM file (``.osm``, ``.osm.bz2``, ``.osm.pbf``) into a :class:`Bundle`."""
    return bundle_from_elements(read_osm_elements(path), admin_code=admin_code, where=str(path))
