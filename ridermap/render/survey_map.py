"""The survey map of a survey pack: one compound, every survey key and position mark.

:func:`render_survey_map` returns a :class:`SurveyMap` (a matplotlib Figure
and the texts it printed); :mod:`ridermap.publish.survey_pack` saves it as PDF.
North-up, on a lettered grid, with a north arrow and a scale bar. It shows
every building's key (``B07``) large beside its current number or label,
every gate and gate candidate with its key (candidates drawn hollow and
marked 待核实), unit doors with their keys, paths, nearby facilities, the
outline marks ``S1``, ``S2`` … and the marks along each building's longer
sides (``南1``, ``2``, ``3`` … = ``B07 南 1``, ``B07 南 2`` …). Labels are placed
without overlaps and never dropped: if they cannot fit,
:class:`~ridermap.errors.RenderError` names a larger paper.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle, PathPatch, Rectangle
from matplotlib.patches import Polygon as MplPolygon
from matplotlib.path import Path as MplPath

from ridermap import i18n
from ridermap.errors import RenderError
from ridermap.model.bundle import Bundle
from ridermap.model.schema import FACILITY_LABELS, INFERRED_SEP
from ridermap.model.survey_keys import Metric, building_side_marks, compound_metric, outline_marks
from ridermap.render.fonts import check_glyphs, drawable_bundle, font_family, text_width_mm
from ridermap.render.poster_grid import column_name, nice_scale, round_length
from ridermap.render.poster_labels import (
    LabelFitError,
    LabelRequest,
    interior_candidates,
    place_labels,
    ring_candidates,
)
from ridermap.render.poster_style import PAPER_MM, larger_paper

log = logging.getLogger(__name__)

PT_PER_MM = 72.0 / 25.4
_CAP = 0.733  # cap height / em of Noto Sans SC
_MEASURE_DPI = 150
INK, GREY, CAND = "#222222", "#9e9e9e", "#e65100"


class SurveyMapFitError(RenderError):
    """The labels of a survey map do not fit on the paper (a larger one may do)."""


@dataclass(frozen=True)
class SurveyMap:
    """A rendered survey map: the Figure, every text printed, the keys shown."""

    figure: Figure
    texts: tuple[str, ...]
    keys: tuple[str, ...]
    title: str
    paper: str
    scale: int


def fontsize(cap_mm: float) -> float:
    return cap_mm / _CAP * PT_PER_MM


class _Page:
    def __init__(self, w: float, h: float, family: str):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.w, self.h, self.family = w, h, family
        self.fig = Figure(figsize=(w / 25.4, h / 25.4), dpi=_MEASURE_DPI, facecolor="white")
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, w)
        self.ax.set_ylim(0, h)
        self.ax.set_axis_off()
        self.texts: list[str] = []
        self.grid_side_m = 0.0  # side of a grid square in metres (set when the grid is drawn)

    def measure(self, s: str, cap: float, bold: bool = False) -> float:
        return text_width_mm(s, self.family, fontsize(cap), _MEASURE_DPI)

    def text(self, x, y, s, cap, *, color=INK, ha="left", va="baseline", bold=False, zorder=20, **kw):
        self.texts.append(s)
        # figure-level text (the axes fills the page, so page mm / page size = figure fraction):
        # drawn above the map, and without the per-text clip path an axes text costs
        return self.fig.text(
            x / self.w,
            y / self.h,
            s,
            fontsize=fontsize(cap),
            fontfamily=self.family,
            color=color,
            ha=ha,
            va=va,
            fontweight="normal",
            zorder=zorder,
            parse_math=False,
            **kw,
        )


def _inferred(value: str, what: str) -> bool:
    return what in str(value).split(INFERRED_SEP)


def _to_mm(geoms, tf):
    return shapely.transform(np.asarray(geoms, dtype=object), tf)


def _poly_path(geoms) -> MplPath | None:
    verts, codes = [], []
    for g in geoms:
        for poly in getattr(g, "geoms", [g]):
            if poly is None or poly.is_empty or poly.geom_type != "Polygon":
                continue
            for ring in (poly.exterior, *poly.interiors):
                c = np.asarray(ring.coords)
                verts.append(c)
                codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(c) - 2) + [MplPath.CLOSEPOLY])
    if not verts:
        return None
    return MplPath(np.vstack(verts), np.concatenate(codes))


def _lines(geoms) -> list[np.ndarray]:
    out = []
    for g in geoms:
        for part in getattr(g, "geoms", [g]):
            if part is not None and not part.is_empty:
                out.append(np.asarray(part.coords))
    return out


@dataclass
class _Frame:
    x0: float
    y0: float
    x1: float
    y1: float
    scale: int
    cx_m: float
    cy_m: float

    def tf(self, xy: np.ndarray) -> np.ndarray:
        k = 1000.0 / self.scale
        return np.column_stack(
            [(self.x0 + self.x1) / 2 + (xy[:, 0] - self.cx_m) * k, (self.y0 + self.y1) / 2 + (xy[:, 1] - self.cy_m) * k]
        )

    @property
    def box(self):
        return self.x0, self.y0, self.x1, self.y1


def _layout(paper: str, landscape: bool, bounds_m) -> tuple[float, float, _Frame]:
    w, h = PAPER_MM[paper]
    if landscape:
        w, h = h, w
    frame = (14.0, 30.0, w - 14.0, h - 24.0)
    bx0, by0, bx1, by1 = bounds_m
    need = max((bx1 - bx0) * 1000 / (frame[2] - frame[0]), (by1 - by0) * 1000 / (frame[3] - frame[1]))
    scale = nice_scale(max(need, 200.0))
    return w, h, _Frame(*frame, scale=scale, cx_m=(bx0 + bx1) / 2, cy_m=(by0 + by1) / 2)


def render_survey_map(
    bundle: Bundle,
    community_id: str,
    *,
    paper: str = "A3",
    landscape: bool | None = None,
    language: str = "zh",
    view: Bundle | None = None,
) -> SurveyMap:
    """Draw the survey map of one compound.

    Parameters
    ----------
    bundle
        The model (survey keys assigned).
    community_id
        The compound.
    paper
        A4 … A0.
    landscape
        Long side horizontal; ``None``: when the compound is wider than tall.
    language
        ``zh`` or ``en`` for the title, legend and notes (keys and marks are the same).
    view
        ``bundle.community(community_id)`` if the caller has it already.

    Raises
    ------
    RenderError
        Unknown paper, a character the CJK font lacks, or labels that do not fit.
    """
    if paper not in PAPER_MM:
        raise RenderError(f"survey map: unknown paper {paper!r} (use {', '.join(PAPER_MM)})")
    view = view if view is not None else bundle.community(community_id)
    view = drawable_bundle(view, where=f"survey map of {community_id}")  # data text the font cannot draw: □
    metric = compound_metric(bundle, community_id)
    outline_m = metric.forward([view.communities.geometry.iloc[0]])[0]
    bx0, by0, bx1, by1 = outline_m.bounds
    if landscape is None:
        landscape = (bx1 - bx0) > (by1 - by0)
    pad = max(20.0, 0.06 * max(bx1 - bx0, by1 - by0))
    try:
        return _render(
            bundle,
            view,
            community_id,
            metric,
            paper=paper,
            landscape=landscape,
            language=language,
            bounds=(bx0 - pad, by0 - pad, bx1 + pad, by1 + pad),
        )
    except LabelFitError as exc:
        bigger = larger_paper(paper)
        hint = f"try --paper {bigger}" if bigger else "the compound is too dense to label"
        raise SurveyMapFitError(f"survey map of {community_id}: {exc} on {paper}: {hint}") from exc


def _render(
    bundle: Bundle, view: Bundle, cid: str, metric: Metric, *, paper: str, landscape: bool, language: str, bounds
) -> SurveyMap:
    t = i18n.words("survey_map", language)
    w, h, fr = _layout(paper, landscape, bounds)
    page = _Page(w, h, font_family())
    k = 1000.0 / fr.scale

    def tf_geoms(gdf):
        return _to_mm(metric.forward(list(gdf.geometry.values)), fr.tf) if len(gdf) else np.array([], dtype=object)

    clip = shapely.box(*fr.box)
    ax = page.ax
    # context: other buildings and public paths
    others = bundle.buildings[(bundle.buildings["community_id"] != cid)]
    others = others[others.intersects(shapely.box(*_lonlat_box(metric, fr)))]
    path = _poly_path(shapely.intersection(tf_geoms(others), clip)) if len(others) else None
    if path is not None:
        ax.add_patch(PathPatch(path, facecolor="#eeeeee", edgecolor="#cfcfcf", linewidth=0.3, zorder=1))
    paths = view.paths
    pm = tf_geoms(paths)
    for public, z in ((True, 2), (False, 4)):
        sel = (paths["community_id"] == "").values if public else (paths["community_id"] != "").values
        for ride in (True, False):
            part = pm[sel & (paths["rideable"].values == ride)]
            if not len(part):
                continue
            segs = _lines(shapely.intersection(part, clip))
            ax.add_collection(
                LineCollection(
                    segs,
                    colors="#bdbdbd" if public else "#8d6e63",
                    linewidths=(2.2 if public else 1.4) if ride else 0.9,
                    linestyles="-" if ride else (0, (2, 1.5)),
                    zorder=z,
                )
            )
    outline = _poly_path(_to_mm(metric.forward([view.communities.geometry.iloc[0]]), fr.tf))
    if outline is not None:
        ax.add_patch(PathPatch(outline, facecolor="#fbf8ef", edgecolor="none", zorder=0.5))
        ax.add_patch(PathPatch(outline, facecolor="none", edgecolor=INK, linewidth=2.0, zorder=6))
    blds = view.buildings
    bm = tf_geoms(blds)
    bpath = _poly_path(bm) if len(blds) else None
    if bpath is not None:
        ax.add_patch(PathPatch(bpath, facecolor="#f3d9b1", edgecolor="#8a6d3b", linewidth=0.5, zorder=5))
    _grid(page, fr)
    obstacles = _marks(page, bundle, cid, fr, metric)
    obstacles += _points(page, view, fr, metric, t)
    requests = _building_requests(page, blds, bm, t, k) + _gate_requests(page, view, fr, metric, t)
    placed = place_labels(
        requests, bounds=fr.box, obstacles=np.array(obstacles).reshape(-1, 4), gap_mm=0.4, touch_mm=0.8
    )
    keys = _draw_labels(page, placed, requests)
    comm = view.communities.iloc[0]
    title = t["title"].format(name=comm["name"] or cid)
    _furniture(page, fr, t, title, cid)
    check_glyphs("".join(page.texts), where=f"survey map of {cid}")
    return SurveyMap(page.fig, tuple(page.texts), tuple(keys), title, paper, fr.scale)


def _lonlat_box(metric: Metric, fr: _Frame):
    k = fr.scale / 1000.0
    x0 = fr.cx_m - (fr.x1 - fr.x0) / 2 * k
    x1 = fr.cx_m + (fr.x1 - fr.x0) / 2 * k
    y0 = fr.cy_m - (fr.y1 - fr.y0) / 2 * k
    y1 = fr.cy_m + (fr.y1 - fr.y0) / 2 * k
    ll = metric.inverse(np.array([[x0, y0], [x1, y1], [x0, y1], [x1, y0]]))
    return ll[:, 0].min(), ll[:, 1].min(), ll[:, 0].max(), ll[:, 1].max()


def _grid(page: _Page, fr: _Frame) -> None:
    side_m = round_length(40.0 * fr.scale / 1000.0)
    side = side_m * 1000.0 / fr.scale
    xs = np.arange(fr.x0, fr.x1 + 1e-6, side)
    ys = np.arange(fr.y1, fr.y0 - 1e-6, -side)
    segs = [np.array([[x, fr.y0], [x, fr.y1]]) for x in xs] + [np.array([[fr.x0, y], [fr.x1, y]]) for y in ys]
    page.ax.add_collection(LineCollection(segs, colors="#90a4ae", linewidths=0.3, zorder=3))
    page.ax.add_patch(
        Rectangle(
            (fr.x0, fr.y0), fr.x1 - fr.x0, fr.y1 - fr.y0, facecolor="none", edgecolor=INK, linewidth=0.8, zorder=30
        )
    )
    for i, x in enumerate(xs[:-1] if xs[-1] >= fr.x1 - 1e-6 else xs):
        cx = (x + min(x + side, fr.x1)) / 2
        for y, va in ((fr.y1 + 1.2, "bottom"), (fr.y0 - 1.2, "top")):
            page.text(cx, y, column_name(i), 2.2, ha="center", va=va, color="#546e7a")
    for j, y in enumerate(ys[:-1] if ys[-1] <= fr.y0 + 1e-6 else ys):
        cy = (y + max(y - side, fr.y0)) / 2
        for x, ha in ((fr.x0 - 1.2, "right"), (fr.x1 + 1.2, "left")):
            page.text(x, cy, str(j + 1), 2.2, ha=ha, va="center", color="#546e7a")
    page.grid_side_m = side_m


def _marks(page: _Page, bundle: Bundle, cid: str, fr: _Frame, metric: Metric) -> list[list[float]]:
    """Outline marks S1… and wall marks; returns their label boxes as obstacles."""
    boxes = []
    frames = [(outline_marks(bundle, cid), 1.6, 1.6), (building_side_marks(bundle, community_id=cid), 1.25, 0.9)]
    for marks, cap, off in frames:
        if marks.empty:
            continue
        xy = fr.tf(shapely.get_coordinates(metric.forward(list(marks.geometry.values))))
        ticks, dots = [], []
        for (x, y), rec in zip(xy, marks.itertuples()):
            nx, ny = rec.nx, rec.ny
            text = rec.mark if not rec.building_id else (f"{rec.side}{rec.order}" if rec.order == 1 else str(rec.order))
            tx, ty = x + nx * (off + 0.6), y + ny * (off + 0.6)
            ticks.append(np.array([[x, y], [x + nx * off, y + ny * off]]))
            dots.append((x, y))
            width = page.measure(text, cap)
            ha = "left" if nx > 0.38 else ("right" if nx < -0.38 else "center")
            va = "bottom" if ny > 0.38 else ("top" if ny < -0.38 else "center")
            page.text(tx, ty, text, cap, ha=ha, va=va, color="#1565c0" if not rec.building_id else "#6a1b9a", zorder=22)
            x0 = tx - (width if ha == "right" else (width / 2 if ha == "center" else 0))
            hgt = cap * 1.25
            y0 = ty - (hgt if va == "top" else (hgt / 2 if va == "center" else 0))
            boxes.append([x0, y0, x0 + width, y0 + hgt])
        page.ax.add_collection(
            LineCollection(ticks, colors="#1565c0" if cap > 1.5 else "#6a1b9a", linewidths=0.5, zorder=21)
        )
    return boxes


def _points(page: _Page, view: Bundle, fr: _Frame, metric: Metric, t: Mapping) -> list[list[float]]:
    """Unit doors and facilities (symbols + short labels); returns obstacle boxes."""
    boxes = []
    for layer, size in (("units", 1.4), ("facilities", 1.8)):
        gdf = getattr(view, layer)
        if gdf.empty:
            continue
        xy = fr.tf(shapely.get_coordinates(metric.forward(list(gdf.geometry.values))))
        inside = (xy[:, 0] > fr.x0) & (xy[:, 0] < fr.x1) & (xy[:, 1] > fr.y0) & (xy[:, 1] < fr.y1)
        for (x, y), rec in zip(xy[inside], gdf[inside].itertuples()):
            if layer == "units":
                page.ax.add_patch(
                    Rectangle(
                        (x - size / 2, y - size / 2),
                        size,
                        size,
                        facecolor="#2e7d32",
                        edgecolor="white",
                        linewidth=0.2,
                        zorder=24,
                    )
                )
                text = rec.survey_key or rec.label
            else:
                page.ax.add_patch(
                    MplPolygon(
                        [(x - size / 2, y - size / 2), (x + size / 2, y - size / 2), (x, y + size / 2)],
                        facecolor="#00838f",
                        edgecolor="white",
                        linewidth=0.2,
                        zorder=24,
                    )
                )
                text = FACILITY_LABELS.get(rec.kind, {}).get("zh", rec.kind)
            if text:
                page.text(x + size * 0.7, y, text, 1.4, va="center", color="#1b5e20", zorder=25)
                boxes.append([x + size * 0.7, y - 1.0, x + size * 0.7 + page.measure(text, 1.4), y + 1.0])
            boxes.append([x - size / 2, y - size / 2, x + size / 2, y + size / 2])
    return boxes


def _building_requests(page: _Page, blds, bm, t: Mapping, k: float) -> list[LabelRequest]:
    requests = []
    for rec, poly in zip(blds.itertuples(), bm):
        if not rec.survey_key or poly is None or poly.is_empty:
            continue
        current = rec.label or (f"{rec.number}号楼" if rec.number else t["unnumbered"])
        if rec.number and _inferred(rec.inferred, "number"):
            current += f"（{t['candidate']}）"
        w = max(page.measure(rec.survey_key, 2.6, True), page.measure(current, 1.5)) + 0.8
        hgt = 2.6 * 1.3 + 1.5 * 1.4 + 0.6
        anchor = tuple(np.asarray(poly.representative_point().coords[0]))
        cands = interior_candidates(poly, w, hgt, step_mm=0.8)
        ring = ring_candidates(anchor, w, hgt, start_mm=0.5, step_mm=1.5, reach_mm=30.0)
        requests.append(
            LabelRequest(
                rec.id,
                "building",
                f"{rec.survey_key}\n{current}",
                w,
                hgt,
                anchor,
                np.vstack([cands[:40], ring]) if len(cands) else ring,
                poly,
            )
        )
    requests.sort(key=lambda r: r.feature.area if r.feature is not None else 0.0)
    return requests


def _gate_requests(page: _Page, view: Bundle, fr: _Frame, metric: Metric, t: Mapping) -> list[LabelRequest]:
    gates = view.gates
    requests: list[LabelRequest] = []
    if gates.empty:
        return requests
    xy = fr.tf(shapely.get_coordinates(metric.forward(list(gates.geometry.values))))
    for (x, y), rec in zip(xy, gates.itertuples()):
        candidate = _inferred(rec.inferred, "location")
        unknown = rec.rider_access == "unknown" or _inferred(rec.inferred, "rider_access")
        r = 1.6
        if candidate:
            page.ax.add_patch(
                Circle((x, y), r, facecolor="white", edgecolor=CAND, linewidth=1.0, linestyle=(0, (1.5, 1)), zorder=26)
            )
        else:
            page.ax.add_patch(Circle((x, y), r, facecolor=INK, edgecolor="white", linewidth=0.4, zorder=26))
        second = rec.name + (f" {t['candidate']}" if candidate or unknown else "")
        w = max(page.measure(rec.survey_key, 2.4, True), page.measure(second, 1.5)) + 0.8
        hgt = 2.4 * 1.3 + 1.5 * 1.4 + 0.6
        ring = ring_candidates((x, y), w, hgt, start_mm=r + 0.6, step_mm=1.5, reach_mm=40.0)
        requests.append(
            LabelRequest(
                rec.id,
                "gate_candidate" if candidate else "gate",
                f"{rec.survey_key}\n{second}",
                w,
                hgt,
                (x, y),
                ring,
                shapely.Point(x, y).buffer(r),
            )
        )
    return requests


def _draw_labels(page: _Page, placed, requests) -> list[str]:
    keys = []
    for p in placed:
        key, second = p.text.split("\n", 1)
        x0, y0, x1, y1 = p.box
        big = 2.6 if p.kind == "building" else 2.4
        color = CAND if p.kind == "gate_candidate" else INK
        if p.kind != "building":
            page.ax.add_patch(
                Rectangle(
                    (x0, y0), x1 - x0, y1 - y0, facecolor="white", edgecolor=color, linewidth=0.4, alpha=0.9, zorder=27
                )
            )
        cx = (x0 + x1) / 2
        page.text(cx, y1 - 0.3, key, big, ha="center", va="top", bold=True, color=color, zorder=28)
        page.text(cx, y0 + 0.4, second, 1.5, ha="center", va="bottom", color=color, zorder=28)
        keys.append(key)
        if p.leader is not None:
            page.ax.add_collection(LineCollection([np.array(p.leader)], colors=color, linewidths=0.4, zorder=27))
    return keys


def _furniture(page: _Page, fr: _Frame, t: Mapping, title: str, cid: str) -> None:
    page.text(fr.x0, page.h - 12.0, title, 5.0, bold=True)
    page.text(fr.x0, page.h - 18.0, t["sub"].format(cid=cid, scale=fr.scale, side=page.grid_side_m), 2.0)
    # north arrow, top right inside the frame
    cx, cy, size = fr.x1 - 8.0, fr.y1 - 12.0, 10.0
    page.ax.add_patch(
        MplPolygon(
            [(cx, cy + size / 2), (cx - size * 0.25, cy - size / 2), (cx, cy - size * 0.25)],
            facecolor=INK,
            edgecolor=INK,
            zorder=40,
        )
    )
    page.ax.add_patch(
        MplPolygon(
            [(cx, cy + size / 2), (cx + size * 0.25, cy - size / 2), (cx, cy - size * 0.25)],
            facecolor="white",
            edgecolor=INK,
            linewidth=0.5,
            zorder=40,
        )
    )
    page.text(cx, cy + size / 2 + 1.0, t["north"], 3.0, ha="center", va="bottom", bold=True, zorder=40)
    # scale bar, bottom left under the frame
    length_m = round_length(50.0 * fr.scale / 1000.0)
    length = length_m * 1000.0 / fr.scale
    y = fr.y0 - 10.0
    for i in range(4):
        page.ax.add_patch(
            Rectangle(
                (fr.x0 + i * length / 4, y),
                length / 4,
                1.6,
                facecolor=INK if i % 2 == 0 else "white",
                edgecolor=INK,
                linewidth=0.4,
                zorder=40,
            )
        )
    page.text(fr.x0, y + 2.4, "0", 1.8, ha="center")
    page.text(fr.x0 + length, y + 2.4, f"{length_m:g} m", 1.8, ha="center")
    page.text(fr.x0 + length + 6.0, y + 0.2, f"1:{fr.scale:,}", 2.2)
    legend = t["legend"]
    page.text(fr.x0, fr.y0 - 16.0, legend, 1.8)
    page.text(fr.x1, fr.y0 - 16.0, t["attribution"], 1.8, ha="right")
