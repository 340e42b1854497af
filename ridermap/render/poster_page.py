"""Poster part: the page frame.

A :class:`Page` is a matplotlib Figure with one full-page axes whose data
unit is the millimetre of paper (origin bottom-left, bleed and crop-mark
slug included) and a text measurer; :func:`make_sheet` sizes it for a paper
and orientation and finds the content box inside the margins;
:func:`draw_header` draws the title band. Also the type helpers every other
part uses (cap height to points, wrapping). Nothing here knows the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import TransformedPatchPath

from ridermap.render.fonts import cap_height_em, text_width_mm
from ridermap.render.poster_labels import LabelRequest
from ridermap.render.poster_style import PAPER_MM, Area, Line, Marker, PosterStyle, TextBox

PT_PER_MM = 72.0 / 25.4


#: resolution the Figure is measured (and, unless told otherwise, rasterised) at
MEASURE_DPI = 300


CROP_MARK_GAP_MM = 1.0


CROP_MARK_LEN_MM = 6.0


Box = tuple[float, float, float, float]


def cap_ratio() -> float:
    """Cap height of the CJK font as a fraction of its em (0.733 for Noto Sans SC): the one font loader's."""
    return cap_height_em()


def fontsize_pt(cap_mm: float) -> float:
    """Font size in points whose cap height is ``cap_mm``."""
    return cap_mm / cap_ratio() * PT_PER_MM


def cap_height_mm(size_pt: float) -> float:
    """Cap height in mm of text set at ``size_pt``."""
    return size_pt / PT_PER_MM * cap_ratio()


def poly_path(geoms) -> MplPath | None:
    verts, codes = [], []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        for poly in getattr(geom, "geoms", [geom]):
            if poly.geom_type != "Polygon":
                continue
            for ring in [poly.exterior, *poly.interiors]:
                xy = np.asarray(ring.coords)
                if len(xy) < 3:
                    continue
                verts.append(xy)
                codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY]
    return MplPath(np.vstack(verts), codes) if verts else None


def line_parts(geoms) -> list[np.ndarray]:
    out = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type == "LineString" and len(part.coords) >= 2:
                out.append(np.asarray(part.coords))
    return out


def wrap(text: str, max_w: float, measure) -> list[str]:
    """Break ``text`` into lines no wider than ``max_w`` (after commas, spaces, or any CJK char)."""
    tokens = []
    for tok in re.findall(r"[A-Za-z0-9:.\-+/~()]+[,;]?\s*|\s+|.", text):
        if len(tok) > 1 and measure(tok.rstrip()) > max_w:  # too long for a line: break anywhere
            tokens += list(tok)
        else:
            tokens.append(tok)
    lines, cur = [], ""
    for tok in tokens:
        trial = cur + tok
        if cur and measure(trial.rstrip()) > max_w and tok[0] not in "）)，,。；;：:、":
            lines.append(cur.rstrip())
            cur = tok.lstrip()
        else:
            cur = trial
    if cur.strip():
        lines.append(cur.rstrip())
    return lines or [""]


class Page:
    """A Figure with one full-page axes in paper millimetres and a text measurer."""

    def __init__(self, width_mm: float, height_mm: float, *, family: str, style: PosterStyle, factor: float):
        from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

        self.w, self.h = width_mm, height_mm
        self.family = family
        self.style = style
        self.f = factor
        self.fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=MEASURE_DPI, facecolor=style.paper_face)
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width_mm)
        self.ax.set_ylim(0, height_mm)
        self.ax.set_axis_off()
        self._renderer = RendererAgg(1, 1, MEASURE_DPI)
        self.texts: list[str] = []
        #: the symbol of the gate "you are here" (its legend sample draws it)
        self.here_key = "ride"
        self._clips: dict[int, tuple[Any, TransformedPatchPath]] = {}

    def clip(self) -> TransformedPatchPath:
        """The clip path of the current axes (what matplotlib would give every artist), made once per axes.

        matplotlib builds it again for every artist added (a third of the cost
        of adding a text); an inset's Page (a copy with its own axes) gets its own.
        """
        held = self._clips.get(id(self.ax))
        if held is None or held[0] is not self.ax:
            held = self._clips[id(self.ax)] = (self.ax, TransformedPatchPath(self.ax.patch))
        return held[1]

    def add(self, artist):
        """Add a patch, line or collection to the page; the axes limits are fixed, so no data limits are updated.

        ``Axes.add_patch`` recomputes the data limits for every patch (most of
        a poster's patch cost); ``add_artist`` draws the same, in the same order.
        """
        if artist.get_clip_path() is None:
            artist.set_clip_path(self.clip())
        return self.ax.add_artist(artist)

    def text(
        self,
        x: float,
        y: float,
        s: str,
        cap_mm: float,
        *,
        color: str,
        ha: str = "left",
        va: str = "baseline",
        zorder: float = 20,
        gid: str | None = None,
        **kw,
    ):
        # what Axes.text makes (transform to data, not clipped unless asked), without its
        # per-text font lookups: the font properties of a size are made once per process
        t = Text(
            x,
            y,
            text=s,
            fontproperties=_font_properties(self.family, fontsize_pt(cap_mm)),
            transform=self.ax.transData,
            clip_on=kw.pop("clip_on", False),
            color=color,
            zorder=zorder,
            parse_math=False,
            gid=gid,
            **_align(ha, va),
            **kw,
        )
        t.set_clip_path(self.clip())
        self.ax._add_text(t)  # type: ignore[attr-defined]  # what Axes.text calls
        self.texts.append(s)
        return t

    def extent_mm(self, artist) -> Box:
        bb = artist.get_window_extent(renderer=self._renderer)
        k = 25.4 / MEASURE_DPI
        return bb.x0 * k, bb.y0 * k, bb.x1 * k, bb.y1 * k

    def measure(self, s: str, cap_mm: float) -> float:
        """Width in mm of ``s`` at cap height ``cap_mm`` (as matplotlib lays it out)."""
        return text_width_mm(s, self.family, fontsize_pt(cap_mm), MEASURE_DPI)

    def line_mm(self, cap_mm: float, spacing: float = 1.45) -> float:
        """Line pitch for text of cap height ``cap_mm``."""
        return cap_mm / cap_ratio() * spacing

    def marker(self, x, y, m: Marker, *, zorder: float = 12, scale: float = 1.0, gid: str | None = None):
        kw: dict[str, Any] = {}
        if m.fillstyle != "full":
            kw = {"fillstyle": m.fillstyle, "markerfacecoloralt": m.alt_face}
        line = Line2D(
            np.atleast_1d(x),
            np.atleast_1d(y),
            color=m.edge,  # never drawn (no line); the default "C0" costs a colour-cycle lookup per marker
            linestyle="none",
            marker=m.marker,
            markersize=m.size_mm * self.f * scale * PT_PER_MM,
            markerfacecolor=m.face,
            markeredgecolor=m.edge,
            markeredgewidth=m.edge_mm * self.f * PT_PER_MM,
            zorder=zorder,
            gid=gid,
            **kw,
        )
        return self.add(line)  # not Axes.plot: no data limits to update, no colour cycle

    def lines(self, parts: list[np.ndarray], s: Line, *, zorder: float, clip: Box | None = None):
        if not parts:
            return
        width = s.width_mm * self.f
        if s.casing and s.casing_mm:
            self.add(
                LineCollection(
                    parts,
                    colors=s.casing,
                    linewidths=(width + 2 * s.casing_mm * self.f) * PT_PER_MM,
                    capstyle="round",
                    joinstyle="round",
                    zorder=zorder - 0.1,
                )
            )
        style = "solid" if not s.dashes_mm else (0, tuple(d / s.width_mm for d in s.dashes_mm))
        self.add(
            LineCollection(
                parts,
                colors=s.color,
                linewidths=width * PT_PER_MM,
                linestyles=style,
                capstyle="butt" if s.dashes_mm else "round",
                joinstyle="round",
                zorder=zorder,
            )
        )

    def area(self, geoms, a: Area, *, zorder: float):
        path = poly_path(geoms)
        if path is not None:
            self.add(
                PathPatch(
                    path,
                    facecolor=a.face,
                    edgecolor=a.edge,
                    linewidth=a.edge_mm * self.f * PT_PER_MM,
                    zorder=zorder,
                    joinstyle="miter",
                )
            )

    def boxed_label(self, text: str, box: Box, cap_mm: float, tb: TextBox, *, gid: str, zorder: float = 30):
        x0, y0, x1, y1 = box
        edge = tb.edge_mm * self.f
        self.add(
            Rectangle(
                (x0 + edge / 2, y0 + edge / 2),
                x1 - x0 - edge,
                y1 - y0 - edge,
                facecolor=tb.face,
                edgecolor=tb.edge if edge else "none",
                linewidth=edge * PT_PER_MM,
                zorder=zorder,
                gid=f"{gid}:box",
            )
        )
        return self.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            text,
            cap_mm,
            color=tb.ink,
            ha="center",
            va="center",
            zorder=zorder + 0.5,
            gid=gid,
        )


def _align(ha: str, va: str) -> dict[str, Any]:
    return {"horizontalalignment": ha, "verticalalignment": va}


@lru_cache(maxsize=1024)
def _font_properties(family: str, size_pt: float) -> FontProperties:
    """The font of ``family`` at ``size_pt`` (each Text copies it, so one may serve every text of that size)."""
    return FontProperties(family=family, size=size_pt)


def label_size(page: Page, text: str, cap_mm: float, tb: TextBox) -> tuple[float, float]:
    """Width and height in mm of a boxed label: the text's extent as matplotlib draws it, plus padding and edge."""
    w, h = _text_extent_mm(text, fontsize_pt(cap_mm), page.family)
    pad = (tb.pad_mm + tb.edge_mm) * page.f
    return w + 2 * pad, h + 2 * pad


@lru_cache(maxsize=1 << 15)
def _text_extent_mm(text: str, size_pt: float, family: str) -> tuple[float, float]:
    """Width and height in mm of ``text`` drawn centred (cached per process: a district repeats its labels)."""
    fig, renderer = _measure_figure()
    t = fig.text(0, 0, text, fontsize=size_pt, fontfamily=family, ha="center", va="center", parse_math=False)
    bb = t.get_window_extent(renderer=renderer)
    t.remove()
    k = 25.4 / MEASURE_DPI
    return bb.width * k, bb.height * k


def measuring_renderer():
    """The Agg renderer at :data:`MEASURE_DPI` text is measured on (its text metrics are cached per process)."""
    return _measure_figure()[1]


@lru_cache(maxsize=1)
def _measure_figure():
    """A small figure and renderer at :data:`MEASURE_DPI` to measure text on (one per process)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(1, 1), dpi=MEASURE_DPI)
    return fig, FigureCanvasAgg(fig).get_renderer()


@dataclass(frozen=True)
class Sheet:
    """The page, its trim and bleed, and the content box inside the margins."""

    page: Page
    page_w: float
    page_h: float
    trim: Box
    bleed_box: Box
    margin: float
    gap: float
    content: Box


def make_sheet(
    paper: str, landscape: bool, bleed_mm: float, crop_marks: bool, family: str, style: PosterStyle, f: float
) -> Sheet:
    """The page: trim, bleed and room for crop marks around it; the content box inside the margins."""
    short, long_ = PAPER_MM[paper]
    trim_w, trim_h = (long_, short) if landscape else (short, long_)
    outer = bleed_mm + (CROP_MARK_GAP_MM + CROP_MARK_LEN_MM + 1.0 if crop_marks else 0.0)
    page_w, page_h = trim_w + 2 * outer, trim_h + 2 * outer
    trim = (outer, outer, outer + trim_w, outer + trim_h)
    bleed_box = (outer - bleed_mm, outer - bleed_mm, outer + trim_w + bleed_mm, outer + trim_h + bleed_mm)
    page = Page(page_w, page_h, family=family, style=style, factor=f)
    margin = style.margin_mm * f
    gap = style.gap_mm * f
    content = (trim[0] + margin, trim[1] + margin, trim[2] - margin, trim[3] - margin)
    return Sheet(page, page_w, page_h, trim, bleed_box, margin, gap, content)


def draw_header(sheet: Sheet, title: str, subtitle: str, sizes, style: PosterStyle, bleed_mm: float) -> float:
    """The header band with title and subtitle; returns the y of the band's bottom edge."""
    page, trim, bleed_box, margin = sheet.page, sheet.trim, sheet.bleed_box, sheet.margin
    cx0_, _, cx1_, _ = sheet.content
    title_cap = sizes.title_mm
    head_cap = sizes.heading_mm
    title_w = cx1_ - cx0_
    while page.measure(title, title_cap) > title_w and title_cap > sizes.heading_mm:
        title_cap *= 0.92
    sub_cap = head_cap
    while page.measure(subtitle, sub_cap) > title_w and sub_cap > sizes.small_mm:
        sub_cap *= 0.92
    sub_lines = wrap(subtitle, title_w, lambda s: page.measure(s, sub_cap))
    head_pad = 0.45 * title_cap
    header_h = head_pad + title_cap + 0.9 * title_cap + len(sub_lines) * page.line_mm(sub_cap, 1.35) + head_pad
    header_top = trim[3]
    header_bottom = trim[3] - margin - header_h
    band_x0 = bleed_box[0] if bleed_mm else trim[0]
    band_x1 = bleed_box[2] if bleed_mm else trim[2]
    band_top = bleed_box[3] if bleed_mm else trim[3]
    page.add(
        Rectangle(
            (band_x0, header_bottom),
            band_x1 - band_x0,
            band_top - header_bottom,
            facecolor=style.header.face,
            edgecolor="none",
            zorder=1,
        )
    )
    y = header_top - margin - head_pad - title_cap
    page.text(cx0_, y, title, title_cap, color=style.header.ink, gid="title")
    y -= 0.9 * title_cap + page.line_mm(sub_cap, 1.0) * 0.95
    for line in sub_lines:
        page.text(cx0_, y, line, sub_cap, color=style.header.ink, gid="subtitle")
        y -= page.line_mm(sub_cap, 1.35)
    return header_bottom


def panel_request() -> LabelRequest:
    return LabelRequest("panel", "panel", "", 0.0, 0.0, (0.0, 0.0), np.empty((0, 2)))
