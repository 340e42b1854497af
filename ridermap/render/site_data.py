"""Compact, JSON-ready data of the rider site (no HTML here).

Every page draws its map in the browser from these dicts (``site.js``);
names stay plain text here and are escaped where they are written (Jinja2
``tojson`` / autoescape, ``textContent`` in the browser).

Coordinates are ``[lat, lon]`` rounded to 6 decimals (~0.1 m), shifted into
GCJ-02 when the basemap is in GCJ-02 (AMap, Tencent) so overlays line up.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import TypeVar

import numpy as np
import shapely

from ridermap import i18n, urls
from ridermap.analysis.routing import RoutePlan, UnitRoute, describe, parse_hours
from ridermap.analysis.signs import signs_at_turns
from ridermap.hours import format_schedule
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import gate_confirmed
from ridermap.render.honest import (
    compound_title,
    display_name,
    english_name,
    gate_names,
    known_access,
    survey_key_of,
)
from ridermap.render.route_why import explain

log = logging.getLogger(__name__)

__all__ = [
    "GCJ02_BASEMAPS",
    "CARE_KINDS",
    "coord_shift",
    "community_data",
    "unit_data",
    "index_data",
    "unit_titles",
    "rule_text",
    "rows",
]

#: basemaps drawn in GCJ-02: overlays are shifted into it
GCJ02_BASEMAPS = frozenset({"amap", "tencent"})
#: facility kinds on the district care map
CARE_KINDS = ("rider_station", "toilet", "charger", "battery_swap", "parcel_locker", "drinking_water")

T = TypeVar("T")
Shift = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def coord_shift(basemap: str | None) -> Shift | None:
    """The coordinate shift overlays need on ``basemap`` (``None``: none)."""
    if basemap in GCJ02_BASEMAPS:
        from ridermap.crs import wgs84_to_gcj02

        return wgs84_to_gcj02
    return None


def _ne(name_en) -> dict[str, str]:
    """``{"ne": ...}`` when the data give an English name or transliteration, else nothing (pages show ``n``)."""
    text = str(name_en or "").strip()
    return {"ne": text} if text else {}


def _latlon(geom, shift: Shift | None) -> list:
    """Nested ``[lat, lon]`` lists of a Point, LineString, Polygon or Multi*."""
    if geom is None or geom.is_empty:
        return []
    kind = geom.geom_type
    if kind.startswith("Multi") or kind == "GeometryCollection":
        return [_latlon(g, shift) for g in geom.geoms]
    if kind == "Polygon":
        return [_ring(geom.exterior, shift)] + [_ring(r, shift) for r in geom.interiors]
    xy = shapely.get_coordinates(geom)
    pts = _pairs(xy, shift)
    return pts[0] if kind == "Point" else pts


def _ring(ring, shift: Shift | None) -> list:
    return _pairs(shapely.get_coordinates(ring), shift)


def _pairs(xy: np.ndarray, shift: Shift | None) -> list:
    if shift is not None:
        lon, lat = shift(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lat, lon]), 6).tolist()
    return np.round(xy[:, ::-1], 6).tolist()


def _polygons(geom, shift: Shift | None) -> list:
    """Always a list of polygons (each a list of rings)."""
    if geom is None or geom.is_empty:
        return []
    parts = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    return [_latlon(p, shift) for p in parts]


@lru_cache(maxsize=64)
def _row_maker(names: tuple[str, ...]) -> Callable[[Iterable], tuple]:
    return namedtuple("Row", names)._make  # type: ignore[attr-defined]  # fields: the columns asked for


def rows(frame, *names: str) -> Iterator:
    """The rows of ``frame``'s columns ``names`` as named tuples (``row.id``), like ``itertuples`` with only
    those columns and without its new namedtuple class (and template compile) at each call."""
    return map(_row_maker(names), zip(*(frame[name] for name in names)))


def rule_text(hours: str) -> dict:
    """Hours of a rider rule for pages: raw text, readable zh/en, schedule."""
    hours = str(hours or "").strip()
    if not hours:
        return {}
    schedule = parse_hours(hours)
    if schedule is None:
        return {"raw": hours, "zh": hours, "en": hours, "s": None}
    return {
        "raw": hours,
        "zh": format_schedule(schedule, lang="zh"),
        "en": format_schedule(schedule, lang="en"),
        "s": [list(map(list, day)) for day in schedule],
    }


def unit_titles(bundle: Bundle) -> dict[str, dict[str, str]]:
    """Display names of every unit: building label, unit label (with fallbacks), search keys.

    Computed once per bundle (kept on it: a compound's pages all ask).

    Returns
    -------
    dict
        Unit id -> ``building`` (``7号楼``), ``unit_zh`` (``2单元`` or
        ``入口1``), ``unit_en``, ``title_zh`` (``7号楼2单元``), ``title_en``,
        ``bnum``, ``unum``; in the order of the unit ids.
    """
    return bundle.memo("site unit titles", lambda: _unit_titles(bundle))


def _unit_titles(bundle: Bundle) -> dict[str, dict[str, str]]:
    b = bundle.buildings
    labels = dict(zip(b["id"], b["label"]))
    numbers = dict(zip(b["id"], b["number"]))
    u = bundle.units.sort_values("id", kind="stable")
    out: dict[str, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for uid, bid, num, label in zip(u["id"], u["building_id"], u["number"], u["label"]):
        blabel = str(labels[bid]) if bid in labels else ""
        bnum = str(numbers[bid]) if bid in numbers else ""
        if not blabel:
            blabel = f"{bnum}号楼" if bnum else ""
        seen[bid] = seen.get(bid, 0) + 1
        if label:
            uzh, uen = str(label), str(label) if not num else f"Unit {num}"
        elif num:
            uzh, uen = f"{num}单元", f"Unit {num}"
        else:
            uzh, uen = f"入口{seen[bid]}", f"Entrance {seen[bid]}"
        ben = f"Bldg {bnum}" if bnum else blabel
        out[uid] = {
            "building": blabel,
            "unit_zh": uzh,
            "unit_en": uen,
            "title_zh": f"{blabel}{uzh}" if blabel else uzh,
            "title_en": f"{ben}, {uen}" if ben else uen,
            "bnum": bnum,
            "unum": str(num or ""),
        }
    return out


def shown_gate_names(bundle: Bundle) -> tuple[dict[str, str], dict[str, str]]:
    """:func:`~ridermap.render.honest.gate_names` of the bundle's gates in zh and en, computed once per bundle."""
    return bundle.memo("site gate names", lambda: (gate_names(bundle.gates, "zh"), gate_names(bundle.gates, "en")))


def community_data(bundle: Bundle, *, shift: Shift | None = None) -> dict:
    """Everything the compound's maps draw (shared by its compound and unit pages).

    Parameters
    ----------
    bundle
        One compound (:meth:`Bundle.community`) with streets and facilities nearby.
    shift
        Coordinate shift for the basemap (:func:`coord_shift`).
    """
    comm = bundle.communities.iloc[0]
    titles = unit_titles(bundle)
    buildings = []
    for row in rows(bundle.buildings, "id", "label", "number", "survey_key", "geometry"):
        geom = row.geometry
        label_pt = geom.representative_point() if geom is not None and not geom.is_empty else None
        label = row.label or (f"{row.number}号楼" if row.number else "")
        key = "" if label else survey_key_of(row.survey_key, row.id)  # as the building's doorplate prints it
        buildings.append(
            {
                "id": row.id,
                "n": row.number,
                "l": label or f"{i18n.t('plate.no_building', 'zh')} {key}",
                "le": english_name(label, "building") if label else f"{i18n.t('plate.no_building', 'en')} {key}",
                **({"k": key} if key else {}),
                "g": _polygons(geom, shift),
                "c": _latlon(label_pt, shift) if label_pt is not None else [],
            }
        )
    units = []
    for row in rows(bundle.units, "id", "building_id", "number", "flats", "geometry"):
        t = titles[row.id]
        units.append(
            {
                "id": row.id,
                "b": row.building_id,
                "n": row.number,
                "l": t["unit_zh"],
                "le": t["unit_en"],
                "t": t["title_zh"],
                "te": t["title_en"],
                "bn": t["bnum"],
                "f": row.flats,
                "p": _latlon(row.geometry, shift),
            }
        )
    gates = []
    shown, shown_en = shown_gate_names(bundle)
    gate_cols = ("id", "name", "name_en", "locked", "rider_access", "inferred", "hours", "geometry")
    for row in rows(bundle.gates, *gate_cols):
        # the rule only from data: unknown (待核实) stays unknown; "u": inferred or unconfirmed
        access = "none" if row.locked else known_access(row.rider_access)
        unconfirmed = not gate_confirmed(inferred=row.inferred, rider_access=known_access(row.rider_access))
        gates.append(
            {
                "id": row.id,
                "n": str(row.name).strip() or shown[row.id],
                "ne": display_name(row.name, "gate", "en", row.name_en) or shown_en[row.id],
                "a": access,
                "k": bool(row.locked),
                "u": unconfirmed,
                "h": rule_text(row.hours) if not row.locked else {},
                "p": _latlon(row.geometry, shift),
            }
        )
    paths: dict[str, list] = {"ride": [], "walk": []}
    for row in rows(bundle.paths, "rideable", "geometry"):
        coords = _latlon(row.geometry, shift)
        if not coords:
            continue
        lines = coords if row.geometry.geom_type == "MultiLineString" else [coords]
        paths["ride" if row.rideable else "walk"].extend(lines)
    facilities = [
        {"id": row.id, "k": row.kind, "n": row.name, **_ne(row.name_en), "p": _latlon(row.geometry, shift)}
        for row in rows(bundle.facilities, "id", "kind", "name", "name_en", "geometry")
    ]
    return {
        "id": comm["id"],
        "name": compound_title(comm["name"], comm["inferred"], "zh")[0],
        "ne": compound_title(comm["name"], comm["inferred"], "en", comm["name_en"])[0],
        "a": known_access(comm["rider_access"]),
        "h": rule_text(comm["rider_hours"]),
        "outline": _polygons(comm.geometry, shift),
        "buildings": buildings,
        "units": units,
        "gates": gates,
        "paths": paths,
        "fac": facilities,
    }


def _plan(
    route: UnitRoute | None,
    *,
    when: str,
    rules: list[str],
    shift: Shift | None,
    names: dict,
    destination: dict[str, str],
    signs=None,
    why: dict | None = None,
) -> dict | None:
    if route is None:
        return None
    at = signs_at_turns(route, signs) if signs is not None else {}
    return {
        **(why or {}),
        "when": when,
        "rules": rules,
        "gate": route.gate_id,
        "entry": route.entry,
        "parking": route.parking_id,
        "ride_m": round(route.ride_m),
        "walk_m": round(route.walk_m),
        "length_m": round(route.length_m),
        "legs": [{"m": leg.mode, "c": _latlon(leg.geometry, shift)} for leg in route.legs],
        "zh": describe(
            route,
            lang="zh",
            gate_names=names["gate_zh"],
            parking_names=names["fac"],
            destination=destination["zh"],
            signs=at,
        ),
        "en": describe(
            route,
            lang="en",
            gate_names=names["gate_en"],
            parking_names=names["fac_en"],
            destination=destination["en"],
            signs=at,
        ),
    }


def _rules_of(route: UnitRoute | None, schedules: dict, community_id: str) -> list[str]:
    if route is None:
        return []
    rules = [g for g in route.gates_used if g in schedules]
    if route.gate_id in schedules and route.gate_id not in rules:
        rules.append(route.gate_id)
    if community_id in schedules:
        rules.append(community_id)
    return rules


def _lookups(bundle: Bundle, plan: RoutePlan) -> dict:
    """What every unit page of a compound reads, as plain dicts: computed once per compound view and plan.

    ``cid`` (the compound's id), ``titles`` (:func:`unit_titles`), ``names``
    (gate and facility names for route texts), ``rules`` (:func:`_gate_rules`),
    ``points`` (unit id -> its point), ``gates`` (gate ids and their
    coordinates, for :func:`_gates_by_distance`) and ``near`` (unit id -> its
    nearest facilities as ``unit_data`` lists them). Kept on the view, so the
    pages of a compound's units do not each look every unit up in the tables.
    """
    cached = bundle.__dict__.get("_site_lookups")
    if cached is None or cached[0] is not plan.nearest:
        cached = (plan.nearest, _make_lookups(bundle, plan))
        object.__setattr__(bundle, "_site_lookups", cached)  # a cache on the (frozen) view, never pickled
    return cached[1]


def _make_lookups(bundle: Bundle, plan: RoutePlan) -> dict:
    fac = bundle.facilities
    shown, shown_en = shown_gate_names(bundle)
    # route texts name unconfirmed gates with 待核实 / (to be confirmed)
    names = {
        "gate_zh": shown,
        "gate_en": shown_en,
        "fac": dict(zip(fac["id"], fac["name"])),
        "fac_en": {i: _ne(e).get("ne", n) for i, n, e in zip(fac["id"], fac["name"], fac["name_en"])},
    }
    gates = bundle.gates
    points: dict = {}
    for uid, geom in zip(bundle.units["id"], bundle.units.geometry.values):
        points.setdefault(uid, geom)  # the first unit of that id, as a mask's first row
    return {
        "cid": str(bundle.communities["id"].iloc[0]),
        "titles": unit_titles(bundle),
        "names": names,
        "rules": _gate_rules(gates),
        "points": points,
        "gates": (
            list(gates["id"]),
            shapely.get_x(gates.geometry.values),
            shapely.get_y(gates.geometry.values),
        ),
        "near": _near_by_unit(plan.nearest, fac),
    }


def _near_by_unit(nearest, fac) -> dict[str, list[dict]]:
    """Unit id -> its rows of ``plan.nearest`` (in their order) as ``unit_data`` lists them."""
    if not len(nearest):
        return {}
    # the first facility of an id, as the facility table indexed by id finds it
    named: dict = {}
    for i, n, e in zip(fac["id"], fac["name"], fac["name_en"]):
        named.setdefault(i, {"n": str(n), **_ne(e)})
    out: dict[str, list[dict]] = {}
    cols = (nearest[c] for c in ("unit_id", "facility_id", "kind", "distance_m"))
    for uid, fid, kind, dist in zip(*cols):
        out.setdefault(uid, []).append({"id": fid, "k": kind, **named.get(fid, {"n": ""}), "d": round(float(dist))})
    return out


def _gate_rules(gates) -> dict[str, dict]:
    """Gate id -> its rule as route explanations read it: ``access`` (``none`` when locked), ``locked``, ``hours``."""
    return {
        str(g.id): {
            "access": "none" if g.locked else known_access(g.rider_access),
            "locked": bool(g.locked),
            "hours": bool(str(g.hours or "").strip()),
        }
        for g in rows(gates, "id", "locked", "rider_access", "hours")
    }


def _gates_by_distance(gates: tuple, point) -> list[str]:
    """Gate ids, nearest to ``point`` (WGS84) first (plane distance scaled by the latitude; enough to rank).

    ``gates``: ids, x and y (:func:`_make_lookups`).
    """
    ids, x, y = gates
    if point is None or point.is_empty or not ids:
        return list(ids)
    d = np.hypot((x - point.x) * np.cos(np.radians(point.y)), y - point.y)
    return [str(ids[i]) for i in np.argsort(d, kind="stable")]


def _explained(plan: RoutePlan, route: UnitRoute | None, runner: UnitRoute | None, when: str, ctx: dict) -> dict:
    """Minutes and the why-this-gate lines of one plan's route (see :mod:`ridermap.render.route_why`)."""
    if route is None:
        return {}
    return explain(
        route,
        runner,
        costs=plan.costs,
        when=when,
        gates=ctx["rules"],
        names={"zh": ctx["names"]["gate_zh"], "en": ctx["names"]["gate_en"]},
        nearest_gates=ctx["nearest"],
    )


def unit_data(bundle: Bundle, plan: RoutePlan, unit_id: str, *, shift: Shift | None = None, signs=None) -> dict:
    """What a unit page shows: plans (with and without hour rules) and nearest facilities.

    Returns
    -------
    dict
        ``plans``: one or two dicts (``when``: ``always``, ``in`` or ``out``
        of the hours of ``rules``) with legs, text, distances, minutes
        (``min``) and why the gate (``why``: zh and en lines; ``alt``: the
        alternative within ``alternative_pct``), in the order pages should
        prefer; ``near``: nearest facility per kind.
    """
    look = _lookups(bundle, plan)
    comm_id, names = look["cid"], look["names"]
    t = look["titles"][unit_id]
    dest = {"zh": t["title_zh"], "en": t["title_en"]}
    regular = plan.routes.get(unit_id)
    rules = _rules_of(regular, plan.schedules, comm_id)
    off = plan.off_hours.get(unit_id) if plan.off_hours else None
    ctx = {
        "rules": look["rules"],
        "names": names,
        "nearest": _gates_by_distance(look["gates"], look["points"].get(unit_id)),
    }
    common = {"shift": shift, "names": names, "destination": dest, "signs": signs}
    plans = []
    if rules and unit_id in plan.off_hours:
        why_in = _explained(plan, regular, plan.runners_up.get(unit_id), "in", ctx)
        why_out = _explained(plan, off, plan.off_runners_up.get(unit_id), "out", ctx)
        plans.append(_plan(regular, when="in", rules=rules, why=why_in, **common))
        plans.append(_plan(off, when="out", rules=rules, why=why_out, **common))
    else:
        why = _explained(plan, regular, plan.runners_up.get(unit_id), "always", ctx)
        plans.append(_plan(regular, when="always", rules=[], why=why, **common))
    return {
        "unit": unit_id,
        "cid": comm_id,
        "plans": [p for p in plans if p is not None],
        "near": [dict(f) for f in look["near"].get(unit_id, [])],
    }


def search_entries(bundle: Bundle) -> list[dict]:
    """Everything a rider may type into the index search, for the whole site (``d/search.js``).

    One entry per compound (``k="c"``), building (``"b"``), unit door (``"u"``)
    and gate (``"g"``): its compound's name ``c``, building number ``bn`` and
    label ``bl``, unit number ``un`` and label ``ul``, gate name ``n``, and the
    site-relative link ``h``. The page builds its search keys from these
    (``7-2``, ``7号楼2单元``, ``七号楼``, ``南门``, an address), offline.
    """
    names = {
        c: compound_title(n, i, "zh")[0]
        for c, n, i in zip(bundle.communities["id"], bundle.communities["name"], bundle.communities["inferred"])
    }
    out: list[dict] = [{"k": "c", "c": names[c], "h": urls.community_path(c)} for c in bundle.communities["id"]]
    b = bundle.buildings
    numbers = dict(zip(b["id"], b["number"].fillna("").astype(str)))
    labels = dict(zip(b["id"], b["label"].fillna("").astype(str)))
    for bid, cid in zip(b["id"], b["community_id"]):
        if cid in names:
            out.append(
                {"k": "b", "c": names[cid], "bn": numbers[bid], "bl": labels[bid], "h": urls.building_path(cid, bid)}
            )
    u = bundle.units
    for uid, cid, bid, un, ul in zip(
        u["id"],
        u["community_id"],
        u["building_id"],
        u["number"].fillna("").astype(str),
        u["label"].fillna("").astype(str),
    ):
        if cid in names:
            out.append(
                {
                    "k": "u",
                    "c": names[cid],
                    "bn": numbers.get(bid, ""),
                    "bl": labels.get(bid, ""),
                    "un": un,
                    "ul": ul,
                    "h": urls.unit_path(uid),
                }
            )
    g = bundle.gates
    for gid, cid, name, name_en in zip(g["id"], g["community_id"], g["name"].fillna("").astype(str), g["name_en"]):
        if cid in names and name:
            english = display_name(name, "gate", "en", name_en)
            entry = {"k": "g", "c": names[cid], "n": name, "h": urls.gate_path(cid, gid)}
            out.append({**entry, "ne": english} if english != name.strip() else entry)
    return out


def index_data(bundle: Bundle, *, shift: Shift | None = None, kinds: tuple[str, ...] = CARE_KINDS) -> dict:
    """The district index: compounds (name, outline, centre) and care-map facilities."""
    comms = []
    per_compound = bundle.units.groupby("community_id").size().to_dict() if len(bundle.units) else {}
    for row in bundle.communities.itertuples(index=False):
        geom = row.geometry
        centre = geom.representative_point() if geom is not None and not geom.is_empty else None
        n_units = int(per_compound.get(row.id, 0))
        comms.append(
            {
                "id": row.id,
                "name": compound_title(row.name, row.inferred, "zh")[0],
                "ne": compound_title(row.name, row.inferred, "en", row.name_en)[0],
                "a": known_access(row.rider_access),
                "u": n_units,
                "outline": _polygons(geom.simplify(1e-5) if geom is not None else None, shift),
                "c": _latlon(centre, shift) if centre is not None else [],
            }
        )
    fac = bundle.facilities[bundle.facilities["kind"].isin(kinds)]
    facilities = [
        {"id": r.id, "k": r.kind, "n": r.name, **_ne(r.name_en), "p": _latlon(r.geometry, shift)}
        for r in fac.itertuples(index=False)
    ]
    return {"communities": comms, "fac": facilities, "kinds": list(kinds)}
