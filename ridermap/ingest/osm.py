"""Read OSM data (``.osm``, ``.osm.bz2``, ``.osm.pbf``) into the community model.

pyosmium does the reading (XML, bz2 and PBF alike, with node locations and
multipolygon areas); :func:`bundle_from_elements` is the pure core that maps
tags (domain.md §3) to the six layers and assigns features to compounds by
geometry. Clipped extracts are survived: paths are cut to their longest run
of known nodes, building outlines to their known nodes (when those still make
a valid polygon); what is cut or dropped is reported as findings
(``osm_way_clipped``, ``osm_dropped``) with the OSM ids. Compounds without a
name get an inferred one (:func:`ridermap.model.infer.infer_names`); a
compound without an ``access`` tag has rider rule ``unknown``.
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
from shapely.geometry.base import BaseGeometry

from ridermap import ids
from ridermap.errors import InputError
from ridermap.model.bundle import Bundle
from ridermap.model.findings import Finding
from ridermap.model.infer import NAMING_PLACES, infer_names
from ridermap.model.schema import CRS, PATH_KINDS_RIDEABLE
from ridermap.numbers import parse_building_number, parse_unit_number
from ridermap.utm import metric_crs

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".o5m")
GATE_BARRIERS = {
    "gate",
    "lift_gate",
    "swing_gate",
    "sliding_gate",
    "entrance",
    "wicket_gate",
    "turnstile",
    "full-height_turnstile",
    "kissing_gate",
    "bollard",
}
COMPOUND_LANDUSE = {"residential"}
_BUILDING_NO = {"no", "roof", "construction"}
_YES = {"yes", "designated", "permissive", "destination"}
_NO = {"no", "private_no", "dismount"}
#: OSM compound outlines are drawn loosely; gates this close to one belong to it.
GATE_MAX_OFF_BOUNDARY_M = 15.0
RIDER_STATION_WORDS = ("骑手驿站", "暖新驿站", "骑手之家", "小哥驿站", "新就业群体", "户外劳动者", "rider station")
#: ``entrance=*`` values (OSM wiki Key:entrance) of doors that are not a home's: not unit doors.
NON_HOME_ENTRANCES = frozenset({"service", "garage", "emergency", "exit", "shop", "delivery"})
#: keys that make an entrance node a shop's, an office's, a station's... door.
_POI_KEYS = ("shop", "office", "craft", "tourism", "healthcare", "public_transport", "leisure")
#: ``amenity=social_facility`` kinds where people live (their doors are home doors).
_HOME_SOCIAL_FACILITIES = frozenset({"group_home", "assisted_living", "nursing_home"})
#: buildings whose doors are not homes' (garages, shops, stations).
NON_HOME_BUILDINGS = frozenset(
    {
        "garage",
        "garages",
        "carport",
        "parking",
        "kiosk",
        "retail",
        "commercial",
        "supermarket",
        "industrial",
        "warehouse",
        "train_station",
        "transportation",
    }
)
#: at most this many OSM ids are spelled out in one finding's message (all are in its ``value``).
_IDS_IN_MESSAGE = 20


@dataclass
class OsmElements:
    """What the reader pulls out of an OSM file: plain Python, no osmium objects."""

    nodes: list[tuple[int, float, float, dict]] = field(default_factory=list)  # id, lon, lat, tags
    lines: list[tuple[int, list[int], np.ndarray, dict]] = field(default_factory=list)  # way id, node ids, coords, tags
    areas: list[tuple[str, int, BaseGeometry, dict]] = field(
        default_factory=list
    )  # "way"/"relation", id, geometry, tags
    clipped: list[tuple[str, int, dict]] = field(
        default_factory=list
    )  # ways kept cut to their known nodes: "way", id, tags
    dropped: list[tuple[str, int, dict, str]] = field(default_factory=list)  # "way"/"relation", id, tags, reason


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
        or _naming_area(tags)
    )


def _naming_area(tags: dict) -> bool:
    """A named area that can lend its name to an unnamed compound beside or around it."""
    return bool(_name(tags)) and (tags.get("place") in NAMING_PLACES or "landuse" in tags or "amenity" in tags)


def _area_layer(tags: dict) -> str:
    """The layer an OSM area feeds (for findings about it)."""
    if tags.get("landuse") in COMPOUND_LANDUSE or tags.get("place") == "neighbourhood":
        return "communities"
    if "building" in tags:
        return "buildings"
    return "facilities" if "amenity" in tags else "places"


def read_osm_elements(path: str | Path) -> OsmElements:
    """Read the nodes, ways and areas ridermap uses from an OSM file.

    Ways that reference nodes absent from the file (clipped extracts) are
    cut: a path to its longest run of known nodes, a building outline to its
    known nodes; other areas and multipolygons with missing members are
    dropped. Both are listed in :attr:`OsmElements.clipped` and
    :attr:`OsmElements.dropped`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    out = OsmElements()
    state = _ReadState()
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):
                if len(obj.tags) and obj.location.valid():
                    out.nodes.append((obj.id, obj.location.lon, obj.location.lat, dict(obj.tags)))
            elif isinstance(obj, osmium.osm.Way):
                _read_way(obj, out, state)
            elif isinstance(obj, osmium.osm.Relation):
                tags = dict(obj.tags)
                if tags.get("type") in ("multipolygon", "boundary") and _wanted_area(tags):
                    state.relations[obj.id] = (tags, [m.ref for m in obj.members if m.type == "w"])
            elif isinstance(obj, osmium.osm.Area):
                _read_area(obj, out, state)
    except RuntimeError as exc:
        raise InputError(f"{path}: cannot read OSM data: {str(exc).splitlines()[0]}") from exc
    _note_dropped_relations(out, state)
    if not (out.nodes or out.lines or out.areas):
        raise InputError(f"{path}: no OSM features found (empty or not an OSM file)")
    return out


@dataclass
class _ReadState:
    ways: set[int] = field(default_factory=set)  # every way id in the file
    gappy: set[int] = field(default_factory=set)  # ways with nodes missing from the file
    relations: dict[int, tuple[dict, list[int]]] = field(
        default_factory=dict
    )  # wanted multipolygons: tags, member ways
    area_relations: set[int] = field(default_factory=set)  # relations that became areas


def _read_way(way, out: OsmElements, state: _ReadState) -> None:
    """Keep paths and fences (cut to known nodes); build clipped building outlines."""
    tags = dict(way.tags)
    state.ways.add(way.id)
    complete = all(n.location.valid() for n in way.nodes)
    if not complete:
        state.gappy.add(way.id)
    if "highway" in tags or "barrier" in tags:
        refs, coords = _valid_run(way)
        if len(refs) >= 2:
            out.lines.append((way.id, refs, coords, tags))
            if not complete and "highway" in tags:
                out.clipped.append(("way", way.id, tags))
        elif "highway" in tags:
            out.dropped.append(("way", way.id, tags, "nodes"))
    closed = len(way.nodes) >= 4 and way.nodes[0].ref == way.nodes[-1].ref
    if complete or not closed or not _wanted_area(tags) or tags.get("area") == "no":
        return
    poly = _clipped_polygon(way) if "building" in tags else None
    if poly is None:
        out.dropped.append(("way", way.id, tags, "nodes"))
    else:
        out.areas.append(("way", way.id, poly, tags))
        out.clipped.append(("way", way.id, tags))


def _clipped_polygon(way):
    """The polygon of a closed way's known nodes, or ``None`` (< 3 nodes, or not a valid polygon)."""
    coords = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
    coords = [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]
    if len(coords) > 1 and coords[0] == coords[-1]:
        coords = coords[:-1]
    if len(set(coords)) < 3:
        return None
    poly = shapely.Polygon(coords)
    return poly if poly.is_valid and poly.area > 0 else None


def _read_area(obj, out: OsmElements, state: _ReadState) -> None:
    tags = dict(obj.tags)
    from_way = obj.from_way()
    if from_way and obj.orig_id() in state.gappy:
        return  # cut above, from its known nodes
    if not from_way:
        state.area_relations.add(obj.orig_id())
    if not _wanted_area(tags):
        return
    kind = "way" if from_way else "relation"
    try:
        geom = wkb.loads(_WKB.create_multipolygon(obj), hex=True)
    except (RuntimeError, osmium.InvalidLocationError) as exc:
        log.debug("skip area %s: %s", obj.orig_id(), exc)
        out.dropped.append((kind, obj.orig_id(), tags, "invalid"))
        return
    out.areas.append((kind, obj.orig_id(), geom, tags))


_WKB = osmium.geom.WKBFactory()


def _note_dropped_relations(out: OsmElements, state: _ReadState) -> None:
    """Multipolygons that did not become areas: members missing from the extract, or invalid."""
    for rid, (tags, members) in sorted(state.relations.items()):
        if rid in state.area_relations:
            continue
        missing = any(m not in state.ways or m in state.gappy for m in members)
        out.dropped.append(("relation", rid, tags, "members" if missing else "invalid"))


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


def _name_en(tags: dict) -> str:
    """The English name or the pinyin transliteration a mapper gave (``name:en``, ``name:zh-Latn-pinyin``)."""
    return tags.get("name:en") or tags.get("name:zh-Latn-pinyin") or tags.get("name:zh_pinyin", "")


def bundle_from_elements(elements: OsmElements, *, admin_code: str, where: str) -> Bundle:
    """Map OSM elements to the six layers (pure: no IO).

    Compounds are ``landuse=residential`` (or ``place=neighbourhood``)
    polygons that hold a building; buildings, units and gates belong to the
    compound their geometry falls in; public streets and facilities outside
    any compound get ``community_id == ""``. What could not be read as it
    is (ways cut at the extract edge, relations with missing members,
    residential areas without buildings, entrances that are not homes, unit
    refs that are no number) comes back as ``bundle.findings``.
    """
    source = Path(where).name or where
    comm_rows, bld_rows, fac_rows, place_rows = _area_rows(elements)
    communities = gpd.GeoDataFrame(
        comm_rows or None,
        columns=[
            "key",
            "name",
            "name_en",
            "source",
            "geometry",
            "rider_access",
            "inferred",
            "hours",
            "addr_street",
            "addr_housenumber",
        ],
        geometry="geometry",
        crs=CRS,
    )
    buildings = gpd.GeoDataFrame(
        bld_rows or None,
        columns=["key", "number", "label", "levels", "source", "btype", "addr_street", "addr_housenumber", "geometry"],
        geometry="geometry",
        crs=CRS,
    )
    communities, findings = _compounds_with_buildings(communities, buildings, source)
    communities["id"] = [ids.community_id(admin_code, k) for k in communities["key"]]
    communities["rider_hours"] = communities["hours"]
    communities["admin_code"] = admin_code

    buildings = _assign_community(buildings, communities, point=True)
    buildings["id"] = _unique_ids(
        [
            ids.building_id(c or ids.slug(admin_code), n, fallback=k) if c else f"{ids.slug(admin_code)}-b_{k}"
            for c, n, k in zip(buildings["community_id"], buildings["number"], buildings["key"])
        ],
        buildings["key"],
    )

    unit_rows, gate_rows, node_facilities, place_points = _node_rows(elements.nodes)
    fac_rows += node_facilities
    metric = metric_crs(
        list(communities.geometry) + list(buildings.geometry)
        or [shapely.Point(lon, lat) for _, lon, lat, _ in elements.nodes[:1]]
    )
    units, extra_gates, unit_findings = _units_from_entrances(unit_rows, buildings, communities, metric, where=source)
    gates = _gates_from_nodes(gate_rows + extra_gates, communities, metric, admin_code)
    facilities = gpd.GeoDataFrame(
        fac_rows or None, columns=["kind", "name", "name_en", "key", "source", "geometry"], geometry="geometry", crs=CRS
    )
    facilities = _assign_community(facilities, communities, point=True)
    facilities["id"] = _unique_ids(
        [ids.facility_id(k, key) for k, key in zip(facilities["kind"], facilities["key"])], facilities["key"]
    )
    paths, streets = _path_layers(elements.lines, communities)

    places = gpd.GeoDataFrame(
        place_rows + place_points or None,
        columns=["name", "kind", "source", "residential", "geometry"],
        geometry="geometry",
        crs=CRS,
    )
    communities, name_findings = infer_names(communities, buildings=buildings, places=places, streets=streets)
    findings += _reading_findings(elements, source) + unit_findings + name_findings
    return Bundle.from_layers(
        {
            "communities": communities,
            "gates": gates,
            "buildings": buildings,
            "units": units,
            "facilities": facilities,
            "paths": paths,
        }
    ).with_findings(findings)


def _area_rows(elements: OsmElements) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """Rows of compounds, buildings, facilities and naming places from the OSM areas."""
    comm_rows, bld_rows, fac_rows, place_rows = [], [], [], []
    for kind, oid, geom, tags in elements.areas:
        key = ids.osm_key(kind, oid)
        src = f"osm:{kind}/{oid}"
        if tags.get("landuse") in COMPOUND_LANDUSE or tags.get("place") == "neighbourhood":
            access, inferred = _compound_access(tags)
            comm_rows.append(
                {
                    "key": key,
                    "name": _name(tags),
                    "name_en": _name_en(tags),
                    "source": src,
                    "geometry": geom,
                    "rider_access": access,
                    "inferred": inferred,
                    "hours": tags.get("opening_hours", ""),
                    "addr_street": tags.get("addr:street", ""),
                    "addr_housenumber": tags.get("addr:housenumber", ""),
                }
            )
        elif "building" in tags and tags["building"] not in _BUILDING_NO:
            label = _name(tags) or tags.get("addr:housenumber", "")
            number = parse_building_number(_name(tags)) or parse_building_number(tags.get("addr:housenumber", ""))
            bld_rows.append(
                {
                    "key": key,
                    "number": number,
                    "label": label or number,
                    "levels": pd.to_numeric(tags.get("building:levels"), errors="coerce"),
                    "source": src,
                    "btype": tags["building"],
                    "addr_street": tags.get("addr:street", ""),
                    "addr_housenumber": tags.get("addr:housenumber", ""),
                    "geometry": geom,
                }
            )
        if _naming_area(tags):
            place_rows.append(
                {
                    "name": _name(tags),
                    "kind": "place" if "place" in tags else ("landuse" if "landuse" in tags else "amenity"),
                    "source": src,
                    "residential": tags.get("landuse") in COMPOUND_LANDUSE,
                    "geometry": geom,
                }
            )
        fkind = _facility_kind(tags)
        if fkind:
            fac_rows.append(
                {
                    "kind": fkind,
                    "name": _name(tags),
                    "name_en": _name_en(tags),
                    "key": key,
                    "source": src,
                    "geometry": geom.representative_point(),
                }
            )
    return comm_rows, bld_rows, fac_rows, place_rows


def _compound_access(tags: dict) -> tuple[str, str]:
    """Rider rule of a compound from its OSM tags, and ``"rider_access"`` when it is not in them.

    >>> _compound_access({"access": "no"}), _compound_access({"motorcycle": "no"}), _compound_access({})
    (('none', ''), ('walk', ''), ('unknown', 'rider_access'))
    """
    if tags.get("access") == "no":
        return "none", ""
    for key in ("moped", "motorcycle", "bicycle", "vehicle"):
        if tags.get(key) in _YES:
            return "ride", ""
        if tags.get(key) in _NO:
            return "walk", ""
    if tags.get("access") in _YES:
        return "ride", ""
    return "unknown", "rider_access"  # no tag, or one (private, customers) that does not say


def _compounds_with_buildings(
    communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, source: str
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Keep the residential areas that hold a building; report the others (plain landuse)."""
    keep = np.zeros(len(communities), dtype=bool)
    if len(communities) and len(buildings):
        probe = gpd.GeoDataFrame(geometry=buildings.geometry.representative_point().values, crs=CRS)
        hit = gpd.sjoin(probe, communities[["geometry"]], predicate="within", how="inner")
        keep = communities.index.isin(hit["index_right"])
    empty = communities[~keep]
    findings = []
    if communities.empty:
        findings.append(
            Finding(
                "warning",
                "osm_no_residential",
                "communities",
                "",
                source,
                "文件中没有居住区（landuse=residential 或 place=neighbourhood），因此没有小区",
                "The file has no residential area (landuse=residential or place=neighbourhood), so no compound",
            )
        )
    if len(empty):
        listed = [
            f"osm:{'way' if k.startswith('w') else 'relation'}/{k[1:]}" + (f" {n}" if n else "")
            for k, n in zip(empty["key"], empty["name"])
        ]
        none_left = not keep.any()
        findings.append(
            Finding(
                "warning" if none_left else "info",
                "osm_residential_empty",
                "communities",
                "",
                source,
                f"{len(empty)} 个居住区（landuse=residential）内没有楼栋，未作为小区"
                + ("，因此本文件没有小区" if none_left else "")
                + f"：{_list_ids(listed)}",
                f"{len(empty)} residential area(s) (landuse=residential) hold no building and are not compounds"
                + ("; so this file yields no compound" if none_left else "")
                + f": {_list_ids(listed)}",
                value=" ".join(s.split(" ")[0] for s in listed),
            )
        )
    return communities[keep].reset_index(drop=True), findings


def _node_rows(nodes) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """Entrance, gate, facility and naming-place rows from tagged nodes."""
    unit_rows, gate_rows, fac_rows, place_rows = [], [], [], []
    for oid, lon, lat, tags in nodes:
        pt = shapely.Point(lon, lat)
        key = ids.osm_key("node", oid)
        src = f"osm:node/{oid}"
        if tags.get("barrier") in GATE_BARRIERS:
            gate_rows.append(
                {
                    "key": key,
                    "name": _name(tags) or tags.get("ref", ""),
                    "name_en": _name_en(tags),
                    "tags": tags,
                    "source": src,
                    "geometry": pt,
                }
            )
        elif "entrance" in tags:
            unit_rows.append({"key": key, "tags": tags, "source": src, "geometry": pt})
        fkind = _facility_kind(tags)
        if fkind:
            fac_rows.append(
                {"kind": fkind, "name": _name(tags), "name_en": _name_en(tags), "key": key, "source": src}
                | {"geometry": pt}
            )
        if tags.get("place") in NAMING_PLACES and _name(tags):
            place_rows.append(
                {"name": _name(tags), "kind": "place", "source": src, "residential": False, "geometry": pt}
            )
    return unit_rows, gate_rows, fac_rows, place_rows


def _path_layers(lines, communities: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The paths layer, and the named streets (for naming compounds)."""
    path_rows, street_rows = [], []
    for oid, _refs, coords, tags in lines:
        if "highway" not in tags or tags.get("area") == "yes":
            continue
        geom = shapely.LineString(coords)
        path_rows.append(
            {
                "id": f"p-{ids.osm_key('way', oid)}",
                "kind": tags["highway"],
                "access": tags.get("access", ""),
                "rideable": _rideable(tags),
                "name": _name(tags),
                "source": f"osm:way/{oid}",
                "geometry": geom,
            }
        )
        if _name(tags):
            street_rows.append({"name": _name(tags), "geometry": geom})
    paths = gpd.GeoDataFrame(
        path_rows or None,
        columns=["id", "kind", "access", "rideable", "name", "source", "geometry"],
        geometry="geometry",
        crs=CRS,
    )
    streets = gpd.GeoDataFrame(street_rows or None, columns=["name", "geometry"], geometry="geometry", crs=CRS)
    return _assign_community(paths, communities, point=False), streets


_REASONS = {
    "nodes": ("缺少节点", "nodes missing"),
    "members": ("缺少成员", "members missing"),
    "invalid": ("轮廓无效", "invalid outline"),
}


def _reading_findings(elements: OsmElements, source: str) -> list[Finding]:
    """One finding per layer for the ways cut and the ways/relations dropped at the extract edge."""
    findings = []
    clipped: dict[str, list[str]] = {}
    for kind, oid, tags in elements.clipped:
        clipped.setdefault("paths" if "highway" in tags else _area_layer(tags), []).append(f"osm:{kind}/{oid}")
    for layer, listed in clipped.items():
        if layer == "places":  # only lent names; not a layer of the model
            continue
        findings.append(
            Finding(
                "warning",
                "osm_way_clipped",
                layer,
                "",
                source,
                f"{len(listed)} 条 OSM 线在数据范围边界被截断（缺少节点），已按已知节点保留：{_list_ids(listed)}",
                f"{len(listed)} OSM way(s) cut at the extract edge (nodes missing), kept cut to their known nodes: "
                f"{_list_ids(listed)}",
                value=" ".join(listed),
            )
        )
    dropped: dict[str, list[tuple[str, str]]] = {}
    for kind, oid, tags, reason in elements.dropped:
        layer = "paths" if "highway" in tags and kind == "way" and not _wanted_area(tags) else _area_layer(tags)
        dropped.setdefault(layer, []).append((f"osm:{kind}/{oid}" + (f" {_name(tags)}" if _name(tags) else ""), reason))
    for layer, items in dropped.items():
        if layer == "places":
            continue
        zh = [f"{s}（{_REASONS[r][0]}）" for s, r in items]
        en = [f"{s} ({_REASONS[r][1]})" for s, r in items]
        findings.append(
            Finding(
                "warning",
                "osm_dropped",
                layer,
                "",
                source,
                f"{len(items)} 个 OSM 要素因数据范围边界缺少节点或成员而未读入，请扩大下载范围：{_list_ids(zh)}",
                f"{len(items)} OSM feature(s) dropped for nodes or members missing at the extract edge; enlarge the "
                f"extract: {_list_ids(en)}",
                value=" ".join(s.split(" ")[0] for s, _ in items),
            )
        )
    return findings


def _list_ids(items: list[str]) -> str:
    """The first ``_IDS_IN_MESSAGE`` items, then how many more."""
    head = ", ".join(items[:_IDS_IN_MESSAGE])
    return head if len(items) <= _IDS_IN_MESSAGE else f"{head}, … (+{len(items) - _IDS_IN_MESSAGE})"


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
    hit = gpd.sjoin(
        gpd.GeoDataFrame(geometry=probe, crs=CRS), communities[["id", "geometry"]], predicate="within", how="inner"
    )
    # nested compounds: the smallest polygon wins
    if hit.index.has_duplicates:
        areas = communities.geometry.area
        hit["area"] = areas.loc[hit["index_right"]].values
        hit = hit.sort_values("area").groupby(level=0).head(1)
    gdf.loc[hit.index, "community_id"] = hit["id"].values
    return gdf


def _units_from_entrances(
    rows, buildings, communities, metric, *, where: str = ""
) -> tuple[gpd.GeoDataFrame, list[dict], list[Finding]]:
    """Entrance nodes on a building outline are unit doors; on a compound boundary, gates.

    Doors that are not a home's (see :func:`_not_home`) are neither units
    nor gates unless they are a compound's service or emergency gate; they
    and the unit refs that hold no number are reported as findings.
    """
    cols = ["building_id", "community_id", "number", "label", "flats", "key", "source", "geometry"]
    if not rows:
        return gpd.GeoDataFrame(columns=cols + ["id"], geometry="geometry", crs=CRS), [], []
    ent = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs(metric)
    bm = buildings[["id", "community_id", "btype", "geometry"]].to_crs(metric)
    bm["geometry"] = bm.geometry.boundary
    near = gpd.sjoin_nearest(ent, bm, how="left", max_distance=3.0, distance_col="d")
    near = near[~near.index.duplicated()]
    unit_rows, gate_rows, not_units, unparsed = [], [], [], []
    boundaries = communities.to_crs(metric).geometry.boundary if len(communities) else gpd.GeoSeries([], crs=metric)
    for idx, row in near.iterrows():
        tags = row["tags"]
        role, why = _entrance_role(row, boundaries)
        if role == "unit":
            unit = _unit_row(tags, row, rows[idx]["geometry"])
            unit_rows.append(unit)
            if not unit["number"] and (tags.get("ref") or tags.get("addr:unit")):
                unparsed.append(f"{row['source']} {unit['raw']!r}")
        elif role == "gate":
            gate_rows.append(
                {
                    "key": row["key"],
                    "name": _name(tags) or tags.get("ref", ""),
                    "name_en": _name_en(tags),
                    "tags": tags,
                    "source": row["source"],
                    "geometry": rows[idx]["geometry"],
                }
            )
        elif role == "not_unit":
            not_units.append(f"{row['source']} {why}")
    units = gpd.GeoDataFrame(unit_rows or None, columns=cols, geometry="geometry", crs=CRS)
    units["id"] = _unique_ids(
        [ids.unit_id(b, n, fallback=k) for b, n, k in zip(units["building_id"], units["number"], units["key"])],
        units["key"],
    )
    return units, gate_rows, _entrance_findings(not_units, unparsed, where)


def _entrance_role(row, boundaries) -> tuple[str, str]:
    """What an entrance node is: ``("unit", "")`` a home door on a building; ``("not_unit", why)``
    another door on a building; ``("gate", "")`` a compound entrance on no building; else ``("", "")``."""
    tags = row["tags"]
    if isinstance(row.get("id"), str):  # on a building outline
        why = _not_home(tags) or (f"building={row['btype']}" if row["btype"] in NON_HOME_BUILDINGS else "")
        return ("not_unit", why) if why else ("unit", "")
    if (
        tags.get("entrance") in ("main", "yes", "service", "emergency")
        and not _poi_reason(tags)
        and len(boundaries)
        and boundaries.distance(row.geometry).min() < GATE_MAX_OFF_BOUNDARY_M
    ):
        return "gate", ""
    return "", ""


def _unit_row(tags: dict, row, geometry) -> dict:
    """A unit door: its number parsed from ``ref`` (``A``, ``甲``, ``2单元``...), its label as written."""
    raw = str(tags.get("ref") or tags.get("addr:unit") or tags.get("name") or "").strip()
    number = parse_unit_number(raw)
    label = raw if (raw and not raw.isdigit()) else (f"{number}单元" if number else "")
    return {
        "building_id": row["id"],
        "community_id": row["community_id"],
        "number": number,
        "label": label,
        "raw": raw,
        "flats": tags.get("addr:flats", ""),
        "key": row["key"],
        "source": row["source"],
        "geometry": geometry,
    }


def _poi_reason(tags: dict) -> str:
    """Why an entrance node is the door of a shop, office, station... (``""`` when it is not)."""
    if tags.get("railway") in ("subway_entrance", "train_station_entrance"):
        return f"railway={tags['railway']}"
    amenity = tags.get("amenity", "")
    if amenity and not (amenity == "social_facility" and tags.get("social_facility") in _HOME_SOCIAL_FACILITIES):
        return f"amenity={amenity}"
    for key in _POI_KEYS:
        if key in tags:
            return f"{key}={tags[key]}"
    return ""


def _not_home(tags: dict) -> str:
    """Why an entrance node is not a home's door, or ``""``.

    >>> [_not_home(t) for t in ({"entrance": "staircase", "ref": "A"}, {"entrance": "garage"},
    ...                         {"entrance": "yes", "shop": "bakery"},
    ...                         {"entrance": "yes", "railway": "subway_entrance"})]
    ['', 'entrance=garage', 'shop=bakery', 'railway=subway_entrance']
    """
    if tags.get("entrance") in NON_HOME_ENTRANCES:
        return f"entrance={tags['entrance']}"
    if tags.get("door") in ("garage", "overhead") or tags.get("garage"):
        return f"door={tags.get('door') or 'garage'}"
    return _poi_reason(tags)


def _entrance_findings(not_units: list[str], unparsed: list[str], where: str) -> list[Finding]:
    findings = []
    if not_units:
        findings.append(
            Finding(
                "info",
                "osm_entrance_not_unit",
                "units",
                "",
                where,
                f"{len(not_units)} 个建筑入口不是住户单元门（车库、停车场、商铺、地铁口、服务或应急出口），未作为单元："
                f"{_list_ids(not_units)}",
                f"{len(not_units)} building entrance(s) are not home doors (garage, car park, shop, metro, service "
                f"or emergency exit) and are not units: {_list_ids(not_units)}",
                value=" ".join(s.split(" ")[0] for s in not_units),
            )
        )
    if unparsed:
        findings.append(
            Finding(
                "warning",
                "osm_number_unparsed",
                "units",
                "",
                where,
                f"{len(unparsed)} 个单元门的编号无法识别，保留原文作为标签、编号为空：{_list_ids(unparsed)}",
                f"{len(unparsed)} unit door ref(s) could not be read as a number; kept as label, number left empty: "
                f"{_list_ids(unparsed)}",
                column="number",
                value=" ".join(s.split(" ")[0] for s in unparsed),
            )
        )
    return findings


def _gates_from_nodes(rows, communities, metric, admin_code) -> gpd.GeoDataFrame:
    """Gate nodes within ``GATE_MAX_OFF_BOUNDARY_M`` of a compound boundary belong to the nearest compound."""
    cols = ["id", "community_id", "name", "name_en", "rider_access", "hours", "locked", "inferred", "source"]
    cols.append("geometry")
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
        access = gate_rider_access(tags, locked)
        out.append(
            {
                "community_id": row["id"],
                "name": row["name"],
                "name_en": row.get("name_en", "") or "",
                "rider_access": access,
                "hours": tags.get("opening_hours", ""),
                "locked": locked,
                "inferred": "rider_access" if access == "unknown" else "",
                "key": row["key"],
                "source": row["source"],
                "geometry": rows[idx]["geometry"],
            }
        )
    gates = gpd.GeoDataFrame(out or None, columns=cols[1:] + ["key"], geometry="geometry", crs=CRS)
    gates["id"] = _unique_ids([ids.gate_id(c, k) for c, k in zip(gates["community_id"], gates["key"])], gates["key"])
    return gates


def gate_rider_access(tags: dict, locked: bool) -> str:
    """Rider access of a gate from OSM tags, or ``unknown`` when no tag says.

    ``none`` if locked or closed to people on foot, ``walk`` if vehicles are
    barred (or the barrier only lets people through), ``ride`` only when a tag
    lets two-wheelers or everyone in. A gate mapped with no such tag is
    ``unknown`` (shown as 待核实): its rule is a survey question, never a default.
    """
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
    if tags.get("access") in _YES:
        return "ride"
    return "unknown"


def bundle_from_osm(path: str | Path, *, admin_code: str = "000000") -> Bundle:
    """Read an OSM file (``.osm``, ``.osm.bz2``, ``.osm.pbf``) into a :class:`Bundle`."""
    return bundle_from_elements(read_osm_elements(path), admin_code=admin_code, where=str(path))
