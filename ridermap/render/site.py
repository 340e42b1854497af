"""The rider website, rendered into strings (nothing here touches the disk).

Pages (paths from :mod:`ridermap.urls`)::

    index.html            compounds (search by name) + district care map
    c/<community>.html    compound map: layers, search "7-2", gates with current rules, unit list
    u/<unit>.html         unit deep link: gate, ride in or park and walk, route, steps, nearby
    d/<community>.js      the compound's map data, shared by its pages (cached once)
    assets/               Leaflet (vendored from ``js_lib_leaflet``), site.js, site.css

Every name from data is escaped: Jinja2 autoescapes the HTML, JSON goes
through ``tojson`` (``<``, ``>``, ``&``, ``'`` escaped) and ``site.js`` puts
names into the page with ``textContent`` only. Maps load nothing from the
network unless a basemap is asked for.

The public entry points are :func:`render_community`, :func:`render_index`
and :func:`site_assets`; :mod:`ridermap.publish.site` writes them.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from ridermap import i18n, urls
from ridermap.analysis.context import Analysis
from ridermap.analysis.routing import RoutePlan
from ridermap.config import Config, feedback_link
from ridermap.errors import RenderError
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import gate_confirmed
from ridermap.model.schema import FACILITY_LABELS, RIDER_ACCESS_LABELS
from ridermap.render.honest import compound_title, display_name, english_name, known_access, survey_key_of
from ridermap.render.site_data import (
    CARE_KINDS,
    community_data,
    coord_shift,
    index_data,
    rows,
    rule_text,
    shown_gate_names,
    unit_data,
    unit_titles,
)
from ridermap.render.site_maps import Layer, MapParts, render_map_parts, site_map
from ridermap.resources import templates_dir
from ridermap.text import natural_key

log = logging.getLogger(__name__)

__all__ = ["render_community", "render_index", "site_assets", "data_path", "FAC_CHARS"]

#: one character per facility kind (zh, en), drawn in its map marker
FAC_CHARS = i18n.labels("mapchar")


def _layer(key: str) -> Layer:
    return Layer(key, i18n.t(f"layer.{key}", "zh"), i18n.t(f"layer.{key}", "en"))


_COMMUNITY_LAYERS = [_layer(key) for key in ("outline", "paths", "buildings", "units", "gates", "facilities")]
_UNIT_LAYERS = _COMMUNITY_LAYERS + [_layer("route")]


def data_path(community_id: str) -> str:
    """Site-relative path of a compound's shared map data (``d/<id>.js``)."""
    return "d/" + urls.community_path(community_id)[2:-5] + ".js"


@lru_cache(maxsize=1)
def _env() -> Environment:
    folder = templates_dir() / "site"
    if not (folder / "base.html.j2").is_file():
        raise RenderError(f"site templates are missing from {folder}")
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(["html", "html.j2"], default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the templates ship with ridermap: no stat of them at each page
    )
    env.globals.update(msg=_message, t=_both, tm=_both_message)
    return env


def _message(key: str) -> dict[str, str]:
    """Message ``key`` of :mod:`ridermap.i18n` in both languages, for the templates."""
    return {lang: i18n.t(key, lang) for lang in i18n.LANGUAGES}


def _both(zh, en) -> Markup:
    """``{{ t(zh, en) }}`` in templates: both languages side by side, each escaped; the stylesheet shows the one
    in ``html[data-lang]``. A function, not a Jinja macro: pages call it thousands of times."""
    return Markup(f'<span lang="zh-CN">{escape(zh)}</span><span lang="en">{escape(en)}</span>')


def _both_message(key: str) -> Markup:
    """``{{ tm(key) }}`` in templates: message ``key`` of :mod:`ridermap.i18n` in both languages (:func:`_both`)."""
    return _both(i18n.t(key, "zh"), i18n.t(key, "en"))


def _parts(fmap) -> dict[str, Markup]:
    parts: MapParts = render_map_parts(fmap)
    # folium's output holds only our own constants and escaped JSON: mark it safe
    return {
        "css": Markup(parts.css),
        "html": Markup(parts.html),
        "js": Markup(parts.js),
        "script": Markup(parts.script),
    }


def _bounds(polygons: list) -> list[list[float]] | None:
    pts = [pt for poly in polygons for ring in poly for pt in ring]
    if not pts:
        return None
    lats, lons = [p[0] for p in pts], [p[1] for p in pts]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def _minify_json(obj) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    # the same escapes as Jinja's tojson: safe in any HTML or JS context
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


def render_community(
    bundle: Bundle,
    *,
    config: Config,
    plan: RoutePlan | None = None,
    analysis: Analysis | None = None,
    basemap: str | None = None,
    tianditu_key: str = "",
) -> dict[str, str]:
    """Render one compound's pages: its map page, one page per unit, its map data.

    Parameters
    ----------
    bundle
        One compound: :meth:`Bundle.community` (with nearby streets and facilities).
    config
        Language (``zh`` default), data date.
    plan
        Routes from :func:`ridermap.analysis.routing.plan_routes`.
    analysis
        The build's :class:`~ridermap.analysis.context.Analysis` (the
        district's, or this compound's sub-network view): the routes are
        planned on its network when ``plan`` is not given. The renderer never
        builds a network itself: one of ``plan`` and ``analysis`` is needed.
    basemap, tianditu_key
        See :func:`ridermap.render.site_maps.site_map`. GCJ-02 basemaps shift
        every overlay.

    Returns
    -------
    dict
        Site-relative path -> text.
    """
    if len(bundle.communities) != 1:
        raise RenderError(
            f"render_community needs one compound, got {len(bundle.communities)} (use bundle.community(id))"
        )
    shift = coord_shift(basemap)
    if plan is None:
        if analysis is None:
            raise RenderError("render_community needs the routes: pass plan= or analysis= (the build's Analysis)")
        plan = analysis.route_plan(bundle, **config.routing.options())
    data = community_data(bundle, shift=shift)
    cid = data["id"]
    signs = _sign_plan(bundle, cid, analysis)
    lang = config.language
    env = _env()
    out: dict[str, str] = {data_path(cid): "window.RM_DATA=" + _minify_json(data) + ";\n"}
    bounds = _bounds(data["outline"])
    titles = unit_titles(bundle)
    units_of: dict[str, list] = {}
    unit_rows = list(rows(bundle.units, "id", "building_id", "number", "flats"))
    for u in sorted(unit_rows, key=lambda r: natural_key(r.number or r.id)):
        t = titles[u.id]
        units_of.setdefault(u.building_id, []).append(
            {"path": urls.unit_path(u.id), "zh": t["unit_zh"], "en": t["unit_en"]}
        )
    buildings = [
        {"id": b.id, **_building_label(b), "units": units_of.get(b.id, [])}
        for b in sorted(
            rows(bundle.buildings, "id", "label", "number", "survey_key"),
            key=lambda r: natural_key(r.number or r.label),
        )
    ]
    comm = bundle.communities.iloc[0]
    gates = _gate_rows(bundle)
    name = _compound_name(comm["name"], comm["inferred"], comm["name_en"])
    facilities = [
        {"kind": f.kind, "label": FACILITY_LABELS.get(f.kind, {"zh": f.kind, "en": f.kind}), "name": f.name}
        for f in rows(bundle.facilities, "kind", "name")
    ]
    common = {
        "lang": lang,
        "prefix": "../",
        "access": RIDER_ACCESS_LABELS,
        "data_date": config.data_date,
        "data_path": data_path(cid),
        "feedback": feedback_link(config, community_id=cid),
    }
    cmap = site_map(prefix="../", bounds=bounds, layers=_COMMUNITY_LAYERS, basemap=basemap, tianditu_key=tianditu_key)
    out[urls.community_path(cid)] = env.get_template("community.html.j2").render(
        **common,
        map=_parts(cmap),
        c={
            "id": cid,
            **name,
            "access": known_access(comm["rider_access"]),
            "hours": rule_text(comm["rider_hours"]),
            "gates": gates,
            "buildings": buildings,
            "facilities": facilities,
        },
        page={"kind": "community", "cid": cid},
    )
    shared = {
        "bundle": bundle,
        "plan": plan,
        "shift": shift,
        "signs": signs,
        "comm": comm,
        "name": name,
        "cid": cid,
        "names": shown_gate_names(bundle),
        "rules": {g["id"]: g for g in gates},
        "fac_names": dict(zip(bundle.facilities["id"], bundle.facilities["name"])),
        "titles": titles,
        "common": common,
        "config": config,
        "template": env.get_template("unit.html.j2"),
        # every unit page of the compound shows the same map (stable ids): built and rendered once
        "map": _parts(
            site_map(prefix="../", bounds=bounds, layers=_UNIT_LAYERS, basemap=basemap, tianditu_key=tianditu_key)
        )
        if unit_rows
        else None,
    }
    for u in unit_rows:
        out[urls.unit_path(u.id)] = _unit_page(shared, u)
    log.info("site: %s: %d pages", cid, len(out) - 1)
    return out


def _unit_page(shared: dict, u) -> str:
    """One unit's page: its plans (with the signs at the turns), nearest facilities, map and report link."""
    cid, name = shared["cid"], shared["name"]
    ud = unit_data(shared["bundle"], shared["plan"], u.id, shift=shared["shift"], signs=shared["signs"])
    plans = _plan_rows(ud["plans"], shared["names"], shared["rules"], shared["comm"], name)
    labels = {f["k"]: FACILITY_LABELS.get(f["k"], {"zh": f["k"], "en": f["k"]}) for f in ud["near"]}
    near = [
        {
            "kind": f["k"],
            "label": labels[f["k"]],
            "name": shared["fac_names"].get(f["id"], ""),
            "name_en": f.get("ne", ""),
            "d": f["d"],
        }
        for f in ud["near"]
    ]
    t = shared["titles"][u.id]
    page_plans = [
        {
            "when": p["when"],
            "rules": p["rules"],
            "entry": p["entry"],
            "legs": p["legs"],
            "gate": p["gate"],
            "min": p["min"],
        }
        for p in ud["plans"]
    ]
    return shared["template"].render(
        **{**shared["common"], "feedback": feedback_link(shared["config"], community_id=cid, unit_id=u.id)},
        map=shared["map"],
        u={"title_zh": t["title_zh"], "title_en": t["title_en"], "building_id": u.building_id, "flats": u.flats},
        c={**name, "path": urls.community_path(cid)},
        plans=plans,
        near=near,
        page={"kind": "unit", "cid": cid, "unit": u.id, "building": u.building_id, "plans": page_plans},
    )


def _gate_rows(bundle: Bundle) -> list[dict]:
    """The gates as the compound page lists them: name, rule now (never a guess), hours, 待核实."""
    shown, shown_en = shown_gate_names(bundle)
    return [
        {
            "id": g.id,
            "name": str(g.name).strip() or shown[g.id],
            "name_en": display_name(g.name, "gate", "en", g.name_en) or shown_en[g.id],
            "access": "none" if g.locked else known_access(g.rider_access),
            "locked": bool(g.locked),
            "unconfirmed": not gate_confirmed(inferred=g.inferred, rider_access=known_access(g.rider_access)),
            "hours": rule_text(g.hours) if not g.locked else {},
        }
        for g in rows(bundle.gates, "id", "name", "name_en", "locked", "rider_access", "inferred", "hours")
    ]


def _plan_rows(plans: list[dict], names: tuple[dict, dict], rules: dict, comm, name: dict) -> list[dict]:
    """A unit page's plans with their gate names and the rules (with hours) they depend on, zh and en."""
    names_zh, names_en = names
    out = []
    for p in plans:
        rule_zh = "、".join(f"{names_zh.get(r, name['name_zh'])} {_rule(rules, r, comm, 'zh')}" for r in p["rules"])
        rule_en = "; ".join(f"{names_en.get(r, name['name_en'])}, {_rule(rules, r, comm, 'en')}" for r in p["rules"])
        out.append(
            {
                **p,
                "gate_name": names_zh.get(p["gate"], ""),
                "gate_name_en": names_en.get(p["gate"], ""),
                "rule_zh": rule_zh,
                "rule_en": rule_en,
            }
        )
    return out


def _sign_plan(bundle: Bundle, cid: str, analysis: Analysis | None):
    """The compound's junction signs, so route steps can name them ("at sign J3"); None without the network.

    A sign plan that cannot be made never costs the rider the page: the steps then name no sign.
    """
    if analysis is None:
        return None
    try:
        return analysis.sign_plan(bundle, cid)
    except Exception as exc:  # noqa: BLE001 - the page is worth more than the sign names in it
        log.warning("site: %s: no sign names in the route steps (%s)", cid, exc)
        return None


def _compound_name(name, inferred, name_en="") -> dict[str, str]:
    """``name`` (zh, for titles), ``name_zh``, ``name_en``: the compound's name, 待核实 when inferred, never its id."""
    zh = compound_title(name, inferred, "zh")[0]
    en = compound_title(name, inferred, "en", name_en)[0]
    return {"name": zh, "name_zh": zh, "name_en": en}


def _building_label(b) -> dict[str, str]:
    """``label`` / ``label_en`` of a building in the lists: its label or number, else 未编号楼栋 + its key."""
    text = str(b.label or "").strip() or str(b.number or "").strip()
    if text:
        return {"label": text, "label_en": english_name(text, "building")}
    key = survey_key_of(b.survey_key, b.id)
    return {"label": f"未编号楼栋 {key}", "label_en": f"Building (no number) {key}"}


def _rule(rules: dict, rid: str, comm, lang: str) -> str:
    hours = rules[rid]["hours"] if rid in rules else rule_text(comm["rider_hours"])
    return hours.get(lang, "") if hours else ""


def render_index(
    bundle: Bundle,
    *,
    config: Config,
    basemap: str | None = None,
    tianditu_key: str = "",
    kinds: tuple[str, ...] = CARE_KINDS,
) -> str:
    """Render ``index.html``: every compound (search by name) and the district care map.

    Parameters
    ----------
    bundle
        The whole district (all compounds).
    config
        ``name`` is the page title; language, data date.
    basemap, tianditu_key
        As for :func:`render_community`.
    kinds
        Facility kinds on the care map.
    """
    shift = coord_shift(basemap)
    data = index_data(bundle, shift=shift, kinds=kinds)
    polys = [poly for c in data["communities"] for poly in c["outline"]]
    bounds = _bounds(polys) or _bounds([[[f["p"] for f in data["fac"] if f["p"]]]])
    layers = [Layer("compounds", "小区", "Compounds")] + [
        Layer(k, FACILITY_LABELS[k]["zh"], FACILITY_LABELS[k]["en"]) for k in kinds
    ]
    fmap = site_map(prefix="", bounds=bounds, layers=layers, basemap=basemap, tianditu_key=tianditu_key)
    units = bundle.units.groupby("community_id").size().to_dict() if len(bundle.units) else {}
    communities = sorted(
        (
            {
                "id": c.id,
                **_compound_name(c.name, c.inferred, c.name_en),
                "access": known_access(c.rider_access),
                "units": int(units.get(c.id, 0)),
                "path": urls.community_path(c.id),
            }
            for c in bundle.communities.itertuples(index=False)
        ),
        key=lambda c: natural_key(c["name"]),
    )
    care = []
    for k in kinds:
        items = [f for f in data["fac"] if f["k"] == k]
        if items:
            care.append({"kind": k, "label": FACILITY_LABELS[k], "places": [{"name": f["n"]} for f in items]})
    return (
        _env()
        .get_template("index.html.j2")
        .render(
            lang=config.language,
            prefix="",
            access=RIDER_ACCESS_LABELS,
            data_date=config.data_date,
            title=config.name,
            communities=communities,
            care=care,
            map=_parts(fmap),
            page={"kind": "index", "index": data},
        )
    )


def search_script(bundle: Bundle) -> str:
    """``d/search.js``: the whole site's search index as a script (``file://`` pages cannot fetch JSON).

    Data text is JSON-encoded with ``<`` and the line separators escaped, so
    no name can close a script or break the line.
    """
    import json

    from ridermap.render.site_data import search_entries

    text = json.dumps(search_entries(bundle), ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.RM_SEARCH = {text};\n"


def _leaflet_dir() -> Path:
    try:
        import js_lib_leaflet
    except ImportError as exc:
        raise RenderError(
            "the rider site needs Leaflet from the package django-js-lib-leaflet: pip install django-js-lib-leaflet"
        ) from exc
    folder = Path(js_lib_leaflet.__file__).resolve().parent / "static" / "js_lib_leaflet"
    if not (folder / "leaflet.js").is_file():
        raise RenderError(f"Leaflet files are missing from {folder}; reinstall django-js-lib-leaflet")
    return folder


def site_assets() -> dict[str, str | Path]:
    """The shared assets: site-relative path -> text (rendered) or a file to copy.

    Leaflet's ``leaflet.js``, ``leaflet.css`` and its images come from the
    installed ``js_lib_leaflet`` package (never committed copies);
    ``site.js`` and ``site.css`` from ``templates/site/``.
    """
    leaflet = _leaflet_dir()
    out: dict[str, str | Path] = {
        "assets/leaflet.js": leaflet / "leaflet.js",
        "assets/leaflet.css": leaflet / "leaflet.css",
        "assets/site.css": templates_dir() / "site" / "site.css",
    }
    for image in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png"):
        if (leaflet / "images" / image).is_file():
            out[f"assets/images/{image}"] = leaflet / "images" / image
    labels = {"kinds": FACILITY_LABELS, "access": RIDER_ACCESS_LABELS}
    out["assets/site.js"] = (
        _env().get_template("site.js.j2").render(labels=labels, fac_chars=FAC_CHARS, mapui=i18n.labels("sitemap"))
    )
    out["sw.js"] = service_worker(out)
    return out


def service_worker(assets: dict[str, str | Path]) -> str:
    """``sw.js``: the offline service worker, its cache named after a digest of the assets and ridermap's
    version (a new build's worker replaces the old cache; the same build gives the same bytes)."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    try:
        h.update(version("ridermap").encode())
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        h.update(b"unknown")
    for rel in sorted(assets):
        content = assets[rel]
        h.update(rel.encode() + b"\0" + (content.read_bytes() if isinstance(content, Path) else content.encode()))
    shell = ["./", "index.html"] + sorted(rel for rel in assets if rel.startswith("assets/"))
    return _env().get_template("sw.js.j2").render(version=h.hexdigest()[:16], shell=shell)
