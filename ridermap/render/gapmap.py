"""Gap maps: an offline web map of the district and an A3 PDF map per compound.

:func:`gap_map` returns a folium Map whose Leaflet files are local
(``lib/leaflet.js``, ``lib/leaflet.css``: the publisher copies them from the
``django-js-lib-leaflet`` package, see :func:`leaflet_files`), no CDN, no
basemap tiles. :func:`gap_figure` returns a matplotlib Figure (A3 landscape,
CJK font, PDF ``fonttype`` left at 3). Nothing here touches the disk.

Doors are coloured by how many facility kinds they are in gap for; doors of a
compound without a usable gate (``no_gate``) are grey crosses, named in the
legend 不可达：无可用出入口 / No usable gate: they are not facility gaps.
Gates of unknown rule or inferred (待核实) are hollow grey.

Data text is hostile: every text property of the map's GeoJSON is
HTML-escaped (:func:`ridermap.safe_text.html_text`) before folium writes it,
because folium's tooltips and popups insert properties as HTML; element ids
are deterministic (:func:`ridermap.render.site_maps.stable_ids`). In the PDF
figure, data text goes through :func:`ridermap.render.fonts.drawable`.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template
from folium.utilities import JsCode
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ridermap import i18n
from ridermap.analysis.gaps import KIND_MODE, GapReport
from ridermap.errors import RenderError
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import gate_confirmed
from ridermap.model.schema import FACILITY_LABELS, RIDER_ACCESS_LABELS
from ridermap.render.fonts import check_glyphs, drawable, font_family
from ridermap.render.honest import compound_title, draft_band, known_access, mark_unconfirmed
from ridermap.render.honest import words as honest_words
from ridermap.render.signs_map import draw_geoms
from ridermap.render.site_maps import stable_ids
from ridermap.safe_text import html_text
from ridermap.utm import utm_crs, utm_crs_of_bounds

log = logging.getLogger(__name__)

__all__ = [
    "GAP_COLOURS",
    "NO_GATE_COLOUR",
    "KIND_COLOURS",
    "gap_colour",
    "door_colour",
    "gap_map",
    "gap_map_html",
    "gap_figure",
    "GapMapLayers",
    "leaflet_files",
]

#: colour by number of kinds in gap: 0, 1, 2, 3 or more
GAP_COLOURS = ("#2e7d32", "#f9a825", "#ef6c00", "#c62828")
#: doors of a compound without a usable gate: not judged, not a gap
NO_GATE_COLOUR = "#9e9e9e"
KIND_COLOURS = {
    "charger": "#1565c0",
    "battery_swap": "#6a1b9a",
    "rider_parking": "#00838f",
    "parcel_locker": "#5d4037",
    "toilet": "#455a64",
    "rider_station": "#ad1457",
    "drinking_water": "#0277bd",
    "transfer_bicycle": "#558b2f",
}
_KIND_MARKERS = {
    "charger": "^",
    "battery_swap": "v",
    "rider_parking": "s",
    "parcel_locker": "D",
    "toilet": "P",
    "rider_station": "*",
    "drinking_water": "o",
    "transfer_bicycle": "X",
}
_GATE_COLOURS = {"ride": "#2e7d32", "walk": "#ef6c00", "none": "#c62828", "unknown": "#616161"}
_PAPER_MM = {"A4": (297, 210), "A3": (420, 297), "A2": (594, 420), "A1": (841, 594)}
_ATTRIBUTION = "© OpenStreetMap contributors"


def gap_colour(n_gaps: int) -> str:
    """Colour of a door in gap for ``n_gaps`` kinds."""
    return GAP_COLOURS[min(int(n_gaps), len(GAP_COLOURS) - 1)]


def door_colour(n_gaps: int, no_gate: bool) -> str:
    """Colour of a door: grey when its compound has no usable gate, else by gaps."""
    return NO_GATE_COLOUR if no_gate else gap_colour(n_gaps)


def _gate_access(locked, inferred, rider_access) -> str:
    """A gate's symbol: ``none`` when locked, ``unknown`` when inferred or of unknown rule, else its rule."""
    if bool(locked):
        return "none"
    if not gate_confirmed(inferred=inferred, rider_access=known_access(rider_access)):
        return "unknown"
    return known_access(rider_access)


def leaflet_files() -> dict[str, Path]:
    """Leaflet files to ship beside the HTML: ``{relative target: source path}``.

    From the ``django-js-lib-leaflet`` package (Leaflet 1.9.4, BSD-2-Clause).
    """
    try:
        import js_lib_leaflet
    except ImportError as exc:  # a declared dependency
        raise RenderError("the 'django-js-lib-leaflet' package is needed for offline maps") from exc
    root = Path(js_lib_leaflet.__file__).parent / "static" / "js_lib_leaflet"
    files = {"leaflet.js": root / "leaflet.js", "leaflet.css": root / "leaflet.css"}
    files.update({f"images/{p.name}": p for p in sorted((root / "images").glob("*.png"))})
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise RenderError(f"Leaflet files missing from django-js-lib-leaflet: {', '.join(missing)}")
    return files


def _fmt(d: float, t: Mapping) -> str:
    return f"{d:.0f} {t['metres']}" if np.isfinite(d) else t["unreachable"]


def _escaped(gdf: gpd.GeoDataFrame) -> dict:
    """``gdf.__geo_interface__`` with every text property HTML-escaped (folium shows properties as HTML)."""
    props = gdf.drop(columns=gdf.geometry.name).copy()
    for col in props.columns:
        if props[col].dtype.kind == "O":  # object and pandas string dtypes
            props[col] = [html_text(v) if isinstance(v, str) else v for v in props[col]]
    props.columns = [html_text(c) for c in props.columns]
    return gpd.GeoDataFrame(props, geometry=gdf.geometry.values, crs=gdf.crs).__geo_interface__


def gap_map_html(
    report: GapReport,
    bundle: Bundle,
    *,
    sites: gpd.GeoDataFrame | None = None,
    language: str = "zh",
    asset_prefix: str = "lib/",
) -> str:
    """The whole gap map page (:func:`gap_map` rendered), byte-identical for the same inputs."""
    with stable_ids("gap"):
        fmap = gap_map(report, bundle, sites=sites, language=language, asset_prefix=asset_prefix)
        page = fmap.get_root().render()
    return _page_head(page, language)


_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>', re.S)


def _page_head(page: str, language: str) -> str:
    """Language, title and a zoomable viewport on folium's page (it writes ``<html>`` bare, no title, and
    ``user-scalable=no``, which keeps people with poor sight from zooming)."""
    lang = "en" if i18n.language(language) == "en" else "zh-Hans"
    title = html.escape(i18n.t("gapmap.title", language))
    page = page.replace("<html>", f'<html lang="{lang}">', 1)
    page = _VIEWPORT.sub('<meta name="viewport" content="width=device-width, initial-scale=1" />', page, count=1)
    return page.replace("<head>", f"<head>\n    <title>{title}</title>", 1)


def gap_map(
    report: GapReport,
    bundle: Bundle,
    *,
    sites: gpd.GeoDataFrame | None = None,
    language: str = "zh",
    asset_prefix: str = "lib/",
) -> folium.Map:
    """An offline folium map of doors coloured by gap, facilities and proposed sites.

    Parameters
    ----------
    report
        The :class:`~ridermap.analysis.gaps.GapReport`.
    bundle
        The bundle it was computed on (outlines, paths, facilities).
    sites
        Proposed sites (``SitingResult.sites`` frames, concatenated).
    language
        ``zh`` or ``en``.
    asset_prefix
        Where the page finds ``leaflet.js`` / ``leaflet.css`` (relative URL).

    Returns
    -------
    folium.Map
        Render it inside :func:`~ridermap.render.site_maps.stable_ids` (as
        :func:`gap_map_html` does) for deterministic element ids.
    """
    t = i18n.words("gapmap", language)
    m = folium.Map(tiles=None, control_scale=False, prefer_canvas=True)
    # local Leaflet only: no CDN (jQuery, Bootstrap and awesome-markers are not used)
    m.default_js = [("leaflet", f"{asset_prefix}leaflet.js")]
    m.default_css = [("leaflet_css", f"{asset_prefix}leaflet.css")]
    if len(bundle.communities):
        comms = bundle.communities[["id", "name", "geometry"]].copy()
        comms["name"] = [
            compound_title(n, i, language, e)[0]  # never the OSM id; 待核实 if inferred
            for n, i, e in zip(
                bundle.communities["name"], bundle.communities["inferred"], bundle.communities["name_en"]
            )
        ]
        comms["coverage"] = _coverage_bars(report, list(comms["id"]), language)
        folium.GeoJson(
            _escaped(comms),
            name=html_text(t["district"]),
            style_function=lambda f: {"color": "#424242", "weight": 2, "fill": True, "fillOpacity": 0.03},
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            popup=folium.GeoJsonPopup(fields=["name", "coverage"], labels=False, max_width=320),
        ).add_to(m)
    _buildings_layer(m, bundle, t)
    if len(bundle.paths):
        folium.GeoJson(
            _escaped(bundle.paths[["kind", "community_id", "geometry"]]),
            style_function=lambda f: {
                "color": "#9e9e9e" if f["properties"]["community_id"] else "#757575",
                "weight": 1.5 if f["properties"]["community_id"] else 3,
                "opacity": 0.8,
            },
        ).add_to(m)
    units = report.units
    if len(units):
        cols = ["label", "id", "n_gaps"]
        props = units[cols].copy()
        props["label"] = [lab or uid for lab, uid in zip(units["label"], units["id"])]
        no_gate = units["no_gate"].to_numpy(dtype=bool)
        for kind in report.kinds:
            name = FACILITY_LABELS[kind][language]
            gap = units[f"{kind}_gap"].to_numpy()
            props[name] = [
                t["no_gate"] if ng else ("⚠ " if g else "") + _fmt(d, t)
                for d, g, ng in zip(units[f"{kind}_m"], gap, no_gate)
            ]
        props["colour"] = [door_colour(n, ng) for n, ng in zip(units["n_gaps"], no_gate)]
        gj = gpd.GeoDataFrame(props, geometry=units.geometry.values, crs=units.crs)
        folium.GeoJson(
            _escaped(gj),
            name=html_text(t["doors"]),
            marker=folium.CircleMarker(radius=5, fill=True, weight=1),
            style_function=lambda f: {"color": "#212121", "fillColor": f["properties"]["colour"], "fillOpacity": 0.9},
            popup=folium.GeoJsonPopup(
                fields=["label", "id"] + [html_text(FACILITY_LABELS[k][language]) for k in report.kinds], labels=True
            ),
        ).add_to(m)
    fac = bundle.facilities[bundle.facilities["kind"].isin(report.kinds)]
    for kind, group in fac.groupby("kind"):
        label = FACILITY_LABELS[kind][language]
        colour = KIND_COLOURS.get(kind, "#000000")
        props = gpd.GeoDataFrame(
            {"name": [f"{label}: {n or i}" for n, i in zip(group["name"], group["id"])]},
            geometry=group.geometry.values,
            crs=group.crs,
        )
        folium.GeoJson(
            _escaped(props),
            name=html_text(label),
            marker=folium.CircleMarker(radius=7, fill=True, weight=2),
            style_function=lambda f, colour=colour: {"color": "#ffffff", "fillColor": colour, "fillOpacity": 1.0},
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(m)
    _sites_layer(m, sites, t, language)
    folium.LayerControl(collapsed=True).add_to(m)
    m.get_root().html.add_child(folium.Element(_legend_html(report, t, language, sites)))  # type: ignore[attr-defined]
    _MapScript().add_to(m)
    bounds = _bounds(bundle, units)
    if bounds is not None:
        m.fit_bounds(bounds)
    return m


class _MapScript(MacroElement):
    """After the map exists: a metric-only scale bar, the legend folded on a phone (open on a desk), and
    a 44 px tap area around every door and facility drawn on the canvas."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true}).addTo({{ this._parent.get_name() }});
        /* doors and facilities are drawn on a canvas: a tap within 22 px of one hits it (44 px across) */
        {{ this._parent.get_name() }}.eachLayer(function (l) {
          if (l instanceof L.Canvas) { l.options.tolerance = 17; } });
        (function () { var l = document.getElementById("rm-legend");
          if (l && window.innerWidth < 600) { l.removeAttribute("open"); } })();
        {% endmacro %}
    """)


def _sites_layer(m, sites: gpd.GeoDataFrame | None, t, language: str) -> None:
    """The proposed (MCLP) sites, each labelled with what it would newly cover."""
    if sites is None or not len(sites):
        return
    fg = folium.FeatureGroup(name=html_text(t["site"]))
    for _, row in sites[sites["method"] == "mclp"].iterrows():
        label = FACILITY_LABELS[row["kind"]][language]
        text = f"{t['site']}{label} #{row['rank']}：{t['covers']} {row['newly_covered']} {t['doors_unit']}"
        folium.CircleMarker(
            location=(row.geometry.y, row.geometry.x),
            radius=11,
            color=KIND_COLOURS.get(row["kind"], "#000"),
            weight=3,
            dash_array="4 3",
            fill=False,
            tooltip=folium.Tooltip(html_text(text), permanent=True, direction="right", class_name="rm-site"),
        ).add_to(fg)
    fg.add_to(m)


def _legend_html(report: GapReport, t, language: str, sites: gpd.GeoDataFrame | None = None) -> str:
    """The legend: door colours, the proposed-site ring, facility kinds with target, mode and coverage bar.

    A ``<details>`` element: folded on a phone (a script closes it below 600 px), open on a desk.
    """
    dot = (
        '<span style="display:inline-block;width:10px;height:10px;border-radius:5px;background:{c};'
        'margin-right:4px"></span>'
    )
    rows = [f"<div>{dot.format(c=c)}{html.escape(lab)}</div>" for c, lab in zip(GAP_COLOURS, t["gap_levels"])]
    n_no_gate = int(report.district.get("no_gate_doors", 0))
    if n_no_gate:
        rows.append(
            f"<div>{dot.format(c=NO_GATE_COLOUR)}{html.escape(t['no_gate'])} ({n_no_gate} "
            f"{html.escape(t['no_gate_doors'])})</div>"
        )
    if sites is not None and len(sites):
        rows.append(
            '<div><span style="display:inline-block;width:12px;height:12px;border-radius:7px;'
            f'border:2px dashed #424242;margin-right:4px"></span>{html.escape(t["site"])}</div>'
        )
    for kind in report.kinds:
        info = report.district["kinds"].get(kind, {})
        if info.get("target_m") is None:
            continue
        cov = info.get("coverage_pct")
        mode = t["mode_ride"] if KIND_MODE.get(kind) == "ride" else t["mode_walk"]
        rows.append(
            f'<div><span style="color:{KIND_COLOURS.get(kind, "#000")}">◆</span> '
            f"{html.escape(FACILITY_LABELS[kind][language])} ≤{info['target_m']:.0f} {t['metres']} ({mode})"
            f"{_bar_svg(cov, KIND_COLOURS.get(kind, '#000'), t)}</div>"
        )
    return (
        '<details id="rm-legend" open style="position:fixed;bottom:24px;right:10px;z-index:1000;background:#fff;'
        'padding:6px 8px;border:1px solid #999;font:13px sans-serif;line-height:1.5;max-width:min(92vw,360px)">'
        '<summary style="cursor:pointer;font-weight:bold;min-height:44px;min-width:44px;line-height:44px">'
        f'{html.escape(t["legend"])}</summary>{"".join(rows)}<div style="color:#666">{_ATTRIBUTION}</div></details>'
        f"<style>.rm-site{{font:12px sans-serif;padding:2px 4px}}{_TAP_CSS}</style>"
    )


#: Leaflet's controls, links and popups at least 44x44 CSS px, for a finger (issue 12)
_TAP_CSS = (
    ".leaflet-container .leaflet-bar a{width:44px;height:44px;line-height:44px;font-size:24px}"
    ".leaflet-container .leaflet-control-layers-toggle{width:44px;height:44px}"
    ".leaflet-container .leaflet-control-layers label{display:flex;align-items:center;min-height:44px}"
    ".leaflet-container .leaflet-control-attribution a{display:inline-flex;align-items:center;min-height:44px}"
    ".leaflet-container a.leaflet-popup-close-button{width:44px;height:44px;font:24px/44px sans-serif}"
    ".leaflet-container .leaflet-popup-content{margin:12px 44px 12px 16px}"
)


def _bar_svg(pct: float | None, colour: str, t) -> str:
    """A small coverage bar (inline SVG, no script) with its percentage."""
    if pct is None or not np.isfinite(pct):
        return f" {html.escape(t['coverage'])} {html.escape(t['n_a'])}"
    w = max(0.0, min(100.0, float(pct)))
    return (
        f'<br><svg width="120" height="10" role="img" aria-label="{html.escape(t["coverage"])} {pct:.0f}%">'
        f'<rect width="120" height="10" fill="#eeeeee"/><rect width="{w * 1.2:.1f}" height="10" fill="{colour}"/></svg>'
        f" {html.escape(t['coverage'])} {pct:.0f}%"
    )


def _coverage_bars(report: GapReport, ids: list[str], language: str) -> list[str]:
    """Per compound, one line per kind with a target: ``充电桩 ████████░░ 80%`` (text bars, safe as data)."""
    table = report.communities.set_index("id") if len(report.communities) else report.communities
    out = []
    for cid in ids:
        lines = []
        for kind in report.kinds:
            col = f"{kind}_coverage_pct"
            if kind not in report.targets_m or cid not in table.index or col not in table:
                continue
            pct = table.at[cid, col]
            label = FACILITY_LABELS[kind][language]
            if pct is None or not np.isfinite(pct):
                lines.append(f"{label} –")
                continue
            full = int(round(float(pct) / 10))
            lines.append(f"{label} {'█' * full}{'░' * (10 - full)} {float(pct):.0f}%")
        out.append(" · ".join(lines))
    return out


def _buildings_layer(m, bundle: Bundle, t) -> None:
    """Building outlines with their numbers (the label, or the survey key of an unnumbered one)."""
    b = bundle.buildings
    if not len(b):
        return
    keys = b["survey_key"].fillna("").astype(str) if "survey_key" in b else [""] * len(b)
    labels = [lab or (f"{t['unnumbered']} {k}" if k else "") for lab, k in zip(b["label"].fillna("").astype(str), keys)]
    props = gpd.GeoDataFrame({"label": labels}, geometry=b.geometry.values, crs=b.crs)
    folium.GeoJson(
        _escaped(props),
        name=html_text(t["buildings"]),
        style_function=lambda f: {
            "color": "#9e9e9e",
            "weight": 1,
            "fill": True,
            "fillColor": "#e0e0e0",
            "fillOpacity": 0.6,
        },
        # one permanent label per building (a layer tooltip shows only one); the label is escaped already
        on_each_feature=JsCode(
            "function (f, layer) { if (f.properties.label) { layer.bindTooltip("
            "f.properties.label, {permanent: true, direction: 'center', className: 'rm-bnum'}); } }"
        ),
    ).add_to(m)
    m.get_root().header.add_child(
        folium.Element(
            "<style>.leaflet-tooltip.rm-bnum{background:transparent;border:0;box-shadow:none;"
            "font:11px sans-serif;color:#424242}"
            ".leaflet-tooltip.rm-bnum:before{display:none}</style>"
        )
    )


def _bounds(bundle: Bundle, units: gpd.GeoDataFrame):
    parts = [g for g in (bundle.communities, units) if len(g)]
    if not parts:
        parts = [g for g in (bundle.paths, bundle.facilities) if len(g)]
    if not parts:
        return None
    b = np.array([p.total_bounds for p in parts])
    return [[float(b[:, 1].min()), float(b[:, 0].min())], [float(b[:, 3].max()), float(b[:, 2].max())]]


@dataclass(frozen=True)
class MapRows:
    """Some rows of a table for a gap map: their positions, their geometries in the map's metres, any column."""

    table: gpd.GeoDataFrame
    positions: np.ndarray
    geoms: np.ndarray

    def __len__(self) -> int:
        return len(self.positions)

    def column(self, name: str) -> np.ndarray:
        """The rows' values of column ``name``."""
        return self.table[name].to_numpy()[self.positions]


@dataclass(frozen=True)
class SlicePositions:
    """Which rows of which district table one compound's gap map takes (:meth:`GapMapLayers.positions`).

    ``tables``: ``bundle.<layer>``, ``report.units``, ``report.communities``
    and ``sites`` (when there are sites), each to row positions.
    """

    community_id: str
    tables: dict[str, np.ndarray]
    margin_m: float = 60.0


@dataclass(frozen=True)
class GapSlice:
    """One compound's gap map inputs (:meth:`GapMapLayers.subset`): draw it with :func:`slice_figure`."""

    community_id: str
    report: GapReport
    bundle: Bundle
    sites: gpd.GeoDataFrame | None
    margin_m: float = 60.0


def slice_figure(part: GapSlice, *, language: str = "zh", draft: bool = False) -> Figure:
    """:func:`gap_figure` of a :class:`GapSlice` (the same drawing as from the whole district)."""
    return gap_figure(
        part.report,
        part.bundle,
        part.community_id,
        sites=part.sites,
        language=language,
        margin_m=part.margin_m,
        draft=draft,
    )


class GapMapLayers:
    """The district's layers for many :func:`gap_figure` calls: projected once, indexed by space and compound.

    Each layer is reprojected once per UTM zone (not once per compound) and
    a compound's map picks its part with the layer's spatial index.

    Parameters
    ----------
    report
        The district :class:`~ridermap.analysis.gaps.GapReport`.
    bundle
        The district bundle.
    """

    def __init__(self, report: GapReport, bundle: Bundle) -> None:
        self.report, self.bundle = report, bundle
        self._projected: dict[tuple[str, str], np.ndarray] = {}
        self._trees: dict[tuple[str, str], shapely.STRtree] = {}
        self._rows: dict[str, dict] = {}
        self._sites: dict[tuple[int, str], tuple[gpd.GeoDataFrame, shapely.STRtree]] = {}

    def clip(self, name: str, metric, bounds) -> MapRows:
        """Rows of layer ``name`` whose geometry meets the box ``bounds`` (as ``.cx`` picks them), in ``metric``."""
        return self._rows_at(name, metric, self._positions(name, metric, bounds))

    def compound(self, name: str, community_id: str, metric) -> MapRows:
        """The ``gates`` or ``units`` (the report's doors) of one compound, drawn in ``metric``."""
        return self._rows_at(name, metric, self._positions_by(name, community_id))

    def _rows_at(self, key: str, metric, positions: np.ndarray) -> MapRows:
        return MapRows(self._table(key), positions, self._geometry(key, metric)[positions])

    def _geometry(self, key: str, metric) -> np.ndarray:
        """The geometries of table ``key`` in ``metric`` (projected once per UTM zone)."""
        held = self._projected.get((key, str(metric)))
        if held is None:
            table = self._table(key)
            held = np.asarray(table.geometry.array.to_crs(metric)) if len(table) else np.zeros(0, dtype=object)
            self._projected[(key, str(metric))] = held
        return held

    def _positions(self, name: str, metric, bounds) -> np.ndarray:
        geoms = self._geometry(name, metric)
        if not len(geoms):
            return np.zeros(0, dtype=np.intp)
        tree = self._trees.get((name, str(metric)))
        if tree is None:
            tree = self._trees[(name, str(metric))] = shapely.STRtree(geoms)
        return np.sort(tree.query(shapely.box(*bounds), predicate="intersects"))

    def subset(self, community_id: str, *, sites: gpd.GeoDataFrame | None = None, margin_m: float = 60.0) -> GapSlice:
        """Exactly what :func:`gap_figure` of ``community_id`` draws, cut out of the district.

        The rows are the district's own (WGS84, in their order), picked by the
        same box and rule the figure uses, so ``gap_figure`` of the slice gives
        the same drawing as of the district. A slice is small: it is what a
        worker process (or a Dask worker) gets to draw one compound's map,
        and what the incremental build hashes.
        """
        return self.make(self.positions(community_id, sites=sites, margin_m=margin_m), sites=sites)

    def positions(
        self, community_id: str, *, sites: gpd.GeoDataFrame | None = None, margin_m: float = 60.0
    ) -> SlicePositions:
        """Which rows of which table :meth:`subset` takes (cheap: no row is copied)."""
        b = self.bundle
        comm_pos = self._positions_by("communities", community_id)
        if not len(comm_pos):
            raise RenderError(f"gap map: no community {community_id!r} in the bundle")
        # the zone and box of the compound from geometries projected once per zone (the same numbers as
        # projecting its rows: a district build asks this of every compound)
        metric = utm_crs_of_bounds(*shapely.total_bounds(b.communities.geometry.array[comm_pos]))
        if metric is None:
            metric = utm_crs(b.communities.iloc[comm_pos])
        x0, y0, x1, y1 = shapely.total_bounds(self._geometry("communities", metric)[comm_pos])
        bounds = (x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m)
        tables = {
            "bundle.communities": comm_pos,
            "bundle.gates": self._positions_by("gates", community_id),
            **{
                f"bundle.{name}": self._positions(name, metric, bounds) for name in ("paths", "buildings", "facilities")
            },
            "report.units": self._positions_by("units", community_id),
            "report.communities": self._positions_by("report.communities", community_id),
        }
        if sites is not None and len(sites):
            tables["sites"] = self._site_positions(sites, metric, bounds)
        return SlicePositions(community_id, tables, margin_m)

    def make(self, where: SlicePositions, *, sites: gpd.GeoDataFrame | None = None) -> GapSlice:
        """The :class:`GapSlice` of ``where`` (from :meth:`positions`)."""
        t = where.tables
        b = self.bundle
        # the district's own rows (already in the schema: no column converted again), other layers empty
        positions = {name[len("bundle.") :]: pos for name, pos in t.items() if name.startswith("bundle.")}
        view = b.view_of(where.community_id, positions, only=tuple(positions))
        report = GapReport(
            units=self.report.units.iloc[t["report.units"]],
            communities=self.report.communities.iloc[t["report.communities"]],
            district={},
            kinds=self.report.kinds,
            targets_m=dict(self.report.targets_m),
        )
        part_sites = sites.iloc[t["sites"]] if sites is not None and "sites" in t else sites
        return GapSlice(where.community_id, report, view, part_sites, where.margin_m)

    def _site_positions(self, sites: gpd.GeoDataFrame, metric, bounds) -> np.ndarray:
        key = (id(sites), str(metric))
        held = self._sites.get(key)
        if held is None or held[0] is not sites:  # projected and indexed once per zone, not per compound
            held = self._sites[key] = (sites, shapely.STRtree(np.asarray(sites.geometry.array.to_crs(metric))))
        return np.sort(held[1].query(shapely.box(*bounds), predicate="intersects"))

    def rows(self, name: str, community_id: str):
        """Rows of ``gates``, ``units`` (the report's doors) or ``communities`` (the report's table) of one compound."""
        key = "report.communities" if name == "communities" else name
        return self._table(key).iloc[self._positions_by(key, community_id)]

    def _table(self, key: str):
        """``report.units`` (``units``), ``report.communities`` or a layer of the bundle."""
        if key == "units":
            return self.report.units
        return self.report.communities if key == "report.communities" else getattr(self.bundle, key)

    def _positions_by(self, key: str, community_id: str) -> np.ndarray:
        """Positions (in order) of the rows of table ``key`` of one compound, by a compound index made once."""
        index = self._rows.get(key)
        if index is None:
            table = self._table(key)
            column = "id" if key in ("communities", "report.communities") else "community_id"
            index = self._rows[key] = table.groupby(column, sort=False).indices
        return np.sort(index.get(community_id, np.zeros(0, dtype=np.intp)))


def gap_figure(
    report: GapReport,
    bundle: Bundle,
    community_id: str,
    *,
    sites: gpd.GeoDataFrame | None = None,
    language: str = "zh",
    paper: str = "A3",
    margin_m: float = 60.0,
    draft: bool = False,
    layers: GapMapLayers | None = None,
) -> Figure:
    """An A3 (landscape) map of one compound's gaps for meetings.

    Parameters
    ----------
    report
        The district :class:`~ridermap.analysis.gaps.GapReport`.
    bundle
        The district bundle.
    community_id
        The compound to draw.
    sites
        Proposed sites to mark (any outside the view are left out).
    language
        ``zh`` or ``en``.
    paper
        ``A4``, ``A3`` (default), ``A2`` or ``A1``, landscape.
    margin_m
        Street context drawn around the compound.
    draft
        Lay the "草图 / DRAFT" band across the page (built from unconfirmed data).
    layers
        :class:`GapMapLayers` of ``report`` and ``bundle`` shared by the maps
        of many compounds (each map projects and indexes the district again
        without it).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    RenderError
        Unknown paper or compound. Data text the font cannot draw (emoji,
        bidi controls) is dropped or replaced (:func:`~ridermap.render.fonts.drawable`).
    """
    t = i18n.words("gapmap", language)
    if paper not in _PAPER_MM:
        raise RenderError(f"gap map: unknown paper {paper!r} (use {', '.join(_PAPER_MM)})")
    comm = bundle.communities[bundle.communities["id"] == community_id]
    if comm.empty:
        raise RenderError(f"gap map: no community {community_id!r} in the bundle")
    family = font_family()
    layers = layers if layers is not None else GapMapLayers(report, bundle)
    metric = utm_crs(comm)
    outline = comm.geometry.array.to_crs(metric)
    x0, y0, x1, y1 = outline.total_bounds
    bounds = (x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m)
    w_mm, h_mm = _PAPER_MM[paper]
    fig = Figure(figsize=(w_mm / 25.4, h_mm / 25.4))
    ax = fig.add_axes((0.03, 0.06, 0.64, 0.84))
    side = fig.add_axes((0.69, 0.06, 0.29, 0.84))
    side.axis("off")
    texts: list[str] = []
    _frame_map(ax, bounds)

    paths = layers.clip("paths", metric, bounds)
    _draw_paths(ax, paths)
    _street_names(ax, paths, bounds, family, texts)
    _draw_buildings(ax, layers.clip("buildings", metric, bounds), community_id, family, texts)
    draw_geoms(ax, shapely.boundary(np.asarray(outline)), color="#212121", linewidth=1.6, zorder=5)
    gates = layers.compound("gates", community_id, metric)
    access = _draw_gates(ax, gates, community_id, t, language, family, texts)
    units = layers.compound("units", community_id, metric)
    _draw_doors(ax, units)
    handles = _draw_facilities(ax, layers.clip("facilities", metric, bounds), language, texts)
    _draw_sites(ax, sites, metric, bounds, t, language, family, texts)
    _scale_bar(ax, *bounds, t, family)
    texts.append(t["metres"])
    _north_arrow(ax, bounds, family)

    # side panel: title, legend, coverage table
    row = layers.rows("communities", community_id)
    n_no_gate = int(row["no_gate_doors"].iloc[0]) if len(row) and "no_gate_doors" in row else 0
    _title_and_note(fig, comm, community_id, n_no_gate, t, language, family, texts)
    lines = _coverage_lines(report, row, t, language)
    building_doors = bool((units.column("door") == "building").any()) if len(units) else False
    _legends(side, building_doors, n_no_gate, "unknown" in access, handles, t, language, family, texts)
    side.text(
        0.0, 0.18, "\n".join(lines), fontsize=10, fontfamily=family, va="top", transform=side.transAxes, linespacing=1.6
    )
    texts += lines
    footer = f"{_ATTRIBUTION} · ridermap"
    fig.text(0.03, 0.02, footer, fontsize=8, fontfamily=family, color="#757575")
    texts.append(footer)
    if draft:
        _draft(fig, ax, family, language, texts)
    check_glyphs("".join(texts), where=f"gap map of {community_id}")
    return fig


def _draw_paths(ax, paths: MapRows) -> None:
    """Public streets wide and grey; the compound's own paths thin, dotted where not rideable."""
    if len(paths):
        public = paths.column("community_id") == ""
        rideable = paths.column("rideable")
        if public.any():
            draw_geoms(ax, paths.geoms[public], color="#bdbdbd", linewidth=3.0, zorder=1)
        for ride, style in ((True, "-"), (False, ":")):
            part = ~public & (rideable == ride)
            if part.any():
                draw_geoms(ax, paths.geoms[part], color="#9e9e9e", linewidth=1.2, linestyle=style, zorder=2)


def _street_names(ax, paths: MapRows, bounds, family: str, texts: list[str]) -> None:
    """The name of each named public street, once, along its longest stretch inside the map."""
    if not len(paths) or "name" not in paths.table:
        return
    names = paths.column("name")
    named = (paths.column("community_id") == "") & (names != "")
    if not named.any():
        return
    box = shapely.box(*bounds)
    best: dict[str, tuple[float, shapely.LineString]] = {}
    for name, geom in zip(names[named], paths.geoms[named]):
        part = geom.intersection(box)
        if part.is_empty:
            continue
        longest = max(getattr(part, "geoms", [part]), key=lambda g: g.length)
        if longest.length > (best[name][0] if name in best else 0.0):
            best[name] = (longest.length, longest)
    for name, (length, line) in sorted(best.items()):
        if length < 40:
            continue
        mid = line.interpolate(0.5, normalized=True)
        a, b = line.interpolate(0.45, normalized=True), line.interpolate(0.55, normalized=True)
        angle = np.degrees(np.arctan2(b.y - a.y, b.x - a.x))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle  # never upside down
        text = drawable(name, where="gap map street")
        ax.text(
            mid.x,
            mid.y,
            text,
            fontsize=7,
            fontfamily=family,
            color="#616161",
            ha="center",
            va="center",
            rotation=angle,
            rotation_mode="anchor",
            zorder=2.5,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5},
        )
        texts.append(text)


def _north_arrow(ax, bounds, family: str) -> None:
    x0, y0, x1, y1 = bounds
    x, y = x1 - (x1 - x0) * 0.05, y1 - (y1 - y0) * 0.05
    ax.annotate(
        "N",
        xy=(x, y),
        xytext=(x, y - (y1 - y0) * 0.08),
        ha="center",
        va="top",
        fontsize=11,
        fontfamily=family,
        arrowprops={"arrowstyle": "-|>", "color": "#212121", "lw": 1.5},
        zorder=13,
    )


def _draw_buildings(ax, buildings: MapRows, community_id: str, family: str, texts: list[str]) -> None:
    """The compound's buildings, each with its label."""
    here = buildings.column("community_id") == community_id if len(buildings) else np.zeros(0, dtype=bool)
    if here.any():
        geoms = buildings.geoms[here]
        draw_geoms(ax, geoms, facecolor="#eeeeee", edgecolor="#9e9e9e", linewidth=0.6, zorder=3)
        for text, geom in zip(buildings.column("label")[here], geoms):
            label = drawable(text, where=f"gap map of {community_id}")
            if label:
                p = geom.representative_point()
                ax.text(
                    p.x, p.y, label, fontsize=7, ha="center", va="center", color="#616161", fontfamily=family, zorder=4
                )
                texts.append(label)


def _draw_gates(
    ax, gates: MapRows, community_id: str, t: Mapping, language: str, family: str, texts: list[str]
) -> list[str]:
    """The compound's gates, coloured by rider access, hollow when unknown, each with its name and access.

    Returns each gate's symbol (:func:`_gate_access`).
    """
    if not len(gates):
        return []
    locked, inferred = gates.column("locked"), gates.column("inferred")
    symbols = [_gate_access(*row) for row in zip(locked, inferred, gates.column("rider_access"))]
    for access, lock, inf, gate_name, geom in zip(symbols, locked, inferred, gates.column("name"), gates.geoms):
        if access == "unknown":  # inferred or rule unknown: hollow
            ax.scatter(
                [geom.x],
                [geom.y],
                marker="p",
                s=140,
                facecolor="white",
                edgecolor=_GATE_COLOURS["unknown"],
                linewidth=1.5,
                zorder=7,
            )
        else:
            ax.scatter(
                [geom.x],
                [geom.y],
                marker="p",
                s=140,
                color=_GATE_COLOURS.get(access, "#000"),
                edgecolor="white",
                linewidth=1,
                zorder=7,
            )
        name = drawable(gate_name, where=f"gap map of {community_id}") or t["gate"]
        if access == "unknown" and "location" in str(inf):
            name = mark_unconfirmed(name, language)
        note = RIDER_ACCESS_LABELS[access][language] + (f"（{t['locked']}）" if lock else "")
        label = f"{name} {note}"
        ax.annotate(
            label,
            (geom.x, geom.y),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
            fontfamily=family,
            color=_GATE_COLOURS.get(access, "#000"),
            zorder=8,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
        )
        texts.append(label)
    return symbols


def _draw_doors(ax, units: MapRows) -> None:
    """The doors coloured by gap count: circles (unit doors), squares (building doors), crosses (no gate)."""
    if len(units):
        no_gate = units.column("no_gate")
        colours = [door_colour(n, ng) for n, ng in zip(units.column("n_gaps"), no_gate)]
        shapes = np.where(no_gate.astype(bool), "X", np.where(units.column("door") == "unit", "o", "s"))
        x, y = shapely.get_x(units.geoms), shapely.get_y(units.geoms)
        for shape in ("o", "s", "X"):
            sel = shapes == shape
            if sel.any():
                ax.scatter(
                    x[sel],
                    y[sel],
                    c=np.asarray(colours)[sel],
                    s=36,
                    marker=shape,
                    edgecolor="#212121",
                    linewidth=0.5,
                    zorder=9,
                )


def _draw_facilities(ax, fac: MapRows, language: str, texts: list[str]) -> list[Line2D]:
    """The facilities by kind (in the order of the kinds); returns their legend handles."""
    handles = []
    if len(fac):
        kinds = fac.column("kind")
        x, y = shapely.get_x(fac.geoms), shapely.get_y(fac.geoms)
        for kind in sorted(set(kinds)):
            ax.scatter(
                x[kinds == kind],
                y[kinds == kind],
                marker=_KIND_MARKERS.get(kind, "o"),
                s=110,
                color=KIND_COLOURS.get(kind, "#000"),
                edgecolor="white",
                linewidth=1,
                zorder=10,
            )
            label = FACILITY_LABELS[kind][language]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker=_KIND_MARKERS.get(kind, "o"),
                    color="none",
                    markerfacecolor=KIND_COLOURS.get(kind, "#000"),
                    markeredgecolor="white",
                    markersize=10,
                    label=label,
                )
            )
            texts.append(label)
    return handles


def _draw_sites(
    ax,
    sites: gpd.GeoDataFrame | None,
    metric,
    bounds: tuple[float, float, float, float],
    t: Mapping,
    language: str,
    family: str,
    texts: list[str],
) -> None:
    """The proposed (MCLP) sites within the view, dashed rings with their rank."""
    if sites is None or not len(sites):
        return
    mclp = (sites["method"] == "mclp").to_numpy(dtype=bool)
    if not mclp.any():
        return
    geoms = np.asarray(sites.geometry.array[mclp].to_crs(metric))
    inside = shapely.intersects(geoms, shapely.box(*bounds))  # what .cx picks
    kinds, ranks = sites["kind"].to_numpy()[mclp][inside], sites["rank"].to_numpy()[mclp][inside]
    for kind, rank, geom in zip(kinds, ranks, geoms[inside]):
        ax.scatter(
            [geom.x],
            [geom.y],
            marker="o",
            s=420,
            facecolor="none",
            edgecolor=KIND_COLOURS.get(kind, "#000"),
            linewidth=2,
            linestyle="--",
            zorder=11,
        )
        label = f"{t['site']}{FACILITY_LABELS[kind][language]} #{rank}"
        ax.annotate(
            label,
            (geom.x, geom.y),
            xytext=(10, -12),
            textcoords="offset points",
            fontsize=8,
            fontfamily=family,
            color=KIND_COLOURS.get(kind, "#000"),
            zorder=12,
        )
        texts.append(label)


def _frame_map(ax, bounds: tuple[float, float, float, float]) -> None:
    """The map's extent (equal aspect, no ticks), set before anything is drawn: no artist autoscales it then."""
    x0, y0, x1, y1 = bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def _title_and_note(
    fig: Figure,
    comm: gpd.GeoDataFrame,
    community_id: str,
    n_no_gate: int,
    t: Mapping,
    language: str,
    family: str,
    texts: list[str],
) -> None:
    """The title (the compound's name, 待核实 when inferred; never its OSM id) and the no-gate note."""
    name = compound_title(
        drawable(str(comm["name"].iloc[0]), where=f"gap map of {community_id}"),
        comm["inferred"].iloc[0],
        language,
        drawable(str(comm["name_en"].iloc[0]), where=f"gap map of {community_id}"),
    )[0]
    title = f"{name} · {t['title']}"
    if n_no_gate:
        note = t["no_gate_note"].format(n=n_no_gate)
        fig.text(0.03, 0.915, note, fontsize=12, fontfamily=family, va="bottom", color="#b71c1c")
        texts.append(note)
    fig.text(0.03, 0.94, title, fontsize=22, fontfamily=family, va="bottom")
    texts.append(title)


def _coverage_lines(report: GapReport, row, t: Mapping, language: str) -> list[str]:
    """One line per kind with a target: the target distance, its mode and the compound's coverage."""
    lines = []
    for kind in report.kinds:
        target = report.targets_m.get(kind)
        if target is None:
            continue
        cov = row[f"{kind}_coverage_pct"].iloc[0] if len(row) and f"{kind}_coverage_pct" in row else np.nan
        cov_text = f"{cov:.0f}%" if np.isfinite(cov) else t["n_a"]
        mode = t["mode_ride"] if KIND_MODE.get(kind) == "ride" else t["mode_walk"]
        lines.append(
            f"{FACILITY_LABELS[kind][language]}  ≤{target:.0f} {t['metres']}（{mode}）  {t['coverage']} {cov_text}"
        )
    return lines


def _legends(
    side,
    building_doors: bool,
    n_no_gate: int,
    unknown_gate: bool,
    handles: list[Line2D],
    t: Mapping,
    language: str,
    family: str,
    texts: list[str],
) -> None:
    """The door legend (gap levels, building doors, no gate) and the gate and facility legend.

    ``building_doors``: the compound has building doors; ``unknown_gate``: a gate of unknown rule or inferred.
    """
    gap_handles = [
        Line2D([], [], marker="o", color="none", markerfacecolor=c, markeredgecolor="#212121", markersize=9, label=lab)
        for c, lab in zip(GAP_COLOURS, t["gap_levels"])
    ]
    if building_doors:
        gap_handles.append(
            Line2D(
                [],
                [],
                marker="s",
                color="none",
                markerfacecolor="#ffffff",
                markeredgecolor="#212121",
                markersize=9,
                label=t["building_door"],
            )
        )
    if n_no_gate:
        gap_handles.append(
            Line2D(
                [],
                [],
                marker="X",
                color="none",
                markerfacecolor=NO_GATE_COLOUR,
                markeredgecolor="#212121",
                markersize=9,
                label=t["no_gate"],
            )
        )
    gate_handles = [
        Line2D(
            [],
            [],
            marker="p",
            color="none",
            markerfacecolor=_GATE_COLOURS[a],
            markeredgecolor="white",
            markersize=12,
            label=f"{t['gate']}：{RIDER_ACCESS_LABELS[a][language]}",
        )
        for a in ("ride", "walk", "none")
    ]
    if unknown_gate:
        gate_handles.append(
            Line2D(
                [],
                [],
                marker="p",
                color="none",
                markerfacecolor="white",
                markeredgecolor=_GATE_COLOURS["unknown"],
                markersize=12,
                label=f"{t['gate']}：{RIDER_ACCESS_LABELS['unknown'][language]}",
            )
        )
    leg1 = side.legend(
        handles=gap_handles,
        title=t["doors"],
        loc="upper left",
        prop={"family": family, "size": 10},
        title_fontproperties={"family": family, "size": 11},
        frameon=False,
    )
    side.add_artist(leg1)
    side.legend(handles=gate_handles + handles, loc="center left", prop={"family": family, "size": 10}, frameon=False)
    # (the second is the axes legend: drawn once; add_artist would draw it twice)
    texts += [str(h.get_label()) for h in gap_handles + gate_handles] + [t["doors"]]


def _draft(fig: Figure, ax, family: str, language: str, texts: list[str]) -> None:
    """The "草图 / DRAFT" band across the map."""
    pos = ax.get_position()
    draft_band(fig, family=family, lang=language, box=(pos.x0, pos.y0, pos.x1, pos.y1))
    texts.append(honest_words(language)["draft"] + honest_words(language)["draft_note"])


def _scale_bar(ax, x0, y0, x1, y1, t, family) -> None:
    span = (x1 - x0) / 5.0
    length = max(v for v in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000) if v <= max(span, 10))
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    ax.plot([bx, bx + length], [by, by], color="#212121", linewidth=3, zorder=13, solid_capstyle="butt")
    ax.text(
        bx + length / 2,
        by + (y1 - y0) * 0.012,
        f"{length} {t['metres']}",
        ha="center",
        va="bottom",
        fontsize=9,
        fontfamily=family,
        zorder=13,
    )
