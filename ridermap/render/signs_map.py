"""The sign-plan map: an A3 sheet of one compound with every planned sign and its number.

The map shows the compound's paths (ride solid, walk dotted), buildings with
their labels, gates, every junction sign post (``J3``, a dark disc) with a
tick for each face pointing the way the face looks, and every building
number (``N5``, an orange wedge on the facade, pointing out). The side panel
lists each face's text as printed and the building numbers with their
letter height. What rests on inferred gates is marked 待核实.

Returns a matplotlib :class:`~matplotlib.figure.Figure`; nothing here touches the disk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.path import Path as MplPath

from ridermap.analysis.network.topology import transformer
from ridermap.analysis.signs import SignPlan
from ridermap.i18n import language as lang_of
from ridermap.i18n import words
from ridermap.model.bundle import Bundle
from ridermap.render.fonts import check_glyphs, drawable, font_family
from ridermap.render.honest import compound_title, draft_band
from ridermap.render.honest import words as honest_words

__all__ = ["sign_plan_figure", "draw_geoms"]

A3_MM = (420.0, 297.0)
#: a side-panel line longer than this is cut with "…" (the full text is in signs.csv and on the artwork)
_PANEL_CHARS = 46
#: at most this many face lines in the side panel (the legend needs the bottom); the rest: "另有 n 面"
_PANEL_FACES = 24
INK, POST, NUMBER, RIDE, WALK = "#212121", "#0d47a1", "#e65100", "#616161", "#9e9e9e"
_ATTRIBUTION = "© OpenStreetMap contributors"


def sign_plan_figure(
    plan: SignPlan,
    view: Bundle,
    *,
    language: str = "zh",
    draft: bool = False,
    inferred_gates: frozenset[str] = frozenset(),
    margin_m: float = 30.0,
) -> Figure:
    """The A3 landscape sign-plan map of ``plan``'s compound.

    Parameters
    ----------
    plan
        :func:`ridermap.analysis.signs.sign_plan` of the compound.
    view
        The compound's view (for buildings, paths, gates and its name).
    language
        ``zh`` or ``en``.
    draft
        Lay the "草图 / DRAFT" band across the map.
    inferred_gates
        Gates ridermap inferred: faces resting on them are marked 待核实.
    margin_m
        Street context around the compound.
    """
    from ridermap.analysis.signs import LEGIBILITY_M_PER_MM

    t = words("signmap", language)
    cid = plan.community_id
    family = font_family()
    net = plan.networks["regular"]
    metric = net.crs
    comm = view.communities[view.communities["id"] == cid]
    outline = comm.geometry.array.to_crs(metric)
    fig = Figure(figsize=(A3_MM[0] / 25.4, A3_MM[1] / 25.4))
    ax = fig.add_axes((0.02, 0.05, 0.62, 0.85))
    side = fig.add_axes((0.66, 0.05, 0.32, 0.85))
    side.axis("off")
    texts: list[str] = []
    x0, y0, x1, y1 = outline.total_bounds
    bounds = (x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m)
    _draw_base(ax, view, cid, metric, bounds, family, texts)
    draw_geoms(ax, shapely.boundary(np.asarray(outline)), color=INK, linewidth=1.4, zorder=5)
    to_m = transformer("EPSG:4326", metric)  # one per process and zone
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    _draw_posts(ax, plan, to_m, span, family, texts)
    _draw_numbers(ax, plan, to_m, span, family, texts)
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    _scale_bar(ax, bounds, t, family, texts)
    row = comm.iloc[0]
    name, _ = compound_title(row["name"], row.get("inferred", ""), language, row.get("name_en", ""))
    title = t["title"].format(name=drawable(name, where=f"sign plan of {cid}"))
    fig.text(0.02, 0.94, title, fontsize=16, fontfamily=family, color=INK, va="bottom")
    texts.append(title)
    from_inferred = {r.door_id for r in plan.routes if r.gate_id in inferred_gates}
    _side_panel(side, plan, t, family, texts, from_inferred, lang=language)
    rule = t["rule"].format(m=f"{LEGIBILITY_M_PER_MM:.2f}")
    footer = f"{rule} · {_ATTRIBUTION} · ridermap"
    fig.text(0.02, 0.015, footer, fontsize=7, fontfamily=family, color="#757575")
    texts.append(footer)
    if draft:
        pos = ax.get_position()
        draft_band(fig, family=family, lang=language, box=(pos.x0, pos.y0, pos.x1, pos.y1))
        texts.append(honest_words(language)["draft"] + honest_words(language)["draft_note"])
    check_glyphs("".join(texts), where=f"sign plan of {cid}")
    return fig


#: shapely type ids: what ``GeoSeries.plot`` draws as polygons, as lines, as points, and splits into parts
_POLYGONS, _LINES, _POINTS, _COLLECTION = (3, 6), (1, 2, 5), (0, 4), 7


def draw_geoms(ax, geoms, *, color=None, facecolor=None, **style) -> None:
    """Draw ``geoms`` (metres) on ``ax`` exactly as ``GeoSeries(geoms).plot(ax=ax, ...)`` draws them, faster.

    The same collections with the same paths in the same order (geometries
    normalised, collections split into their parts, empty ones left out;
    polygons, then lines), without geopandas' per-call work: no copy of the
    frame, no axis labels or aspect (every caller sets its own extent, aspect
    and empty labels), no data limits (every caller sets the extent).
    ``color`` fills polygons and strokes lines; ``style``: matplotlib
    collection keywords (``edgecolor``, ``linewidth``, ``linestyle``, ``zorder``).
    Points (not in any layer drawn so) go through geopandas itself.
    """
    given = np.asarray(geoms, dtype=object)
    geoms = shapely.normalize(given)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    types = shapely.get_type_id(geoms)
    if (types == _COLLECTION).any():
        geoms = np.concatenate([shapely.get_parts(g) if t == _COLLECTION else [g] for g, t in zip(geoms, types)])
        types = shapely.get_type_id(geoms)
    colour = {} if color is None else {"color": color}
    if np.isin(types, _POINTS).any():
        fill = {} if facecolor is None else {"facecolor": facecolor}
        gpd.GeoSeries(given).plot(ax=ax, **colour, **fill, **style)
        return
    polys = geoms[np.isin(types, _POLYGONS)]
    if len(polys):
        fill_colour = color if color is not None else facecolor
        paths = [_polygon_path(p) for p in polys]
        ax.add_collection(PathCollection(paths, facecolor=fill_colour, **style), autolim=False)
    elif facecolor is not None:  # geopandas hands it to the lines when there is no polygon
        style = {"facecolor": facecolor, **style}
    lines = shapely.get_parts(geoms[np.isin(types, _LINES)])
    if len(lines):
        segments = [np.array(line.coords)[:, :2] for line in lines]
        ax.add_collection(LineCollection(segments, **style, **colour), autolim=False)


def _polygon_path(polygon) -> MplPath:
    """A (multi)polygon as one compound path, every ring closed (as geopandas draws it)."""
    rings = [ring for part in getattr(polygon, "geoms", (polygon,)) for ring in (part.exterior, *part.interiors)]
    return MplPath.make_compound_path(*(MplPath(np.asarray(ring.coords)[:, :2], closed=True) for ring in rings))


def _draw_base(ax, view: Bundle, cid: str, metric, bounds, family: str, texts: list[str]) -> None:
    """Streets, the compound's paths (ride solid, walk dotted), buildings with labels, gates."""
    paths = view.paths
    if len(paths):
        geoms = np.asarray(paths.geometry.array.to_crs(metric))
        inside = shapely.intersects(geoms, shapely.box(*bounds))  # what .cx picks
        geoms, public = geoms[inside], paths["community_id"].to_numpy()[inside] == ""
        rideable = paths["rideable"].to_numpy()[inside]
        if public.any():
            draw_geoms(ax, geoms[public], color="#d6d6d6", linewidth=3.0, zorder=1)
        for ride, style, colour in ((True, "-", RIDE), (False, ":", WALK)):
            part = ~public & (rideable == ride)
            if part.any():
                draw_geoms(ax, geoms[part], color=colour, linewidth=1.1, linestyle=style, zorder=2)
    buildings, labels = _compound_rows(view.buildings, cid, metric, "label")
    if len(buildings):
        draw_geoms(ax, buildings, facecolor="#eeeeee", edgecolor="#9e9e9e", linewidth=0.6, zorder=3)
        for label, geom in zip(labels, buildings):
            text = drawable(label, where=f"sign plan of {cid}")
            if text and geom is not None:
                p = geom.representative_point()
                ax.text(
                    p.x, p.y, text, fontsize=7, ha="center", va="center", color="#616161", fontfamily=family, zorder=4
                )
                texts.append(text)
    gates, names = _compound_rows(view.gates, cid, metric, "name")
    for name, geom in zip(names, gates):
        _line(ax, [geom.x], [geom.y], marker="p", markersize=11, color="#2e7d32", markeredgecolor="white", zorder=8)
        text = drawable(name, where=f"sign plan of {cid}")
        if text:
            ax.annotate(
                text,
                (geom.x, geom.y),
                xytext=(7, -10),
                textcoords="offset points",
                fontsize=8,
                fontfamily=family,
                color="#2e7d32",
                zorder=8,
            )
            texts.append(text)


def _compound_rows(layer, cid: str, metric, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The geometries (in ``metric``) and the ``column`` of the rows of ``layer`` in compound ``cid``."""
    here = layer["community_id"].to_numpy() == cid
    if not here.any():
        return np.zeros(0, dtype=object), np.zeros(0, dtype=object)
    return np.asarray(layer.geometry.array[here].to_crs(metric)), layer[column].to_numpy()[here]


def _line(ax, x, y, **style) -> None:
    """``ax.plot(x, y, **style)`` (the same line, ``style`` with a colour) without its argument parsing."""
    ax.add_line(Line2D(x, y, **style))


def _unit(bearing_deg: float) -> np.ndarray:
    r = math.radians(bearing_deg)
    return np.array([math.sin(r), math.cos(r)])


def _draw_posts(ax, plan: SignPlan, to_m, span: float, family: str, texts: list[str]) -> None:
    tick = span * 0.025
    for sign in plan.junctions:
        x, y = to_m.transform(sign.lon, sign.lat)
        for face in sign.faces:
            fx, fy = to_m.transform(face.lon, face.lat)
            d = _unit(face.facing_deg) * tick
            _line(ax, [fx, fx + d[0]], [fy, fy + d[1]], color=POST, linewidth=2.2, solid_capstyle="round", zorder=10)
            _line(ax, [x, fx], [y, fy], color=POST, linewidth=0.8, zorder=10)
        _line(ax, [x], [y], marker="o", markersize=13, color=POST, markeredgecolor="white", zorder=11)
        ax.text(x, y, sign.id, fontsize=6.5, ha="center", va="center", color="white", fontfamily=family, zorder=12)
        texts.append(sign.id)


def _draw_numbers(ax, plan: SignPlan, to_m, span: float, family: str, texts: list[str]) -> None:
    for s in plan.buildings:
        x, y = to_m.transform(s.lon, s.lat)
        _line(
            ax,
            [x],
            [y],
            marker=(3, 0, -s.facing_deg),
            markersize=7,
            color=NUMBER,
            markeredgecolor="white",
            markeredgewidth=0.5,
            zorder=9,
        )
        d = _unit(s.facing_deg) * span * 0.018
        ax.text(
            x + d[0], y + d[1], s.id, fontsize=5.5, ha="center", va="center", color=NUMBER, fontfamily=family, zorder=9
        )
        texts.append(s.id)


def _side_panel(side, plan: SignPlan, t, family: str, texts: list[str], from_inferred: set[str], *, lang: str) -> None:
    lines: list[tuple[str, float, str]] = [(t["posts"], 11, INK)]
    faces = [(f"{sign.id}{chr(ord('a') + k)}", face) for sign in plan.junctions for k, face in enumerate(sign.faces)]
    if not faces:
        lines.append((t["none"], 8.5, "#616161"))
    shown = faces if len(faces) <= _PANEL_FACES else faces[: _PANEL_FACES - 1]
    for fid, face in shown:
        note = t["inferred"] if from_inferred & {d for a in face.arrows for d in a.doors} else ""
        text = drawable(face.text_en() if lang_of(lang) == "en" else face.text, where="sign plan")
        line = f"{fid}  {text}{note}"
        lines.append((line if len(line) <= _PANEL_CHARS else line[: _PANEL_CHARS - 1] + "…", 8.5, INK))
    if len(shown) < len(faces):
        lines.append((t["more_faces"].format(n=len(faces) - len(shown)), 8.5, "#757575"))
    lines.append(("", 6, INK))
    lines.append((t["numbers"], 11, INK))
    rows = _number_rows(plan, t)
    room = max(0, 31 - len(lines))  # the legend takes the bottom of the panel
    for text in rows[:room]:
        lines.append((text, 8, "#424242"))
    if len(rows) > room:
        lines.append((t["more"].format(n=sum(r.count("N") for r in rows[room:])), 8, "#757575"))
    y = 1.0
    for text, size, colour in lines:
        side.text(
            0.0,
            y,
            text,
            fontsize=size,
            fontfamily=family,
            color=colour,
            va="top",
            transform=side.transAxes,
            wrap=False,
            clip_on=False,
        )
        texts.append(text)
        y -= size / 8.5 * 0.021 + 0.004
    _legend(side, t, family, texts)


def _number_rows(plan: SignPlan, t: Mapping) -> list[str]:
    """One line per building: its number signs and their letter heights (``N1、N2  1号楼  字高 75–100 mm``)."""
    by_building: dict[str, list] = {}
    for s in plan.buildings:
        by_building.setdefault(s.building_id, []).append(s)
    rows = []
    for signs in by_building.values():
        sizes = sorted({s.letter_mm for s in signs})
        mm = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
        ids = "、".join(s.id for s in signs)
        rows.append(f"{ids}  {drawable(signs[0].text, where='sign plan')}  {t['letter'].format(mm=mm)}")
    return rows


def _legend(side, t: Mapping, family: str, texts: list[str]) -> None:
    handles = [
        Line2D([], [], marker="o", color="none", markerfacecolor=POST, markersize=9, label=t["legend_post"]),
        Line2D([], [], marker=(3, 0, 0), color="none", markerfacecolor=NUMBER, markersize=8, label=t["legend_number"]),
        Line2D([], [], color=RIDE, linewidth=1.2, label=t["legend_ride"]),
        Line2D([], [], color=WALK, linewidth=1.2, linestyle=":", label=t["legend_walk"]),
        Line2D([], [], marker="p", color="none", markerfacecolor="#2e7d32", markersize=10, label=t["legend_gate"]),
    ]
    side.legend(handles=handles, loc="lower left", prop={"family": family, "size": 8}, frameon=False)
    texts += [str(h.get_label()) for h in handles]


def _scale_bar(ax, bounds, t: Mapping, family: str, texts: list[str]) -> None:
    x0, y0, x1, y1 = bounds
    span = (x1 - x0) / 5.0
    length = max(v for v in (10, 20, 25, 50, 100, 200, 250, 500, 1000) if v <= max(span, 10))
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    _line(ax, [bx, bx + length], [by, by], color=INK, linewidth=3, zorder=13, solid_capstyle="butt")
    label = f"{length} {t['metres']}"
    ax.text(
        bx + length / 2,
        by + (y1 - y0) * 0.012,
        label,
        ha="center",
        va="bottom",
        fontsize=9,
        fontfamily=family,
        zorder=13,
    )
    ax.annotate(
        "N",
        xy=(x1 - (x1 - x0) * 0.05, y1 - (y1 - y0) * 0.05),
        xytext=(0, -24),
        textcoords="offset points",
        ha="center",
        fontsize=10,
        fontfamily=family,
        arrowprops={"arrowstyle": "-|>", "color": INK},
    )
    texts += [label, "N"]
