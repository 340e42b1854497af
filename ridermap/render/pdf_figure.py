"""A fast PDF of a poster Figure: the Figure's artists written straight to PDF operators.

Why: matplotlib's PDF backend lays every text out again at 72 dpi and draws
each CJK character as its own XObject; on a district build that was about
half of a poster's time. A poster uses a handful of artist kinds (see
:data:`SUPPORTED`), so this module walks the Figure the way
``Figure.draw`` does (patch, then axes and figure artists in ``zorder``,
each axes' children in ``zorder``, an axes clipped to its box) and writes:

- patches (``Rectangle``, ``Polygon``, ``PathPatch``, a text's
  ``FancyBboxPatch``) as filled and/or stroked paths, with matplotlib's face,
  edge, width, dashes, joins, caps and alpha;
- ``LineCollection`` as stroked paths, ``Line2D`` as its line and markers
  (the marker's own path and alternate half, sized as matplotlib sizes them);
- text at the positions matplotlib's own layout gives (``Text._get_layout`` on
  the poster's measuring renderer, whose metrics the label placer has already
  cached), in Type 3 fonts whose glyph procedures are the CJK font's outlines,
  made once per process and shared by every poster (the same kind of font
  matplotlib embeds, with a ``ToUnicode`` map so text can be searched and
  copied).

Anything else (an image, a hatch, a path effect, a character the font lacks,
a multi-line text) raises :class:`Unsupported` and the caller falls back to
matplotlib's own backend, so output never silently loses a mark. The result
is deterministic (no dates; the document id is a hash of the content).

Nothing here touches the disk.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.backend_bases import RendererBase
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch, PathPatch, Polygon, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import IdentityTransform

from ridermap.render.doorplate.pdf import CidFont, load_font, pdf_string
from ridermap.render.fonts import cjk_font_path

#: the artist kinds written here; anything else falls back to matplotlib
SUPPORTED = (Rectangle, Polygon, PathPatch, FancyBboxPatch, LineCollection, Line2D, Text)

#: glyphs per Type 3 font (one-byte codes 1..255)
_GLYPHS_PER_FONT = 255

_JOIN = {"miter": 0, "round": 1, "bevel": 2}
_CAP = {"butt": 0, "round": 1, "projecting": 2}

Box = tuple[float, float, float, float]


class Unsupported(Exception):
    """The Figure holds something this writer does not draw; use matplotlib's backend."""


def figure_pdf(
    fig, *, measure_renderer, title: str, trim_box: Box | None = None, bleed_box: Box | None = None
) -> bytes:
    """The one-page PDF of ``fig``.

    Parameters
    ----------
    fig
        A matplotlib Figure whose axes are turned off (posters).
    measure_renderer
        An Agg renderer at ``fig.dpi``: text is laid out on it, exactly as
        matplotlib lays it out when it draws (and from the same cache).
    title
        Document title.
    trim_box, bleed_box
        ``(x0, y0, x1, y1)`` in mm from the bottom-left corner, or ``None``.

    Raises
    ------
    Unsupported
        For an artist, property or character this writer does not draw.
    """
    if abs(measure_renderer.dpi - fig.dpi) > 1e-9:
        raise Unsupported(f"measuring renderer at {measure_renderer.dpi} dpi, figure at {fig.dpi} dpi")
    w_in, h_in = fig.get_size_inches()
    writer = _Content(scale=72.0 / fig.dpi, renderer=measure_renderer)
    writer.fill_rect((0.0, 0.0, w_in * fig.dpi, h_in * fig.dpi), mcolors.to_rgba(fig.get_facecolor()))
    for artist in sorted(_figure_artists(fig), key=lambda a: a.get_zorder()):
        if hasattr(artist, "get_children") and artist in fig.axes:
            writer.axes(artist)
        else:
            writer.artist(artist)
    pt = 72.0 / 25.4
    return _document(
        writer,
        width_pt=w_in * 72.0,
        height_pt=h_in * 72.0,
        title=title,
        boxes={
            name: tuple(v * pt for v in box) for name, box in (("TrimBox", trim_box), ("BleedBox", bleed_box)) if box
        },
    )


def drawn_pdf(fig, *, title: str, created: datetime | None = None) -> bytes:
    """The one-page PDF of any Figure, drawn by matplotlib's own ``Figure.draw`` through :class:`_PdfRenderer`.

    For figures with axes, legends, annotations and collections (gap maps,
    sign plans, survey maps): matplotlib lays everything out and calls the
    renderer, which writes paths and text (Type 3 glyphs from the process-wide
    cache) instead of matplotlib's PDF objects. Text is measured on an Agg
    renderer at the figure's resolution.

    Raises
    ------
    Unsupported
        For an image, a hatch, mathtext or a character the font lacks.
    """
    renderer = _renderer_for(float(fig.dpi))
    w_in, h_in = fig.get_size_inches()
    content = _Content(scale=72.0 / fig.dpi, renderer=renderer.measure)
    renderer.begin(content, w_in * fig.dpi, h_in * fig.dpi)
    try:
        content.fill_rect((0.0, 0.0, w_in * fig.dpi, h_in * fig.dpi), mcolors.to_rgba(fig.get_facecolor()))
        patch_visible = fig.patch.get_visible()
        fig.patch.set_visible(False)  # the page face is drawn above; matplotlib would draw it again
        try:
            fig.draw(renderer)
        finally:
            fig.patch.set_visible(patch_visible)
    finally:
        renderer.end()
    return _document(content, width_pt=w_in * 72.0, height_pt=h_in * 72.0, title=title, boxes={}, created=created)


@lru_cache(maxsize=4)
def _renderer_for(dpi: float) -> _PdfRenderer:
    """One renderer per resolution and process, so matplotlib's text-metrics cache (keyed on it) keeps hitting."""
    return _PdfRenderer(dpi)


class _PdfRenderer(RendererBase):
    """A matplotlib renderer writing into a :class:`_Content` (display pixels, y up)."""

    def __init__(self, dpi: float) -> None:
        super().__init__()
        from matplotlib.backends.backend_agg import RendererAgg

        self.dpi = dpi
        self.measure = RendererAgg(1, 1, dpi)
        self._content: _Content | None = None
        self._size = (0.0, 0.0)

    def begin(self, content: _Content, width: float, height: float) -> None:
        self._content, self._size = content, (width, height)

    def end(self) -> None:
        self._content = None

    @property
    def c(self) -> _Content:
        if self._content is None:
            raise RuntimeError("the PDF renderer draws only inside drawn_pdf")
        return self._content

    # -- what matplotlib asks of a renderer
    def flipy(self) -> bool:
        return False

    def get_canvas_width_height(self):
        return self._size

    def points_to_pixels(self, points):
        return points * self.dpi / 72.0

    def get_text_width_height_descent(self, s, prop, ismath):
        return self.measure.get_text_width_height_descent(s, prop, ismath)

    def option_image_nocomposite(self) -> bool:
        return True

    def draw_image(self, gc, x, y, im, transform=None):
        raise Unsupported("image")

    def draw_gouraud_triangles(self, gc, triangles_array, colors_array, transform):
        raise Unsupported("gouraud shading")

    def draw_path(self, gc, path, transform, rgbFace=None):
        if gc.get_hatch() is not None:
            raise Unsupported("hatch")
        if gc.get_sketch_params() is not None:
            raise Unsupported("sketch")
        c = self.c
        ops = c._path_ops(path, transform)
        if not ops:
            return
        forced = gc.get_forced_alpha()
        face = None
        if rgbFace is not None:
            rgba = tuple(rgbFace) if len(rgbFace) == 4 else (*rgbFace[:3], 1.0)
            face = (*rgba[:3], gc.get_alpha() if forced else rgba[3])
        edge = gc.get_rgb()
        clip = self._clip_ops(gc)
        if clip:
            c.ops.append(f"q {clip} W n")
        c._paint(
            ops, face=face, edge=edge, lw_pt=gc.get_linewidth(), dashes=gc.get_dashes(),
            join=gc.get_joinstyle(), cap=gc.get_capstyle(), alpha=None,
        )  # fmt: skip
        if clip:
            c.ops.append("Q")

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            raise Unsupported("mathtext")
        c = self.c
        c.fonts.check(s)
        rgb = gc.get_rgb()
        clip = self._clip_ops(gc)
        if clip:
            c.ops.append(f"q {clip} W n")
        c.glyphs(s, x, y, angle, prop.get_size_in_points(), rgb, float(rgb[3]))
        if clip:
            c.ops.append("Q")

    def _clip_ops(self, gc) -> str:
        parts = []
        rect = gc.get_clip_rectangle()
        if rect is not None:
            k = self.c.k
            x0, y0, x1, y1 = rect.extents
            parts.append(f"{x0 * k:.2f} {y0 * k:.2f} {(x1 - x0) * k:.2f} {(y1 - y0) * k:.2f} re")
        tpath, affine = gc.get_clip_path()
        if tpath is not None:
            if parts:
                parts.append("W n")
            parts.append(self.c._path_ops(tpath, affine))
        return " ".join(parts)


def _figure_artists(fig) -> list:
    out = []
    for a in fig.get_children():
        if a is fig.patch or not a.get_visible():
            continue
        if a in fig.axes or isinstance(a, SUPPORTED):
            out.append(a)
        else:
            raise Unsupported(f"figure artist {type(a).__name__}")
    return out


def _clipped_to(artist, ax) -> bool:
    """Whether matplotlib clips ``artist`` (to ``ax``'s box, the only clip posters use)."""
    if not artist.get_clip_on():
        return False
    path, box = artist.get_clip_path(), artist.get_clip_box()
    if path is None and box is None:
        return False
    if path is not None and getattr(path, "_patch", None) is not ax.patch:
        raise Unsupported(f"{type(artist).__name__} clipped to another path")
    if box is not None and box is not ax.bbox and tuple(box.extents) != tuple(ax.bbox.extents):
        raise Unsupported(f"{type(artist).__name__} clipped to another box")
    return True


def _axes_artists(ax) -> list:
    if ax.axison:
        raise Unsupported("axes with their axis on")
    skip = {id(ax.patch), id(ax.xaxis), id(ax.yaxis), *map(id, ax.spines.values())}
    out = []
    for a in ax.get_children():
        if id(a) in skip or not a.get_visible():
            continue
        if not isinstance(a, SUPPORTED):
            raise Unsupported(f"axes artist {type(a).__name__}")
        out.append(a)
    return sorted(out, key=lambda a: a.get_zorder())


# --------------------------------------------------------------------------- the content stream


class _Content:
    """The page's content stream in points (display pixels times ``scale``), plus the fonts and alphas it uses."""

    def __init__(self, *, scale: float, renderer) -> None:
        self.k = scale
        self.renderer = renderer
        self.ops: list[str] = []
        self.fonts = _Type3Fonts(load_font(str(cjk_font_path())))
        self.alphas: dict[tuple[float, float], str] = {}

    # -- state
    def _alpha(self, fill: float, stroke: float) -> None:
        key = (round(fill, 3), round(stroke, 3))
        if key == (1.0, 1.0) and not self.alphas:
            return
        name = self.alphas.setdefault(key, f"A{len(self.alphas)}")
        self.ops.append(f"/{name} gs")

    def _pts(self, xy: np.ndarray) -> np.ndarray:
        return np.asarray(xy, dtype=float) * self.k

    # -- containers
    def axes(self, ax) -> None:
        """The axes' artists in ``zorder``; those matplotlib clips (clip on, clipped to the axes) inside its box."""
        x0, y0, x1, y1 = ax.bbox.extents
        k = self.k
        box = f"{x0 * k:.2f} {y0 * k:.2f} {(x1 - x0) * k:.2f} {(y1 - y0) * k:.2f} re W n"
        clipped = False
        for artist in _axes_artists(ax):
            want = _clipped_to(artist, ax)
            if want != clipped:
                self.ops.append(f"q {box}" if want else "Q")
                clipped = want
            self.artist(artist)
        if clipped:
            self.ops.append("Q")

    def artist(self, a) -> None:
        if a.get_path_effects() or a.get_sketch_params() is not None or a.get_rasterized():
            raise Unsupported(f"{type(a).__name__} with effects")
        if isinstance(a, Text):
            self.text(a)
        elif isinstance(a, Patch):
            self.patch(a)
        elif isinstance(a, LineCollection):
            self.collection(a)
        elif isinstance(a, Line2D):
            self.line2d(a)
        else:  # pragma: no cover - _axes_artists and _figure_artists let only SUPPORTED through
            raise Unsupported(type(a).__name__)

    # -- paths
    def _path_ops(self, path: Any, transform) -> str:
        raw = np.asarray(path.vertices, dtype=float)
        verts = self._pts(transform.transform(raw)) if len(raw) else np.empty((0, 2))
        codes = path.codes
        if codes is None:
            if len(verts) < 2:
                return ""
            return ("%.2f %.2f m" + " %.2f %.2f l" * (len(verts) - 1)) % tuple(verts.ravel().tolist())
        return _coded_ops(verts, codes)

    def _paint(self, ops: str, *, face, edge, lw_pt: float, dashes, join: str | None, cap: str | None, alpha) -> None:
        if not ops:
            return
        fill = face is not None and face[3] > 0
        stroke = edge is not None and edge[3] > 0 and lw_pt > 0
        if not (fill or stroke):
            return
        fa = (alpha if alpha is not None else face[3]) if fill else 1.0
        sa = (alpha if alpha is not None else edge[3]) if stroke else 1.0
        self.ops.append("q")
        self._alpha(fa, sa)
        if fill:
            self.ops.append(f"{face[0]:.4f} {face[1]:.4f} {face[2]:.4f} rg")
        if stroke:
            self.ops.append(f"{edge[0]:.4f} {edge[1]:.4f} {edge[2]:.4f} RG {lw_pt:.3f} w")
            if join:
                self.ops.append(f"{_JOIN[join]} j")
            if cap:
                self.ops.append(f"{_CAP[cap]} J")
            offset, seq = dashes if dashes is not None else (0, None)
            if seq:
                self.ops.append("[" + " ".join(f"{d:.3f}" for d in seq) + f"] {offset or 0:.3f} d")
        self.ops.append(ops)
        self.ops.append(("B" if stroke else "f") if fill else "S")
        self.ops.append("Q")

    def patch(self, p: Any) -> None:
        if p.get_hatch():
            raise Unsupported("hatched patch")
        path = p.get_path()
        ops = self._path_ops(path, p.get_transform())
        edge = p.get_edgecolor()
        lw = 0.0 if p.get_linestyle() in ("None", "none", " ", "") else p.get_linewidth()
        self._paint(
            ops,
            face=p.get_facecolor() if p.get_fill() else None,
            edge=edge,
            lw_pt=lw,
            dashes=p._dash_pattern,  # (offset, sequence) in points, scaled by the width as matplotlib draws it
            join=p.get_joinstyle(),
            cap=p.get_capstyle(),
            alpha=p.get_alpha(),
        )

    def collection(self, c: Any) -> None:
        if c.get_offsets().size and np.any(c.get_offsets()):
            raise Unsupported("offset line collection")
        transform = c.get_transform()
        colors, widths, styles = c.get_edgecolor(), c.get_linewidth(), c.get_linestyle()
        if len(colors) == 0:
            return
        paths = c.get_paths()
        alpha = c.get_alpha()
        if len(colors) == 1 and len(widths) == 1 and len(styles) == 1:  # one style: one path
            ops = " ".join(filter(None, (self._path_ops(p, transform) for p in paths)))
            self._paint(
                ops, face=None, edge=colors[0], lw_pt=widths[0], dashes=styles[0],
                join=c.get_joinstyle(), cap=c.get_capstyle(), alpha=alpha,
            )  # fmt: skip
            return
        for i, p in enumerate(paths):
            self._paint(
                self._path_ops(p, transform), face=None, edge=colors[i % len(colors)], lw_pt=widths[i % len(widths)],
                dashes=styles[i % len(styles)], join=c.get_joinstyle(), cap=c.get_capstyle(), alpha=alpha,
            )  # fmt: skip

    def line2d(self, line: Any) -> None:
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        xy = xy[np.isfinite(xy).all(axis=1)]
        if not len(xy):
            return
        alpha = line.get_alpha()
        if line.get_linestyle() not in ("None", "none", " ", "") and len(xy) > 1:
            self._paint(
                self._path_ops(MplPath(xy), IdentityTransform()), face=None,
                edge=mcolors.to_rgba(line.get_color(), alpha), lw_pt=line.get_linewidth(),
                dashes=line._dash_pattern, join=line.get_solid_joinstyle(), cap=line.get_solid_capstyle(), alpha=alpha,
            )  # fmt: skip
        self._markers(line, xy, alpha)

    def _markers(self, line: Any, xy: np.ndarray, alpha) -> None:
        marker = line._marker
        if not marker or not marker.get_marker() or marker.get_marker() in ("None", "none", " ", "", ","):
            return
        if line.get_markersize() <= 0 or line.get_markevery() is not None:
            if line.get_markevery() is not None:
                raise Unsupported("markevery")
            return
        w = self.renderer.points_to_pixels(line.get_markersize())
        edge = mcolors.to_rgba(line.get_markeredgecolor(), alpha)
        filled = marker.is_filled()
        parts = [(marker.get_path(), marker.get_transform(), line.get_markerfacecolor())]
        if marker.get_alt_path() is not None:
            parts.append((marker.get_alt_path(), marker.get_alt_transform(), line.get_markerfacecoloralt()))
        for path, trans, face in parts:
            face_rgba = mcolors.to_rgba(face, alpha) if filled and not _is_none(face) else None
            shape = trans.frozen().scale(w).transform(np.asarray(path.vertices, dtype=float)) * self.k
            codes = path.codes if path.codes is not None else _line_codes(len(shape))
            ops = " ".join(_coded_ops(shape + (x * self.k, y * self.k), codes) for x, y in xy.tolist())
            self._paint(
                ops, face=face_rgba, edge=edge, lw_pt=line.get_markeredgewidth(), dashes=None,
                join=marker.get_joinstyle(), cap=marker.get_capstyle(), alpha=alpha,
            )  # fmt: skip

    def fill_rect(self, box: Box, rgba) -> None:
        if rgba[3] <= 0:
            return
        x0, y0, x1, y1 = (v * self.k for v in box)
        self._paint(
            f"{x0:.2f} {y0:.2f} {x1 - x0:.2f} {y1 - y0:.2f} re",
            face=rgba, edge=None, lw_pt=0.0, dashes=None, join=None, cap=None, alpha=None,
        )  # fmt: skip

    # -- text
    def text(self, t: Any) -> None:
        s = t.get_text()
        if not s:
            return
        if t.get_usetex() or t.get_wrap():
            raise Unsupported("TeX or wrapped text")
        if t._preprocess_math(s)[1]:
            raise Unsupported("mathtext")
        self.fonts.check(s)  # before matplotlib lays the text out (and warns)
        line, dx, dy = _line_offset(self.renderer, t)
        pos = t.get_transform().transform(t.get_unitless_position())
        if not np.all(np.isfinite(pos)):
            return
        if t.get_bbox_patch() is not None:
            t.update_bbox_position_size(self.renderer)
            self.patch(t.get_bbox_patch())
        rgba = mcolors.to_rgba(t.get_color())
        alpha = float(t.get_alpha() if t.get_alpha() is not None else rgba[3])
        self.glyphs(line, pos[0] + dx, pos[1] + dy, t.get_rotation(), t.get_fontsize(), rgba, alpha)

    def glyphs(self, line: str, x_px: float, y_px: float, angle_deg: float, size_pt: float, rgb, alpha: float) -> None:
        """One line of text, its baseline starting at ``(x_px, y_px)``, turned ``angle_deg`` counter-clockwise."""
        theta = np.deg2rad(angle_deg)
        c, sn = float(np.cos(theta)), float(np.sin(theta))
        x, y = x_px * self.k, y_px * self.k
        runs = self.fonts.runs(line)
        self.ops.append("q")
        self._alpha(alpha, 1.0)
        self.ops.append(f"{rgb[0]:.4f} {rgb[1]:.4f} {rgb[2]:.4f} rg BT")
        self.ops.append(f"{c:.5f} {sn:.5f} {-sn:.5f} {c:.5f} {x:.2f} {y:.2f} Tm")
        for font_name, codes in runs:
            self.ops.append(f"/{font_name} {size_pt:.3f} Tf <{codes}> Tj")
        self.ops.append("ET Q")


#: (renderer, text and every property its layout depends on) -> (line, dx, dy); a district repeats its texts
_OFFSETS: dict[tuple, tuple[str, float, float]] = {}


def _line_offset(renderer, t: Any) -> tuple[str, float, float]:
    """The one line of ``t`` and the offset of its baseline start from its anchor (display pixels).

    As ``Text.draw`` gets them from ``Text._get_layout``, remembered per
    process: the layout depends only on the key's properties.
    """
    fp = t.get_fontproperties()
    font = (
        tuple(fp.get_family()), fp.get_style(), fp.get_variant(), fp.get_weight(), fp.get_stretch(),
        fp.get_size_in_points(), fp.get_file(), fp.get_math_fontfamily(),
    )  # fmt: skip
    key = (
        id(renderer), t.get_text(), font, t.get_horizontalalignment(), t.get_verticalalignment(),
        t.get_rotation(), t.get_rotation_mode(), t.get_linespacing(),
    )  # fmt: skip
    held = _OFFSETS.get(key)
    if held is None:
        _, info, _ = t._get_layout(renderer)
        if len(info) != 1:
            raise Unsupported("multi-line text")
        line, _, (dx, dy) = info[0]
        if len(_OFFSETS) > 1 << 16:
            _OFFSETS.clear()
        held = _OFFSETS[key] = (line, float(dx), float(dy))
    return held


def _is_none(color) -> bool:
    return isinstance(color, str) and color.lower() == "none"


def _line_codes(n: int) -> np.ndarray:
    codes = np.full(n, MplPath.LINETO, dtype=np.uint8)
    codes[0] = MplPath.MOVETO
    return codes


#: the operators of a path of moves, lines and closes (nearly every path drawn), by code
_SIMPLE_OPS = {MplPath.MOVETO: "%.2f %.2f m", MplPath.LINETO: "%.2f %.2f l", MplPath.CLOSEPOLY: "h"}


def _coded_ops(verts: np.ndarray, path_codes: Any) -> str:
    """PDF path operators for matplotlib path vertices (points) and codes.

    A path of moves, lines and closes is formatted in one ``%`` operation
    (the same text as one f-string per vertex, a tenth of the time).
    """
    codes_arr = np.asarray(path_codes)
    kinds = set(np.unique(codes_arr).tolist())
    if kinds <= _SIMPLE_OPS.keys():
        ops = " ".join(_SIMPLE_OPS[c] for c in codes_arr.tolist())
        return ops % tuple(verts[codes_arr != MplPath.CLOSEPOLY].ravel().tolist())
    out: list[str] = []
    xy = verts.tolist()
    i, n = 0, len(xy)
    codes = np.asarray(path_codes).tolist()
    last = (0.0, 0.0)
    while i < n:
        code = codes[i]
        if code == MplPath.MOVETO:
            last = xy[i]
            out.append(f"{last[0]:.2f} {last[1]:.2f} m")
            i += 1
        elif code == MplPath.LINETO:
            last = xy[i]
            out.append(f"{last[0]:.2f} {last[1]:.2f} l")
            i += 1
        elif code == MplPath.CURVE4:
            (ax_, ay), (bx, by), (cx, cy) = xy[i : i + 3]
            out.append(f"{ax_:.2f} {ay:.2f} {bx:.2f} {by:.2f} {cx:.2f} {cy:.2f} c")
            last = (cx, cy)
            i += 3
        elif code == MplPath.CURVE3:
            (qx, qy), (ex, ey) = xy[i : i + 2]
            c1 = (last[0] + 2 / 3 * (qx - last[0]), last[1] + 2 / 3 * (qy - last[1]))
            c2 = (ex + 2 / 3 * (qx - ex), ey + 2 / 3 * (qy - ey))
            out.append(f"{c1[0]:.2f} {c1[1]:.2f} {c2[0]:.2f} {c2[1]:.2f} {ex:.2f} {ey:.2f} c")
            last = (ex, ey)
            i += 2
        elif code == MplPath.CLOSEPOLY:
            out.append("h")
            i += 1
        elif code == MplPath.STOP:
            break
        else:
            raise Unsupported(f"path code {code}")
    return " ".join(out)


# --------------------------------------------------------------------------- Type 3 fonts


class _Type3Fonts:
    """The document's Type 3 fonts: each character gets a (font, one-byte code) on first use."""

    def __init__(self, font: CidFont) -> None:
        self.font = font
        self.slots: dict[str, tuple[int, int]] = {}
        self.chars: list[list[str]] = []

    def check(self, text: str) -> None:
        """Raise :class:`Unsupported` for a character the font has no glyph for."""
        missing = next((ch for ch in text if not self.font.has(ch)), None)
        if missing is not None:
            raise Unsupported(f"no glyph for {missing!r}")

    def _slot(self, ch: str) -> tuple[int, int]:
        slot = self.slots.get(ch)
        if slot is None:
            self.check(ch)
            if not self.chars or len(self.chars[-1]) >= _GLYPHS_PER_FONT:
                self.chars.append([])
            self.chars[-1].append(ch)
            slot = self.slots[ch] = (len(self.chars) - 1, len(self.chars[-1]))
        return slot

    def runs(self, text: str) -> list[tuple[str, str]]:
        """``(font resource, hex codes)`` runs drawing ``text``."""
        out: list[tuple[str, str]] = []
        for ch in text:
            index, code = self._slot(ch)
            name = f"T{index}"
            if out and out[-1][0] == name:
                out[-1] = (name, out[-1][1] + f"{code:02X}")
            else:
                out.append((name, f"{code:02X}"))
        return out


@lru_cache(maxsize=1 << 14)
def _glyph_proc(font: CidFont, ch: str) -> tuple[bytes, int]:
    """The glyph procedure (``d1`` and the outline, filled) of ``ch`` and its advance, in font units."""
    advance = round(font.advance_em(ch) * font.units_per_em)
    ops, bounds = font.pdf_outline(ch)
    if not ops or bounds is None:
        return f"{advance} 0 0 0 0 0 d1".encode("ascii"), advance
    x0, y0, x1, y1 = bounds
    return f"{advance} 0 {x0:g} {y0:g} {x1:g} {y1:g} d1\n{ops} f".encode("ascii"), advance


# --------------------------------------------------------------------------- the document


def _document(
    writer: _Content, *, width_pt: float, height_pt: float, title: str, boxes: dict, created: datetime | None = None
) -> bytes:
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    def stream(data: bytes, extra: str = "") -> bytes:
        data = zlib.compress(data, 6)
        head = f"<< /Length {len(data)} /Filter /FlateDecode{extra} >>\nstream\n"
        return head.encode("ascii") + data + b"\nendstream"

    font_refs = _type3_objects(writer.fonts, add, stream)
    fonts = " ".join(f"/T{i} {r} 0 R" for i, r in enumerate(font_refs))
    states = " ".join(f"/{name} << /ca {fa:g} /CA {sa:g} >>" for (fa, sa), name in writer.alphas.items())
    resources = add(f"<< /Font << {fonts} >> /ExtGState << {states} >> >>".encode("ascii"))
    content = add(stream("\n".join(writer.ops).encode("ascii")))
    media = f"[0 0 {width_pt:.3f} {height_pt:.3f}]"
    extra = "".join(f" /{name} [{' '.join(f'{v:.3f}' for v in box)}]" for name, box in boxes.items())
    pages_num = len(objects) + 2
    page = add(
        f"<< /Type /Page /Parent {pages_num} 0 R /MediaBox {media}{extra} /Resources {resources} 0 R "
        f"/Contents {content} 0 R >>".encode("ascii")
    )
    add(f"<< /Type /Pages /Count 1 /Kids [{page} 0 R] >>".encode("ascii"))
    catalog = add(f"<< /Type /Catalog /Pages {pages_num} 0 R >>".encode("ascii"))
    date = f" /CreationDate (D:{created.astimezone(UTC):%Y%m%d%H%M%S}Z)" if created is not None else ""
    info = add(f"<< /Title {pdf_string(title)} /Creator (ridermap) /Producer (ridermap){date} >>".encode("ascii"))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{num} 0 obj\n".encode("ascii") + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii"))
    out.write("".join(f"{off:010d} 00000 n \n" for off in offsets).encode("ascii"))
    doc_id = hashlib.md5(out.getvalue()).hexdigest()
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R "
        f"/ID [<{doc_id}> <{doc_id}>] >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    )
    return out.getvalue()


def _type3_objects(fonts: _Type3Fonts, add, stream) -> list[int]:
    """Write the Type 3 fonts (glyph procedures, widths, ToUnicode); return their object numbers."""
    font = fonts.font
    upm = font.units_per_em
    bbox = " ".join(str(v) for v in font.metrics.bbox)
    refs = []
    for index, chars in enumerate(fonts.chars):
        procs, widths = [], []
        for ch in chars:
            proc, advance = _glyph_proc(font, ch)
            procs.append(add(stream(proc)))
            widths.append(advance)
        names = [f"g{i + 1}" for i in range(len(chars))]
        char_procs = " ".join(f"/{n} {r} 0 R" for n, r in zip(names, procs))
        encoding = f"<< /Type /Encoding /Differences [1 {' '.join('/' + n for n in names)}] >>"
        to_unicode = add(stream(_to_unicode(chars)))
        refs.append(
            add(
                f"<< /Type /Font /Subtype /Type3 /Name /T{index} /BaseFont /{_subset_tag(index, chars)}+{font.name} "
                f"/FontBBox [{bbox}] /FontMatrix [{1 / upm:g} 0 0 {1 / upm:g} 0 0] "
                f"/CharProcs << {char_procs} >> /Encoding {encoding} "
                f"/FirstChar 1 /LastChar {len(chars)} /Widths [{' '.join(map(str, widths))}] "
                f"/Resources << >> /ToUnicode {to_unicode} 0 R >>".encode("ascii")
            )
        )
    return refs


def _to_unicode(chars: list[str]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<00> <FF>",
        "endcodespacerange",
    ]
    for start in range(0, len(chars), 100):
        chunk = chars[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += [f"<{start + i + 1:02X}> <{ch.encode('utf-16-be').hex().upper()}>" for i, ch in enumerate(chunk)]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


def _subset_tag(index: int, chars: list[str]) -> str:
    digest = hashlib.sha1(f"{index}:{''.join(chars)}".encode()).digest()
    return "".join(chr(ord("A") + b % 26) for b in digest[:6])
