"""Gate guide posters and compound overviews as matplotlib Figures.

:func:`render_poster` draws one compound on one sheet of paper and returns a
:class:`Poster`: the Figure, every map label box it placed, the symbols it
drew and the QR target. It never touches the disk; see
:mod:`ridermap.publish.posters` to save one as PDF, SVG or PNG.

The whole page is one matplotlib axes whose data unit is the millimetre of
paper, origin at the bottom-left corner of the page (bleed and crop-mark
slug included). The map is drawn in a local UTM projection, turned so that
"up" is the direction a reader at the gate faces when looking into the
compound, and scaled to a round scale. Labels are placed by
:mod:`ridermap.render.poster_labels` and never dropped: if they do not fit,
:class:`~ridermap.errors.RenderError` names the label and the next paper size.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Polygon as MplPolygon, Rectangle
from matplotlib.path import Path as MplPath
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ridermap.config import Config
from ridermap.errors import ConfigError, RenderError
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import gate_confirmed, is_inferred, needs_draft
from ridermap.model.schema import FACILITY_LABELS, RIDER_ACCESS_LABELS
from ridermap.render.fonts import check_glyphs, cjk_font_path, drawable_bundle, font_family, text_width_mm
from ridermap.render.honest import compound_title, draft_band, gate_title, known_access
from ridermap.render.honest import words as honest_words
from ridermap.render.poster_grid import Grid, compact_squares, make_grid, nice_scale, round_length
from ridermap.render.poster_labels import (
    LabelFitError,
    LabelRequest,
    PlacedLabel,
    interior_candidates,
    place_labels,
    pole_of,
    ring_candidates,
)
from ridermap.render.poster_style import (
    DEFAULT_STYLE,
    OSM_ATTRIBUTION,
    PAPER_FACTOR,
    PAPER_MM,
    STRINGS,
    TEXT_SIZES,
    Area,
    Line,
    Marker,
    PosterStyle,
    TextBox,
    larger_paper,
)
from ridermap.urls import absolute, community_path, gate_path
from ridermap.utm import utm_epsg

log = logging.getLogger(__name__)

PT_PER_MM = 72.0 / 25.4
#: resolution the Figure is measured (and, unless told otherwise, rasterised) at
MEASURE_DPI = 300
_CROP_MARK_GAP_MM = 1.0
_CROP_MARK_LEN_MM = 6.0

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Symbol:
    """A point symbol drawn on the map: what, for which feature, and its box in page mm."""

    kind: str
    key: str
    box: Box


@dataclass(frozen=True)
class IndexEntry:
    """A building or unit of the index and the grid squares it is in."""

    kind: str  # building, unit
    key: str
    text: str
    squares: tuple[str, ...]
    number: str = ""


@dataclass
class Poster:
    """A rendered poster: the Figure plus what was placed on it (page mm, origin bottom-left)."""

    figure: Figure
    labels: list[PlacedLabel]
    symbols: list[Symbol]
    url: str
    community_id: str
    gate_id: str | None
    paper: str
    landscape: bool
    page_mm: tuple[float, float]
    trim_box: Box
    bleed_box: Box
    map_frame: Box
    qr_box: Box
    scale: int
    grid: Grid
    rotation_deg: float
    legend: list[str] = field(default_factory=list)
    index: list[IndexEntry] = field(default_factory=list)
    title: str = ""
    subtitle: str = ""
    #: the "草图 / DRAFT" band is on the page
    draft: bool = False


# --------------------------------------------------------------------------- helpers


@lru_cache(maxsize=1)
def cap_ratio() -> float:
    """Cap height of the CJK font as a fraction of its em (0.733 for Noto Sans SC)."""
    from fontTools.ttLib import TTFont

    path = cjk_font_path()
    kwargs = {"fontNumber": 0} if path.suffix.lower() == ".ttc" else {}
    with TTFont(str(path), lazy=True, **kwargs) as font:
        os2 = font["OS/2"] if "OS/2" in font else None
        cap = getattr(os2, "sCapHeight", 0) if os2 is not None else 0
        upm = font["head"].unitsPerEm
    return cap / upm if cap else 0.72


@lru_cache(maxsize=64)
def utm_crs(lon: float, lat: float):
    """WGS84 UTM zone of a point (what ``estimate_utm_crs`` gives, without its slow database query)."""
    from pyproj import CRS

    return CRS.from_epsg(utm_epsg(lon, lat))


def fontsize_pt(cap_mm: float) -> float:
    """Font size in points whose cap height is ``cap_mm``."""
    return cap_mm / cap_ratio() * PT_PER_MM


def cap_height_mm(size_pt: float) -> float:
    """Cap height in mm of text set at ``size_pt``."""
    return size_pt / PT_PER_MM * cap_ratio()


def _natural_key(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def _has_osm(*frames: gpd.GeoDataFrame) -> bool:
    for frame in frames:
        for source in frame["source"]:
            if any(part.strip().startswith("osm:") for part in str(source).split(";")):
                return True
    return False


def find_gate(bundle: Bundle, community_id: str, gate: str) -> str:
    """Id of a compound's gate given its id or its exact name."""
    gates = bundle.gates[bundle.gates["community_id"] == community_id]
    by_id = gates[gates["id"] == gate]
    if len(by_id):
        return str(by_id["id"].iloc[0])
    by_name = gates[gates["name"] == gate]
    if len(by_name) == 1:
        return str(by_name["id"].iloc[0])
    if len(by_name) > 1:
        raise ConfigError(f"gate name {gate!r} is ambiguous in {community_id}: use one of {', '.join(by_name['id'])}")
    known = ", ".join(f"{n or '?'} ({i})" for i, n in zip(gates["id"], gates["name"])) or "none"
    raise ConfigError(f"no gate {gate!r} in community {community_id} (gates: {known})")


def facing_vector(gate: Point, polygon: BaseGeometry) -> tuple[float, float]:
    """Unit vector (projected metres) a reader at ``gate`` faces when looking into ``polygon``.

    The inward normal of the boundary at the gate; the direction to the
    compound's centre when the gate is far from the boundary.
    """
    boundary = polygon.boundary
    centre = polygon.representative_point() if polygon.area else polygon.centroid
    if gate.distance(boundary) <= 40.0 and boundary.length > 0:
        d = boundary.project(gate)
        a = boundary.interpolate(max(d - 5.0, 0.0))
        b = boundary.interpolate(min(d + 5.0, boundary.length))
        tx, ty = b.x - a.x, b.y - a.y
        norm = math.hypot(tx, ty)
        if norm > 1e-6:
            nx, ny = -ty / norm, tx / norm
            foot = boundary.interpolate(d)
            probe = Point(foot.x + 3.0 * nx, foot.y + 3.0 * ny)
            if not polygon.contains(probe):
                nx, ny = -nx, -ny
            return nx, ny
    dx, dy = centre.x - gate.x, centre.y - gate.y
    norm = math.hypot(dx, dy)
    return (dx / norm, dy / norm) if norm > 1e-6 else (0.0, 1.0)


def _affine(theta: float, scale: int, centre_m: tuple[float, float], centre_mm: tuple[float, float]) -> list[float]:
    """shapely affine matrix: rotate by ``theta`` around ``centre_m`` then scale metres to paper mm."""
    k = 1000.0 / scale
    c, s = math.cos(theta), math.sin(theta)
    a, b, d, e = k * c, -k * s, k * s, k * c
    xoff = centre_mm[0] - (a * centre_m[0] + b * centre_m[1])
    yoff = centre_mm[1] - (d * centre_m[0] + e * centre_m[1])
    return [a, b, d, e, xoff, yoff]


def _poly_path(geoms) -> MplPath | None:
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


def _line_parts(geoms) -> list[np.ndarray]:
    out = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type == "LineString" and len(part.coords) >= 2:
                out.append(np.asarray(part.coords))
    return out


def _wrap(text: str, max_w: float, measure) -> list[str]:
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


# --------------------------------------------------------------------------- the page


class _Page:
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

    def text(self, x: float, y: float, s: str, cap_mm: float, *, color: str, ha: str = "left",
             va: str = "baseline", zorder: float = 20, gid: str | None = None, **kw):
        t = self.ax.text(x, y, s, fontsize=fontsize_pt(cap_mm), fontfamily=self.family, color=color, ha=ha, va=va,
                         zorder=zorder, parse_math=False, gid=gid, **kw)
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
        kw = {}
        if m.fillstyle != "full":
            kw = {"fillstyle": m.fillstyle, "markerfacecoloralt": m.alt_face}
        (line,) = self.ax.plot(np.atleast_1d(x), np.atleast_1d(y), linestyle="none", marker=m.marker,
                               markersize=m.size_mm * self.f * scale * PT_PER_MM, markerfacecolor=m.face,
                               markeredgecolor=m.edge, markeredgewidth=m.edge_mm * self.f * PT_PER_MM,
                               zorder=zorder, gid=gid, **kw)
        return line

    def lines(self, parts: list[np.ndarray], s: Line, *, zorder: float, clip: Box | None = None):
        if not parts:
            return
        width = s.width_mm * self.f
        if s.casing and s.casing_mm:
            self.ax.add_collection(LineCollection(parts, colors=s.casing, linewidths=(width + 2 * s.casing_mm * self.f) * PT_PER_MM,
                                                  capstyle="round", joinstyle="round", zorder=zorder - 0.1))
        style = "solid" if not s.dashes_mm else (0, tuple(d / s.width_mm for d in s.dashes_mm))
        self.ax.add_collection(LineCollection(parts, colors=s.color, linewidths=width * PT_PER_MM, linestyles=style,
                                              capstyle="butt" if s.dashes_mm else "round", joinstyle="round",
                                              zorder=zorder))

    def area(self, geoms, a: Area, *, zorder: float):
        path = _poly_path(geoms)
        if path is not None:
            self.ax.add_patch(PathPatch(path, facecolor=a.face, edgecolor=a.edge, linewidth=a.edge_mm * self.f * PT_PER_MM,
                                        zorder=zorder, joinstyle="miter"))

    def boxed_label(self, text: str, box: Box, cap_mm: float, tb: TextBox, *, gid: str, zorder: float = 30):
        x0, y0, x1, y1 = box
        edge = tb.edge_mm * self.f
        self.ax.add_patch(Rectangle((x0 + edge / 2, y0 + edge / 2), x1 - x0 - edge, y1 - y0 - edge, facecolor=tb.face,
                                    edgecolor=tb.edge if edge else "none", linewidth=edge * PT_PER_MM,
                                    zorder=zorder, gid=f"{gid}:box"))
        return self.text((x0 + x1) / 2, (y0 + y1) / 2, text, cap_mm, color=tb.ink, ha="center", va="center",
                         zorder=zorder + 0.5, gid=gid)


def _label_size(page: _Page, text: str, cap_mm: float, tb: TextBox) -> tuple[float, float]:
    t = page.ax.text(0, 0, text, fontsize=fontsize_pt(cap_mm), fontfamily=page.family, ha="center", va="center",
                     parse_math=False)
    x0, y0, x1, y1 = page.extent_mm(t)
    t.remove()
    pad = (tb.pad_mm + tb.edge_mm) * page.f
    return (x1 - x0) + 2 * pad, (y1 - y0) + 2 * pad


# --------------------------------------------------------------------------- render


def render_poster(bundle: Bundle, community_id: str, *, gate: str | None = None, config: Config | None = None,
                  paper: str = "A2", landscape: bool = False, bleed_mm: float = 0.0, crop_marks: bool = False,
                  style: PosterStyle = DEFAULT_STYLE, draft: bool | str | None = None) -> Poster:
    """Draw the guide poster of one gate, or the overview of a compound.

    Parameters
    ----------
    bundle
        The model; may hold many compounds.
    community_id
        The compound to draw.
    gate
        Gate id or exact gate name; ``None`` draws the north-up overview.
    config
        Base URL (QR target), language and data date; defaults to :class:`Config()`.
    paper
        ``"A4"`` to ``"A0"``.
    landscape
        Long side horizontal.
    bleed_mm
        Extra printed area beyond the trim on every side (the header band runs into it).
    crop_marks
        Draw crop marks at the trim corners, outside the bleed.
    style
        What it looks like (:mod:`ridermap.render.poster_style`).
    draft
        The "草图 / DRAFT" band: ``True`` / ``False``, or ``"auto"`` (on when
        the compound has no confirmed gate); ``None`` takes ``config.draft``.

    Returns
    -------
    Poster
        The Figure and the label boxes, symbols, grid and QR target on it.

    Raises
    ------
    RenderError
        Labels do not fit (the message suggests a larger paper), or a text
        has characters the CJK font cannot draw.
    ConfigError
        Unknown paper, compound or gate.
    """
    config = config or Config()
    paper = paper.upper()
    if paper not in PAPER_MM:
        raise ConfigError(f"paper must be one of {', '.join(PAPER_MM)}, got {paper!r}")
    if bleed_mm < 0 or bleed_mm > 20:
        raise ConfigError(f"bleed must be between 0 and 20 mm, got {bleed_mm}")
    lang = config.language if config.language in STRINGS else "zh"
    words = STRINGS[lang]
    view = bundle.community(community_id)
    gate_id = find_gate(view, community_id, gate) if gate is not None else None
    view = drawable_bundle(view, where=f"poster of {community_id}")  # emoji, bidi controls: never an error
    with_band = needs_draft(config.draft if draft is None else draft, view.gates, community_id)
    kwargs = dict(config=config, paper=paper, landscape=landscape, bleed_mm=bleed_mm, crop_marks=crop_marks,
                  style=style, lang=lang, words=words, draft=with_band)
    try:
        try:
            return _render_relayout(view, community_id, gate_id, **kwargs)
        except LabelFitError:
            # map labels of unconfirmed gates without their （待核实）: still grey, hollow symbol, in the legend
            return _render_relayout(view, community_id, gate_id, gate_marks=False, **kwargs)
    except LabelFitError as exc:
        bigger = larger_paper(paper)
        hint = f"use a larger paper (--paper {bigger})" if bigger else "A0 is the largest paper: split the compound"
        if not landscape:
            hint += " or --landscape"
        raise RenderError(f"{exc} on {paper}{' landscape' if landscape else ''}: labels do not fit — {hint}") from exc


def _render_relayout(view: Bundle, cid: str, gate_id: str | None, **kwargs) -> Poster:
    try:
        return _render(view, cid, gate_id, **kwargs)
    except _Relayout as again:  # the index came out longer than estimated: lay out once more
        return _render(view, cid, gate_id, index_rows=again.index_rows, **kwargs)


class _Relayout(Exception):
    """The real index needs more rows than the layout reserved."""

    def __init__(self, index_rows: list):
        super().__init__("relayout")
        self.index_rows = index_rows


@dataclass(frozen=True)
class _Geo:
    """The compound on the projected plane and how it turns onto the page."""
    layers: dict
    poly_m: BaseGeometry
    gate_row: object
    theta: float
    north_deg: float
    near: BaseGeometry
    centroid: tuple[float, float]
    centre_m: tuple[float, float]
    ext_w: float
    ext_h: float


@dataclass(frozen=True)
class _Sheet:
    """The page, its trim and bleed, and the content box inside the margins."""
    page: _Page
    page_w: float
    page_h: float
    trim: Box
    bleed_box: Box
    margin: float
    gap: float
    content: Box


@dataclass(frozen=True)
class _Texts:
    """Every text the poster prints that is decided before the layout."""
    gate_shown: dict
    gate_name: str
    title: str
    subtitle: str
    unconfirmed_gates: set
    unconfirmed_numbers: set
    any_unconfirmed: bool
    url: str
    b_text: list
    u_text: list


@dataclass(frozen=True)
class _Type:
    """Sizes and line heights of the side panel, and the words it speaks."""
    page: _Page
    style: PosterStyle
    words: dict
    lang: str
    body: float
    small: float
    heading: float
    body_line: float
    head_line: float
    small_line: float
    sym_w: float
    col_w: float


@dataclass(frozen=True)
class _Marks:
    """The symbols drawn on the map and where the point layers fell on the page."""
    symbols: list
    fok: np.ndarray
    gxy: np.ndarray
    gok: np.ndarray
    uxy: np.ndarray
    uok: np.ndarray
    here_xy: np.ndarray | None


def _access_parts(row, lang: str, words: dict[str, str]) -> tuple[str, str]:
    """("ride in (locked)", "hours Mo-Su 07:00-22:00, other times park and walk"); a rule only from data."""
    access = known_access(row["rider_access"])
    main = RIDER_ACCESS_LABELS[access][lang]
    if bool(row.get("locked", False)):
        main += f" ({words['locked']})" if lang == "en" else f"（{words['locked']}）"
    hours = str(row.get("hours", "") or "")
    detail = ""
    if hours and access != "walk":
        detail = f"{words['hours']} {hours}{'; ' if lang == 'en' else '，'}{words['outside_hours']}"
    return main, detail


def _access_text(row, lang: str, words: dict[str, str]) -> str:
    main, detail = _access_parts(row, lang, words)
    return f"{main} ({detail})" if detail and lang == "en" else (f"{main}（{detail}）" if detail else main)


def _geo(view: Bundle, cid: str, gate_id: str | None) -> _Geo:
    """Project to UTM, face the map the way the rider faces at the gate, and find what must be on it."""
    lon, lat = view.communities.geometry.iloc[0].representative_point().coords[0]
    utm = utm_crs(lon, lat)
    layers = {k: v.to_crs(utm) for k, v in view.layers().items()}
    poly_m = layers["communities"].geometry.iloc[0]
    gate_row = None
    if gate_id is not None:
        gate_row = layers["gates"][layers["gates"]["id"] == gate_id].iloc[0]
        fx, fy = facing_vector(gate_row.geometry, poly_m)
        theta = math.pi / 2 - math.atan2(fy, fx)
    else:
        theta = 0.0
    # true north on the projected plane
    north = gpd.GeoSeries([Point(lon, lat), Point(lon, lat + 0.001)], crs=view.communities.crs).to_crs(utm)
    nvx, nvy = north.iloc[1].x - north.iloc[0].x, north.iloc[1].y - north.iloc[0].y
    north_deg = math.degrees(math.atan2(nvy, nvx) + theta) - 90.0  # ccw from page up

    # what must be on the map: the compound and everything of it, facilities just around it
    near = poly_m.buffer(50.0)
    fac = layers["facilities"]
    must = [poly_m, *layers["buildings"].geometry, *layers["gates"].geometry, *layers["units"].geometry,
            *fac[(fac["community_id"] == cid) | fac.intersects(near)].geometry]
    extent = shapely.affinity.rotate(shapely.GeometryCollection([g for g in must if g is not None]), theta,
                                     origin=poly_m.centroid, use_radians=True)
    ex0, ey0, ex1, ey1 = extent.bounds
    rot_centre = ((ex0 + ex1) / 2, (ey0 + ey1) / 2)
    # rotation is about the compound centroid; the centre of the rotated extent maps back to:
    c, s = math.cos(-theta), math.sin(-theta)
    cx0, cy0 = poly_m.centroid.x, poly_m.centroid.y
    centre_m = (cx0 + c * (rot_centre[0] - cx0) - s * (rot_centre[1] - cy0),
                cy0 + s * (rot_centre[0] - cx0) + c * (rot_centre[1] - cy0))
    ext_w, ext_h = max(ex1 - ex0, 1.0), max(ey1 - ey0, 1.0)
    return _Geo(layers, poly_m, gate_row, theta, north_deg, near, (cx0, cy0), centre_m, ext_w, ext_h)


def _sheet(paper: str, landscape: bool, bleed_mm: float, crop_marks: bool, family: str, style: PosterStyle,
           f: float) -> _Sheet:
    """The page: trim, bleed and room for crop marks around it; the content box inside the margins."""
    short, long_ = PAPER_MM[paper]
    trim_w, trim_h = (long_, short) if landscape else (short, long_)
    outer = bleed_mm + (_CROP_MARK_GAP_MM + _CROP_MARK_LEN_MM + 1.0 if crop_marks else 0.0)
    page_w, page_h = trim_w + 2 * outer, trim_h + 2 * outer
    trim = (outer, outer, outer + trim_w, outer + trim_h)
    bleed_box = (outer - bleed_mm, outer - bleed_mm, outer + trim_w + bleed_mm, outer + trim_h + bleed_mm)
    page = _Page(page_w, page_h, family=family, style=style, factor=f)
    margin = style.margin_mm * f
    gap = style.gap_mm * f
    content = (trim[0] + margin, trim[1] + margin, trim[2] - margin, trim[3] - margin)
    return _Sheet(page, page_w, page_h, trim, bleed_box, margin, gap, content)


def _texts(view: Bundle, geo: _Geo, cid: str, gate_id: str | None, *, config: Config, lang: str,
           words: dict[str, str]) -> _Texts:
    """Title, subtitle, gate names, label texts and the URL; every one checked for glyphs."""
    layers, gate_row = geo.layers, geo.gate_row
    comm = view.communities.iloc[0]
    # the title is the compound's name, marked 待核实 if inferred; never its id
    name, name_unconfirmed = compound_title(comm["name"], comm["inferred"], lang)
    gates_df = layers["gates"].copy()
    # gate names as shown: 待核实 on inferred gates and gates of unknown rule
    gate_shown = {str(r["id"]): gate_title(r["name"], inferred=r["inferred"], rider_access=r["rider_access"],
                                           survey_key=r["survey_key"], lang=lang, fallback=str(r["id"]))
                  for _, r in gates_df.iterrows()}
    gate_name = gate_shown[str(gate_row["id"])][0] if gate_row is not None else ""
    title = f"{name} {words['guide']}"
    if gate_row is not None:
        rule = (words["rule_unconfirmed"] if known_access(gate_row["rider_access"]) == "unknown"
                else _access_text(gate_row, lang, words))
        subtitle = f"{words['here']}{words['sep']}{gate_name or gate_id} — {rule}"
    else:
        comm_rule = known_access(comm["rider_access"])
        subtitle = f"{words['overview']} — " + (
            words["rule_unconfirmed"] if comm_rule == "unknown"
            else words["compound_access"].format(access=RIDER_ACCESS_LABELS[comm_rule][lang]))
    unconfirmed_gates = {gid for gid, (_, unconf) in gate_shown.items() if unconf}
    # numbers ridermap inferred (not read from data) are printed grey, like everything 待核实
    unconfirmed_numbers = {str(i) for layer in ("buildings", "units")
                           for i, inf in zip(layers[layer]["id"], layers[layer]["inferred"]) if is_inferred(inf, "number")}
    # the legend's 待核实 row; where unconfirmed gates are drawn, their row (出入口：待核实) says it already
    any_unconfirmed = bool(unconfirmed_numbers) or (not unconfirmed_gates and (
        name_unconfirmed or known_access(comm["rider_access"]) == "unknown"))
    url = absolute(config.base_url, gate_path(cid, gate_id) if gate_id else community_path(cid))

    buildings = layers["buildings"]
    units = layers["units"]
    fac = layers["facilities"]
    b_text = [str(n) or str(lab) for n, lab in zip(buildings["number"], buildings["label"])]
    u_text = [str(n) or "" for n in units["number"]]
    all_text = [title, subtitle, name, *b_text, *u_text, *(t for t, _ in gate_shown.values()), *fac["name"].astype(str),
                *buildings["label"].astype(str), *units["label"].astype(str), *(v for v in words.values()),
                *(v[lang] for v in RIDER_ACCESS_LABELS.values()), *(v[lang] for v in FACILITY_LABELS.values()),
                *gates_df["hours"].astype(str), str(config.data_date), OSM_ATTRIBUTION, url,
                *(honest_words(lang)[k] for k in ("draft", "draft_note"))]
    for text in all_text:
        check_glyphs(text, where=f"poster of {cid}")
    return _Texts(gate_shown, gate_name, title, subtitle, unconfirmed_gates, unconfirmed_numbers, any_unconfirmed,
                  url, b_text, u_text)


def _header(sheet: _Sheet, title: str, subtitle: str, sizes, style: PosterStyle, bleed_mm: float) -> float:
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
    sub_lines = _wrap(subtitle, title_w, lambda s: page.measure(s, sub_cap))
    head_pad = 0.45 * title_cap
    header_h = head_pad + title_cap + 0.9 * title_cap + len(sub_lines) * page.line_mm(sub_cap, 1.35) + head_pad
    header_top = trim[3]
    header_bottom = trim[3] - margin - header_h
    band_x0 = bleed_box[0] if bleed_mm else trim[0]
    band_x1 = bleed_box[2] if bleed_mm else trim[2]
    band_top = bleed_box[3] if bleed_mm else trim[3]
    page.ax.add_patch(Rectangle((band_x0, header_bottom), band_x1 - band_x0, band_top - header_bottom,
                                facecolor=style.header.face, edgecolor="none", zorder=1))
    y = header_top - margin - head_pad - title_cap
    page.text(cx0_, y, title, title_cap, color=style.header.ink, gid="title")
    y -= 0.9 * title_cap + page.line_mm(sub_cap, 1.0) * 0.95
    for line in sub_lines:
        page.text(cx0_, y, line, sub_cap, color=style.header.ink, gid="subtitle")
        y -= page.line_mm(sub_cap, 1.35)
    return header_bottom


def _qr_caption(ty: _Type, qr_block_w: float, qr_mm: float, gap: float, url: str, foot: list[str]):
    """The QR block: its caption lines (text, cap height) wrapped to its width, and its height."""
    page, body, small = ty.page, ty.body, ty.small
    caption_lines = [(ln, body) for ln in _wrap(ty.words["scan"], qr_block_w, lambda s: page.measure(s, body))]
    caption_lines += [(ln, small) for ln in _wrap(url, qr_block_w, lambda s: page.measure(s, small))]
    caption_lines += [(ln, small) for t in foot for ln in _wrap(t, qr_block_w, lambda s: page.measure(s, small))]
    qr_block_h = qr_mm + sum((ty.body_line if c == body else ty.small_line) for _, c in caption_lines) + 0.5 * gap
    return caption_lines, qr_block_h


def _facility_bearings(fac: gpd.GeoDataFrame, origin, theta: float, centroid: tuple[float, float]):
    """Distance of each facility from ``origin`` and its direction on the page as an arrow."""
    cx0, cy0 = centroid
    fac_dist = np.array([origin.distance(g) for g in fac.geometry])
    c_, s_ = math.cos(theta), math.sin(theta)
    fac_dir = []
    for g in fac.geometry:
        dx, dy = g.x - cx0, g.y - cy0
        ang = math.degrees(math.atan2(s_ * dx + c_ * dy, c_ * dx - s_ * dy))  # on the page, ccw from +x
        fac_dir.append("→↗↑↖←↙↓↘"[int(((ang + 22.5) % 360) // 45)])
    return fac_dist, fac_dir


def _nearby_rows(ty: _Type, mask: np.ndarray, fac: gpd.GeoDataFrame, fac_dist: np.ndarray,
                 fac_dir: list[str]) -> list[_Row]:
    """Facilities around but off the map: nearest two of each kind, with distance and direction."""
    picked, per_kind = [], {}
    for j in np.argsort(fac_dist, kind="stable"):
        kind = str(fac["kind"].iloc[j])
        if not mask[j] or kind not in ty.style.facilities or per_kind.get(kind, 0) >= 2 or len(picked) >= 8:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        picked.append(j)
    if not picked:
        return []
    out = [_Row("head", ty.words["nearby"], ty.head_line, None, True)]
    for j in picked:
        kind = str(fac["kind"].iloc[j])
        name_ = str(fac["name"].iloc[j]) or FACILITY_LABELS.get(kind, {}).get(ty.lang, kind)
        text = f"{name_} {fac_dir[j]} {round(fac_dist[j] / 10) * 10:.0f}m"
        for k, ln in enumerate(_wrap(text, ty.col_w - ty.sym_w, lambda t: ty.page.measure(t, ty.body))):
            out.append(_Row("gate", ln, ty.body_line, f"facility:{kind}" if k == 0 else None))
    return out


def _gate_rows(ty: _Type, gates: gpd.GeoDataFrame, gate_shown: dict) -> list[_Row]:
    """The gates list, wrapped to the column width."""
    page, body, words = ty.page, ty.body, ty.words
    gate_rows: list[_Row] = [_Row("head", words["gates"], ty.head_line, None, True)]
    if not len(gates):
        for ln in _wrap(words["no_gate"], ty.col_w, lambda s: page.measure(s, body)):
            gate_rows.append(_Row("note", ln, ty.body_line, None))
    for _, row in gates.sort_values("name").iterrows():
        key = f"gate:{_gate_key(row)}"
        main, detail = _access_parts(row, ty.lang, words)
        # "南侧出入口：待核实" rather than "南侧出入口（待核实）：待核实"
        shown = gate_shown[str(row["id"])][0]
        if known_access(row["rider_access"]) == "unknown" and str(row["name"]).strip():
            shown = str(row["name"]).strip()
        lines = _wrap(f"{shown}{words['sep']}{main}", ty.col_w - ty.sym_w, lambda s: page.measure(s, body))
        lines += _wrap(detail, ty.col_w - ty.sym_w, lambda s: page.measure(s, body)) if detail else []
        for k, ln in enumerate(lines):
            gate_rows.append(_Row("gate", ln, ty.body_line, key if k == 0 else None, k < len(lines) - 1))
    return gate_rows


def _legend_block(ty: _Type, legend_rows: list[tuple[str, str]]) -> list[_Row]:
    return [_Row("head", ty.words["legend"], ty.head_line, None, True)] + \
        [_Row("legend", t, ty.body_line, k) for k, t in legend_rows]


def _fits(rows, n_cols: int, max_h: float) -> bool:
    """True if ``rows`` fit in ``n_cols`` columns of height ``max_h``."""
    return _columns(rows, max_h, n_cols) is not None


def _split_page(rows: list[_Row], n_index: int, *, content: Box, top: float, landscape: bool, col_w: float,
                gap: float, qr_block_w: float, qr_block_h: float, head_line: float):
    """Share the content box between the map and the panel: (panel, map_block, panel columns)."""
    cx0_, cy0_, cx1_, _ = content
    content_w, content_h = cx1_ - cx0_, top - cy0_
    if landscape:
        # panel on the right: k columns; QR block at its bottom
        for k in range(1, 5):
            panel_w = k * col_w + (k - 1) * gap
            avail_h = content_h - qr_block_h - gap
            if _fits(rows, k, avail_h):
                break
        else:
            raise LabelFitError(f"legend, gates and index do not fit beside the map ({n_index} index rows)",
                                _dummy_request())
        panel = (cx1_ - panel_w, cy0_, cx1_, top)
        map_block = (cx0_, cy0_, cx1_ - panel_w - gap, top)
        return panel, map_block, k
    n_cols = max(1, int((content_w - qr_block_w) // (col_w + gap)))
    log.debug("panel: %d columns of %.1f mm, %d rows, content %.0fx%.0f mm", n_cols, col_w, len(rows), content_w, content_h)
    lo, hi = qr_block_h, content_h * 0.55
    if not _fits(rows, n_cols, hi):
        raise LabelFitError(f"legend, gates and index do not fit under the map ({n_index} index rows)",
                            _dummy_request())
    for _ in range(30):
        mid = (lo + hi) / 2
        if _fits(rows, n_cols, mid):
            hi = mid
        else:
            lo = mid
    panel_h = max(hi, qr_block_h) + head_line * 0.25
    panel = (cx0_, cy0_, cx1_, cy0_ + panel_h)
    map_block = (cx0_, cy0_ + panel_h + gap, cx1_, top)
    return panel, map_block, n_cols


def _map_frame(geo: _Geo, map_block: Box, *, band: float, strip_h: float, style: PosterStyle, f: float):
    """The map frame inside its block, the scale that fits the extent in it, its grid and the affine matrix."""
    frame = (map_block[0] + band, map_block[1] + strip_h + band, map_block[2] - band, map_block[3] - band)
    fw, fh = frame[2] - frame[0], frame[3] - frame[1]
    if fw < 40 or fh < 40:
        raise LabelFitError("no room left for the map", _dummy_request())
    pad = 10.0 * f
    scale = nice_scale(max(geo.ext_w * 1000.0 / max(fw - 2 * pad, 1.0), geo.ext_h * 1000.0 / max(fh - 2 * pad, 1.0)))
    grid = make_grid(frame, scale=scale, square_mm=style.grid_square_mm)
    matrix = _affine(geo.theta, scale, geo.centre_m, ((frame[0] + frame[2]) / 2, (frame[1] + frame[3]) / 2))
    return frame, scale, grid, matrix


def _clip(gs: gpd.GeoSeries, frame: Box) -> gpd.GeoSeries:
    return gs.clip_by_rect(*frame)


def _draw_map(page: _Page, layers: dict, cid: str, matrix: list[float], frame: Box, grid: Grid,
              style: PosterStyle, f: float):
    """Paper, compound, paths, buildings, outline, grid lines and frame; returns (comp_mm, b_mm, drawn keys)."""
    fw, fh = frame[2] - frame[0], frame[3] - frame[1]
    page.ax.add_patch(Rectangle((frame[0], frame[1]), fw, fh, facecolor=style.paper_face, edgecolor="none", zorder=0.5))
    comp_mm = layers["communities"].geometry.affine_transform(matrix)
    page.area(_clip(comp_mm, frame), Area(style.compound.face, "none", 0.0), zorder=2)
    paths = layers["paths"].copy()
    paths_mm = _clip(paths.geometry.affine_transform(matrix), frame)
    inside = (paths["community_id"] == cid).to_numpy()
    rideable = paths["rideable"].to_numpy(dtype=bool)
    legend_drawn: list[str] = []
    for mask, line_style, key, z in ((~inside & rideable, style.street, "street", 3),
                                     (~inside & ~rideable, style.street_footway, "street_footway", 3.2),
                                     (inside & ~rideable, style.walk_only, "walk_only", 4),
                                     (inside & rideable, style.rideable, "rideable", 4.5)):
        parts = _line_parts(paths_mm[mask])
        if parts:
            page.lines(parts, line_style, zorder=z)
            legend_drawn.append(key)
    b_mm = layers["buildings"].geometry.affine_transform(matrix)
    if len(b_mm):
        page.area(_clip(b_mm, frame), style.building, zorder=5)
        legend_drawn.append("building")
    outline = _line_parts(_clip(comp_mm.boundary, frame))
    page.lines(outline, Line(style.compound.edge, style.compound.edge_mm), zorder=6)
    legend_drawn.insert(0, "compound")
    # grid over the map
    gl = [np.array([[x, frame[1]], [x, frame[3]]]) for x in grid.x_lines()]
    gl += [np.array([[frame[0], y], [frame[2], y]]) for y in grid.y_lines()]
    page.lines(gl, style.grid, zorder=7)
    page.ax.add_patch(Rectangle((frame[0], frame[1]), fw, fh, facecolor="none", edgecolor=style.ink,
                                linewidth=0.5 * f * PT_PER_MM, zorder=40))
    return comp_mm, b_mm, legend_drawn


def _add_symbols(page: _Page, symbols: list[Symbol], xy: np.ndarray, keys: list[str], m: Marker, kind: str,
                 z: float, f: float, scale_: float = 1.0) -> None:
    if not len(xy):
        return
    page.marker(xy[:, 0], xy[:, 1], m, zorder=z, scale=scale_, gid=kind)
    half = (m.size_mm * scale_ + m.edge_mm) * f / 2
    for (x, y), k in zip(xy, keys):
        symbols.append(Symbol(kind, k, (x - half, y - half, x + half, y + half)))


def _points_in_frame(gs: gpd.GeoSeries, frame: Box) -> tuple[np.ndarray, np.ndarray]:
    xy = np.array([(p.x, p.y) if p is not None and not p.is_empty else (np.nan, np.nan) for p in gs]).reshape(-1, 2)
    ok = (xy[:, 0] >= frame[0]) & (xy[:, 0] <= frame[2]) & (xy[:, 1] >= frame[1]) & (xy[:, 1] <= frame[3])
    return xy, ok


def _draw_symbols(page: _Page, layers: dict, gate_id: str | None, matrix: list[float], frame: Box,
                  style: PosterStyle, f: float, legend_drawn: list[str]) -> _Marks:
    """Facilities, unit doors, gates and the you-are-here mark; appends what it drew to ``legend_drawn``."""
    symbols: list[Symbol] = []
    fac = layers["facilities"]
    units = layers["units"]
    gates = layers["gates"]
    fxy, fok = _points_in_frame(fac.geometry.affine_transform(matrix), frame)
    for kind in style.facilities:
        mask = fok & (fac["kind"] == kind).to_numpy()
        if mask.any():
            _add_symbols(page, symbols, fxy[mask], list(fac["id"][mask]), style.facilities[kind], f"facility:{kind}",
                         14, f)
            legend_drawn.append(f"facility:{kind}")
    uxy, uok = _points_in_frame(units.geometry.affine_transform(matrix), frame)
    if uok.any():
        _add_symbols(page, symbols, uxy[uok], list(units["id"][uok]), style.unit_door, "unit_door", 15, f)
        legend_drawn.append("unit_door")
    gxy, gok = _points_in_frame(gates.geometry.affine_transform(matrix), frame)
    gate_keys = np.array([_gate_key(r) for _, r in gates.iterrows()], dtype=object)
    for access in ("ride", "walk", "none", "unknown"):
        mask = gok & (gate_keys == access)
        if mask.any():
            _add_symbols(page, symbols, gxy[mask], list(gates["id"][mask]), style.gates[access], f"gate:{access}",
                         16, f)
            legend_drawn.append(f"gate:{access}")
    here_xy = None
    if gate_id is not None:
        i = int(np.flatnonzero((gates["id"] == gate_id).to_numpy())[0])
        page.here_key = str(gate_keys[i])
        here_xy = gxy[i]
        _add_symbols(page, symbols, here_xy.reshape(1, 2), [gate_id], style.here, "here", 15.5, f)
        legend_drawn.append("here")
    return _Marks(symbols, fok, gxy, gok, uxy, uok, here_xy)


def _label_requests(page: _Page, layers: dict, gate_id: str | None, marks: _Marks, texts: _Texts,
                    comp_mm: gpd.GeoSeries, b_clip: gpd.GeoSeries, *, sizes, style: PosterStyle, words,
                    gate_marks: bool, f: float) -> list[LabelRequest]:
    """What wants a label, largest obstacle first: here, gates, buildings (smallest first), units."""
    requests: list[LabelRequest] = []
    reach = style.label_reach_mm * f
    step = 1.2 * f
    gap_l = style.label_gap_mm * f
    comp_centre = comp_mm.iloc[0].representative_point() if not comp_mm.iloc[0].is_empty else Point(0, 0)
    buildings, units = layers["buildings"], layers["units"]

    def ring_from(anchor, w, h, prefer, start):
        return ring_candidates(anchor, w, h, start_mm=start, step_mm=step, reach_mm=reach, prefer_deg=prefer)

    gate_half = max(m.size_mm for m in style.gates.values()) * f / 2
    here_xy = marks.here_xy
    if here_xy is not None:
        gate_name = texts.gate_name
        text = f"{words['here']} · {gate_name}" if gate_name else words["here"]
        w, h = _label_size(page, text, sizes.gate_mm, style.here_label)
        start = style.here.size_mm * f / 2 + gap_l
        requests.append(LabelRequest(gate_id, "here", text, w, h, tuple(here_xy),
                                     ring_from(here_xy, w, h, -90.0, start)))
    for i, row in layers["gates"].reset_index(drop=True).iterrows():
        if row["id"] == gate_id or not marks.gok[i] or not str(row["name"]).strip():
            continue
        xy = marks.gxy[i]
        text = texts.gate_shown[str(row["id"])][0] if gate_marks else str(row["name"]).strip()
        tb = style.unconfirmed_label if str(row["id"]) in texts.unconfirmed_gates else style.gate_label
        w, h = _label_size(page, text, sizes.gate_mm, tb)
        prefer = math.degrees(math.atan2(xy[1] - comp_centre.y, xy[0] - comp_centre.x))
        requests.append(LabelRequest(str(row["id"]), "gate", text, w, h, tuple(xy),
                                     ring_from(xy, w, h, prefer, gate_half + gap_l)))
    order = np.argsort([g.area if g is not None else 0 for g in b_clip], kind="stable")
    for i in order:
        text = texts.b_text[i]
        geom = b_clip.iloc[i]
        if not text or geom is None or geom.is_empty:
            continue
        w, h = _label_size(page, text, sizes.building_mm, style.building_label)
        pole = pole_of(geom)
        cands = np.vstack([interior_candidates(geom, w, h, step_mm=step),
                           ring_candidates(pole, w, h, start_mm=-min(w, h) / 2, step_mm=step, reach_mm=reach,
                                           prefer_deg=90.0)])
        requests.append(LabelRequest(str(buildings["id"].iloc[i]), "building", text, w, h, pole, cands, geom))
    b_poles = {bid: pole_of(g) for bid, g in zip(buildings["id"], b_clip) if g is not None and not g.is_empty}
    door_half = style.unit_door.size_mm * f / 2
    for i in np.flatnonzero(marks.uok):
        text = texts.u_text[i]
        if not text:
            continue
        xy = marks.uxy[i]
        w, h = _label_size(page, text, sizes.unit_mm, style.unit_label)
        pole = b_poles.get(units["building_id"].iloc[i])
        prefer = math.degrees(math.atan2(xy[1] - pole[1], xy[0] - pole[0])) if pole else 90.0
        requests.append(LabelRequest(str(units["id"].iloc[i]), "unit", text, w, h, tuple(xy),
                                     ring_from(xy, w, h, prefer, door_half + gap_l)))
    return requests


def _draw_labels(page: _Page, requests: list[LabelRequest], symbols: list[Symbol], frame: Box, texts: _Texts, *,
                 sizes, style: PosterStyle, f: float) -> list:
    """Place the labels clear of the symbols and draw them with their leaders."""
    gap_l = style.label_gap_mm * f
    inset = 1.0 * f
    placed = place_labels(requests, bounds=(frame[0] + inset, frame[1] + inset, frame[2] - inset, frame[3] - inset),
                          obstacles=[s.box for s in symbols], gap_mm=gap_l)
    leader_parts = [np.array(p.leader) for p in placed if p.leader is not None]
    page.lines(leader_parts, style.leader, zorder=25)
    caps = {"here": sizes.gate_mm, "gate": sizes.gate_mm, "building": sizes.building_mm, "unit": sizes.unit_mm}
    boxes = {"here": style.here_label, "gate": style.gate_label, "building": style.building_label,
             "unit": style.unit_label}
    for p in placed:
        tb = boxes[p.kind]
        if p.kind == "gate" and p.key in texts.unconfirmed_gates:
            tb = style.unconfirmed_label
        elif p.kind in ("building", "unit") and p.key in texts.unconfirmed_numbers:  # same box, grey ink
            tb = dataclasses.replace(tb, ink=style.unconfirmed_label.ink)
        page.boxed_label(p.text, p.box, caps[p.kind], tb, gid=f"label:{p.kind}:{p.key}")
    return placed


def _furniture(page: _Page, grid: Grid, frame: Box, map_block: Box, *, band: float, strip_h: float, scale: int,
               north_deg: float, words, body: float, small: float, style: PosterStyle) -> None:
    """Grid letters around the frame, the scale bar and the north arrow under it."""
    for name_, x in grid.col_centres():
        for yy in (frame[3] + band / 2, frame[1] - band / 2):
            page.text(x, yy, name_, body, color=style.ink, ha="center", va="center", gid="grid")
    for name_, yy in grid.row_centres():
        for x in (frame[0] - band / 2, frame[2] + band / 2):
            page.text(x, yy, name_, body, color=style.ink, ha="center", va="center", gid="grid")
    _scale_bar(page, x0=frame[0], y0=map_block[1], height=strip_h, scale=scale, frame_w=frame[2] - frame[0],
               words=words, body=body, small=small, grid=grid)
    _north_arrow(page, cx=frame[2] - strip_h * 0.5, cy=map_block[1] + strip_h * 0.5, size=strip_h * 0.8,
                 angle_deg=north_deg, label=words["north"], body=body)


def _qr_place(panel: Box, *, landscape: bool, qr_block_w: float, qr_block_h: float, gap: float):
    """Where the QR block goes and where the panel's text flows: (qr_x0, qr_top, flow_box)."""
    if landscape:
        qr_x0 = panel[0]
        qr_top = panel[1] + qr_block_h
        flow_box = (panel[0], qr_top + gap, panel[2], panel[3])
    else:
        qr_x0 = panel[2] - qr_block_w
        qr_top = panel[3]
        flow_box = (panel[0], panel[1], panel[2] - qr_block_w - gap, panel[3])
    return qr_x0, qr_top, flow_box


def _qr_block(ty: _Type, url: str, caption_lines, *, qr_x0: float, qr_top: float, qr_block_w: float,
              qr_mm: float) -> Box:
    """The QR code and its caption lines under it."""
    page, body = ty.page, ty.body
    qr_box = _qr(page, url, x0=qr_x0 + (qr_block_w - qr_mm) / 2, top=qr_top, size=qr_mm, style=ty.style)
    y = qr_box[1] - ty.body_line * 0.8
    for ln, cap in caption_lines:
        page.text(qr_x0 + qr_block_w / 2, y, ln, cap, color=ty.style.ink, ha="center", gid="qr_caption")
        y -= ty.body_line if cap == body else ty.small_line
    return qr_box


def _render(view: Bundle, cid: str, gate_id: str | None, *, config: Config, paper: str, landscape: bool,
            bleed_mm: float, crop_marks: bool, style: PosterStyle, lang: str, words: dict[str, str],
            draft: bool = False, gate_marks: bool = True, index_rows: list | None = None) -> Poster:
    sizes = TEXT_SIZES[paper]
    f = PAPER_FACTOR[paper]
    family = font_family()
    geo = _geo(view, cid, gate_id)
    layers, theta = geo.layers, geo.theta
    sheet = _sheet(paper, landscape, bleed_mm, crop_marks, family, style, f)
    page, gap = sheet.page, sheet.gap
    texts = _texts(view, geo, cid, gate_id, config=config, lang=lang, words=words)
    top = _header(sheet, texts.title, texts.subtitle, sizes, style, bleed_mm) - gap

    # ---------------------------------------------------------------- panel contents (sizes first)
    body, small, heading = sizes.body_mm, sizes.small_mm, sizes.heading_mm
    sym_w = 12.0 * f
    band = page.line_mm(body, 1.3)  # grid letters around the frame
    strip_h = max(page.line_mm(body, 1.2) * 2.2, 16.0 * f)  # scale bar and north arrow under the map
    qr_mm = style.qr_size_mm * f
    foot = [s for s in (words["data_date"].format(date=config.data_date) if config.data_date else "",
                        OSM_ATTRIBUTION if _has_osm(*view.layers().values()) else "") if s]
    # legend entries depend on what is drawn, which depends on the frame; the
    # drawn set is (nearly) independent of the exact frame, so decide it from the data.
    drawn = _drawn_keys(layers, cid, gate_id) | ({"unconfirmed"} if texts.any_unconfirmed else set())
    legend_rows = _legend_rows(drawn, words, lang)
    legend_w = max([page.measure(t, body) for _, t in legend_rows] + [page.measure(words["legend"], heading)])
    ty = _Type(page, style, words, lang, body, small, heading, page.line_mm(body, 1.38), page.line_mm(heading, 1.7),
               page.line_mm(small, 1.4), sym_w, max(62.0 * f, sym_w + legend_w + 1.0))
    qr_block_w = qr_mm
    caption_lines, qr_block_h = _qr_caption(ty, qr_block_w, qr_mm, gap, texts.url, foot)
    fac = layers["facilities"]
    fac_est = ~(fac.intersects(geo.near).to_numpy() | (fac["community_id"] == cid).to_numpy())
    origin = geo.gate_row.geometry if geo.gate_row is not None else geo.poly_m
    fac_dist, fac_dir = _facility_bearings(fac, origin, theta, geo.centroid)
    gate_rows = _gate_rows(ty, layers["gates"], texts.gate_shown)

    # The index needs the grid, the grid needs the frame, the frame needs the panel size.
    # Estimate the index row count from the data (one row per building and its units).
    index_est = index_rows or _index_rows_estimate(layers, page, body, heading, ty.col_w, words)
    est_rows = _legend_block(ty, legend_rows) + gate_rows + _nearby_rows(ty, fac_est, fac, fac_dist, fac_dir) + index_est
    panel, map_block, panel_cols = _split_page(est_rows, len(index_est), content=sheet.content, top=top,
                                               landscape=landscape, col_w=ty.col_w, gap=gap, qr_block_w=qr_block_w,
                                               qr_block_h=qr_block_h, head_line=ty.head_line)

    frame, scale, grid, matrix = _map_frame(geo, map_block, band=band, strip_h=strip_h, style=style, f=f)

    # ---------------------------------------------------------------- map, symbols, labels, furniture
    comp_mm, b_mm, legend_drawn = _draw_map(page, layers, cid, matrix, frame, grid, style, f)
    marks = _draw_symbols(page, layers, gate_id, matrix, frame, style, f, legend_drawn)
    b_clip = _clip(b_mm, frame)
    requests = _label_requests(page, layers, gate_id, marks, texts, comp_mm, b_clip, sizes=sizes, style=style,
                               words=words, gate_marks=gate_marks, f=f)
    placed = _draw_labels(page, requests, marks.symbols, frame, texts, sizes=sizes, style=style, f=f)
    _furniture(page, grid, frame, map_block, band=band, strip_h=strip_h, scale=scale, north_deg=geo.north_deg,
               words=words, body=body, small=small, style=style)

    # ---------------------------------------------------------------- index (now that the grid is known)
    u_mm = layers["units"].geometry.affine_transform(matrix)
    index = _index(layers, grid, b_clip, u_mm, words)
    index_rows_ = _index_rows(index, page, body, heading, ty.col_w, words)

    # ---------------------------------------------------------------- panel
    legend_keys = [k for k in dict.fromkeys(legend_drawn + (["unconfirmed"] if texts.any_unconfirmed else []))]
    legend_rows = _legend_rows(set(legend_keys), words, lang)
    rows = _legend_block(ty, legend_rows) + gate_rows + _nearby_rows(ty, ~marks.fok, fac, fac_dist, fac_dir) + \
        index_rows_
    qr_x0, qr_top, flow_box = _qr_place(panel, landscape=landscape, qr_block_w=qr_block_w, qr_block_h=qr_block_h,
                                        gap=gap)
    if not _flow(page, rows, flow_box, col_w=ty.col_w, gap=gap, n_cols=panel_cols, sym_w=sym_w, style=style,
                 sizes=sizes):
        if index_rows is None:
            raise _Relayout(index_rows_)
        raise LabelFitError(f"legend, gates and index ({len(index_rows_)} rows) do not fit in the panel",
                            _dummy_request())
    qr_box = _qr_block(ty, texts.url, caption_lines, qr_x0=qr_x0, qr_top=qr_top, qr_block_w=qr_block_w, qr_mm=qr_mm)

    if crop_marks:
        _crop_marks(page, sheet.trim, offset=bleed_mm + _CROP_MARK_GAP_MM, length=_CROP_MARK_LEN_MM)
    if draft:  # across the map frame: legend, index and QR stay clear
        draft_band(page.fig, family=family, lang=lang, box=(frame[0] / sheet.page_w, frame[1] / sheet.page_h,
                                                            frame[2] / sheet.page_w, frame[3] / sheet.page_h))
    log.info("poster %s%s on %s: scale 1:%d, %d labels", cid, f" gate {gate_id}" if gate_id else "", paper, scale,
             len(placed))
    return Poster(figure=page.fig, labels=placed, symbols=marks.symbols, url=texts.url, community_id=cid,
                  gate_id=gate_id, paper=paper, landscape=landscape, page_mm=(sheet.page_w, sheet.page_h),
                  trim_box=sheet.trim, bleed_box=sheet.bleed_box, map_frame=frame, qr_box=qr_box, scale=scale,
                  grid=grid, rotation_deg=math.degrees(theta), legend=legend_keys, index=index, title=texts.title,
                  subtitle=texts.subtitle, draft=draft)


def _dummy_request() -> LabelRequest:
    return LabelRequest("panel", "panel", "", 0.0, 0.0, (0.0, 0.0), np.empty((0, 2)))


# --------------------------------------------------------------------------- legend


_LEGEND_ORDER = ("here", "gate:ride", "gate:walk", "gate:none", "gate:unknown", "unconfirmed", "compound", "building",
                 "unit_door", "rideable", "walk_only", "street", "street_footway")


def _gate_key(row) -> str:
    """Symbol of a gate: its rule from data, or ``unknown`` for an inferred gate or one of unknown rule."""
    if not gate_confirmed(inferred=row["inferred"], rider_access=known_access(row["rider_access"])):
        return "unknown"
    return known_access(row["rider_access"])


def _drawn_keys(layers: dict[str, gpd.GeoDataFrame], cid: str, gate_id: str | None) -> set[str]:
    keys = {"compound"}
    if len(layers["buildings"]):
        keys.add("building")
    if len(layers["units"]):
        keys.add("unit_door")
    keys |= {f"gate:{_gate_key(r)}" for _, r in layers["gates"].iterrows()}
    keys |= {f"facility:{k}" for k in layers["facilities"]["kind"]}
    paths = layers["paths"]
    inside = paths["community_id"] == cid
    for mask, key in ((~inside & paths["rideable"], "street"), (~inside & ~paths["rideable"], "street_footway"),
                      (inside & paths["rideable"], "rideable"), (inside & ~paths["rideable"], "walk_only")):
        if mask.any():
            keys.add(key)
    if gate_id:
        keys.add("here")
    return keys


def _legend_rows(keys: set[str], words: dict[str, str], lang: str) -> list[tuple[str, str]]:
    rows = []
    for key in _LEGEND_ORDER:
        if key not in keys:
            continue
        if key.startswith("gate:"):
            access = key.split(":", 1)[1]
            rows.append((key, f"{words['gates']}{words['sep']}{RIDER_ACCESS_LABELS[access][lang]}"))
        else:
            rows.append((key, words[key]))
    for kind in FACILITY_LABELS:
        if f"facility:{kind}" in keys:
            rows.append((f"facility:{kind}", FACILITY_LABELS[kind][lang]))
    return rows


def _legend_symbol(page: _Page, key: str, x: float, y: float, w: float, h: float, style: PosterStyle) -> None:
    """Draw the legend sample of ``key`` in the box (x, y) .. (x+w, y+h)."""
    f = page.f
    cx, cy = x + w / 2, y + h / 2
    if key == "here":
        page.marker(cx, cy, style.here, zorder=21, scale=0.8)
        page.marker(cx, cy, style.gates[page.here_key], zorder=21.5, scale=0.6)
    elif key.startswith("gate:"):
        page.marker(cx, cy, style.gates[key.split(":", 1)[1]], zorder=21, scale=0.8)
    elif key == "unconfirmed":
        tb = style.unconfirmed_label
        page.ax.add_patch(Rectangle((x + 0.1 * w, y + 0.2 * h), 0.8 * w, 0.6 * h, facecolor=tb.face, edgecolor=tb.edge,
                                    linewidth=tb.edge_mm * f * PT_PER_MM, linestyle=(0, (2, 1.5)), zorder=21))
        page.text(cx, cy, "?", 0.45 * h, color=tb.ink, ha="center", va="center", zorder=21.5, gid="legend:unconfirmed")
    elif key.startswith("facility:"):
        page.marker(cx, cy, style.facilities[key.split(":", 1)[1]], zorder=21, scale=0.8)
    elif key == "unit_door":
        page.marker(cx, cy, style.unit_door, zorder=21)
    elif key in ("compound", "building"):
        a = style.compound if key == "compound" else style.building
        page.ax.add_patch(Rectangle((x + 0.1 * w, y + 0.15 * h), 0.8 * w, 0.7 * h, facecolor=a.face, edgecolor=a.edge,
                                    linewidth=a.edge_mm * f * PT_PER_MM, zorder=21))
    else:
        page.lines([np.array([[x + 0.05 * w, cy], [x + 0.95 * w, cy]])], getattr(style, key), zorder=21)


# --------------------------------------------------------------------------- index


def _index(layers, grid: Grid, b_mm: gpd.GeoSeries, u_mm: gpd.GeoSeries, words: dict[str, str]) -> list[IndexEntry]:
    """Numbered buildings (natural order), each followed by its numbered units, with their squares."""
    out: list[IndexEntry] = []
    buildings, units = layers["buildings"], layers["units"]
    border = sorted(range(len(buildings)), key=lambda i: (_natural_key(str(buildings["number"].iloc[i]) or "~"),
                                                          str(buildings["label"].iloc[i])))
    for i in border:
        number, label = str(buildings["number"].iloc[i]), str(buildings["label"].iloc[i])
        if not number and not label:
            continue
        geom = b_mm.iloc[i]
        squares = tuple(grid.squares_of(geom)) if geom is not None else ()
        text = label or words["building_fmt"].format(n=number)
        bid = str(buildings["id"].iloc[i])
        out.append(IndexEntry("building", bid, text, squares))
        mine = units[units["building_id"] == bid]
        for j in sorted(mine.index, key=lambda j: _natural_key(str(units["number"].loc[j]))):
            unum = str(units["number"].loc[j])
            if not unum:
                continue
            p = u_mm.loc[j]
            sq = grid.square_of(p.x, p.y) if p is not None and not p.is_empty else None
            out.append(IndexEntry("unit", str(units["id"].loc[j]), str(units["label"].loc[j]) or
                                  words["unit_fmt"].format(n=unum), (sq,) if sq else (), number=unum))
    return out


def _index_items(entries: list[IndexEntry], words: dict[str, str]) -> list[list[str]]:
    """One group per building: its label and squares, then its units grouped by square.

    ``7号楼 B3-C3``, ``1,2单元 B3``, ``3单元 C3``.
    """
    groups: list[list[str]] = []
    units: dict[str, list[str]] = {}

    def close():
        for sq, numbers in units.items():
            runs = _runs(numbers)
            for k in range(0, len(runs), 4):
                chunk = runs[k:k + 4]
                fmt = words["unit_fmt"] if len(numbers) == 1 else words["units_fmt"]
                groups[-1].append(f"{fmt.format(n=numbers[0], ns=','.join(chunk))} {sq}")
        units.clear()

    for e in entries:
        sq = compact_squares(list(e.squares)) or "—"
        if e.kind == "building":
            if groups:
                close()
            groups.append([f"{e.text} {sq}"])
        elif e.kind == "unit" and groups:
            units.setdefault(sq, []).append(e.number)
    if groups:
        close()
    return groups


def _runs(numbers: list[str]) -> list[str]:
    """``["1", "2", "3", "5", "B1"] -> ["1-3", "5", "B1"]`` (runs of consecutive integers)."""
    out: list[str] = []
    start = prev = None
    for n in numbers + [None]:
        if n is not None and n.isdigit() and prev is not None and int(n) == int(prev) + 1:
            prev = n
            continue
        if start is not None:
            out.append(start if start == prev else (f"{start},{prev}" if int(prev) == int(start) + 1 else
                                                    f"{start}-{prev}"))
        if n is not None and n.isdigit():
            start = prev = n
        else:
            if n is not None:
                out.append(n)
            start = prev = None
    return out


def _pack(items: list[str], page: _Page, cap: float, width: float, indent: float) -> list[str]:
    """All items on one line if they fit; else the first alone, the rest packed on indented lines."""
    sep = "   "
    if page.measure(sep.join(items), cap) <= width:
        return [sep.join(items)]
    measure = lambda t: page.measure(t, cap)  # noqa: E731
    items = [part for item in items for part in
             (_wrap(item, width - indent, measure) if measure(item) > width - indent else [item])]
    lines, cur = [items[0]], ""
    for item in items[1:]:
        trial = f"{cur}{sep}{item}" if cur else item
        if cur and page.measure(trial, cap) > width - indent:
            lines.append(cur)
            cur = item
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def _index_rows(entries, page: _Page, cap: float, head_cap: float, col_w: float, words) -> list:
    line = page.line_mm(cap, 1.38)
    head = page.line_mm(head_cap, 1.7)
    rows = [_Row("head", words["index"], head, None, True)]
    groups = _index_items(entries, words)
    if not groups:  # say so rather than leave an empty heading
        for ln in _wrap(words["no_index"], col_w, lambda t: page.measure(t, cap)):
            rows.append(_Row("note", ln, line, None))
    for group in groups:
        lines = _pack(group, page, cap, col_w, 4.0 * page.f)
        for k, ln in enumerate(lines):
            rows.append(_Row("index" if k == 0 else "index_cont", ln, line, None, k < len(lines) - 1))
    return rows


def _index_rows_estimate(layers, page: _Page, cap: float, head_cap: float, col_w: float, words) -> list:
    """Index rows before the grid is known: the same texts with a typical square name."""
    buildings, units = layers["buildings"], layers["units"]
    entries = []
    for i in range(len(buildings)):
        number, label = str(buildings["number"].iloc[i]), str(buildings["label"].iloc[i])
        if not number and not label:
            continue
        bid = str(buildings["id"].iloc[i])
        entries.append(IndexEntry("building", bid, label or words["building_fmt"].format(n=number), ("B2", "C2")))
        mine = [str(n) for n in units["number"][units["building_id"] == bid] if str(n)]
        for k, n in enumerate(mine):  # assume the units fall in two squares
            entries.append(IndexEntry("unit", "", "", ("C12" if k < len(mine) / 2 else "D12",), number=n))
    return _index_rows(entries, page, cap, head_cap, col_w, words)


# --------------------------------------------------------------------------- panel flow


def _flow(page: _Page, rows, box: Box, *, col_w: float, gap: float, n_cols: int, sym_w: float, style: PosterStyle,
          sizes) -> bool:
    """Draw rows top-down in columns inside ``box``; False if they do not fit."""
    x0, y0, x1, y1 = box
    where = _columns(rows, y1 - y0, n_cols)
    if where is None or (x0 + (max(c for c, _ in where) + 1) * (col_w + gap) - gap > x1 + 1e-6 and n_cols > 1):
        return False
    for (col, offset), (kind, text, h, key, _) in zip(where, rows):
        x = x0 + col * (col_w + gap)
        y = y1 - offset
        cap = sizes.heading_mm if kind == "head" else sizes.body_mm
        base = y - h + (h - cap) / 2 + (0.15 * cap if kind == "head" else 0.0)
        tx = x
        if key is not None:
            _legend_symbol(page, key, x, y - h, sym_w * 0.85, h, style)
        if key is not None or kind in ("legend", "gate"):
            tx = x + sym_w
        if kind == "index_cont":
            tx = x + 4.0 * page.f
        page.text(tx, base, text, cap, color=style.ink, gid=f"panel:{kind}")
    return True


@dataclass(frozen=True)
class _Row:
    """A line of the panel: kind (head, legend, gate, index, index_cont), text, height, symbol key."""

    kind: str
    text: str
    height: float
    key: str | None = None
    keep_with_next: bool = False

    def __iter__(self):
        return iter((self.kind, self.text, self.height, self.key, self.keep_with_next))


def _columns(rows: list[_Row], max_h: float, n_cols: int) -> list[tuple[int, float]] | None:
    """(column, offset from the top) of each row, keeping chains of ``keep_with_next`` rows together.

    ``None`` if the rows need more than ``n_cols`` columns of height ``max_h``.
    """
    out: list[tuple[int, float]] = []
    col, used = 0, 0.0
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) - 1 and rows[j].keep_with_next:
            j += 1
        chain = rows[i:j + 1]
        need = sum(r.height for r in chain)
        if need > max_h + 1e-6:  # a chain taller than a column: may break
            chain, j = rows[i:i + 1], i
            need = rows[i].height
            if need > max_h + 1e-6:
                return None
        if used + need > max_h + 1e-6 and used > 0:
            col, used = col + 1, 0.0
        for r in chain:
            out.append((col, used))
            used += r.height
        i = j + 1
    return out if col < n_cols else None


# --------------------------------------------------------------------------- QR, scale bar, north arrow, marks


def _qr(page: _Page, url: str, *, x0: float, top: float, size: float, style: PosterStyle) -> Box:
    """Draw a QR code (error level M or better, never micro, quiet zone 4) as one vector path."""
    from ridermap.render import qr as qrcode

    modules = qrcode.qr_matrix(url, ecc="M")
    module = size / (modules.shape[0] + 2 * qrcode.QUIET_ZONE)
    quiet = qrcode.QUIET_ZONE * module
    page.ax.add_patch(Rectangle((x0, top - size), size, size, facecolor="#ffffff", edgecolor="none", zorder=20,
                                gid="qr:quiet"))
    path = qrcode.mpl_path(qrcode.module_runs(modules), x0=x0 + quiet, top=top - quiet, module=module)
    page.ax.add_patch(PathPatch(path, facecolor="#000000", edgecolor="#000000", linewidth=0.05, zorder=21, gid="qr"))
    return (x0, top - size, x0 + size, top)


def _scale_bar(page: _Page, *, x0: float, y0: float, height: float, scale: int, frame_w: float, words, body: float,
               small: float, grid: Grid) -> None:
    f = page.f
    target_mm = min(0.3 * frame_w, 80.0 * f)
    length_m = round_length(target_mm * scale / 1000.0)
    while length_m * 1000.0 / scale > 0.35 * frame_w:
        length_m = round_length(length_m * 0.6)
    length_mm = length_m * 1000.0 / scale
    bar_h = 1.6 * f
    y_bar = y0 + height * 0.30
    for k in range(4):
        page.ax.add_patch(Rectangle((x0 + k * length_mm / 4, y_bar), length_mm / 4, bar_h,
                                    facecolor=page.style.ink if k % 2 == 0 else "#ffffff", edgecolor=page.style.ink,
                                    linewidth=0.3 * f * PT_PER_MM, zorder=20))
    y_text = y_bar + bar_h + 1.2 * f
    page.text(x0, y_text, "0", small, color=page.style.ink, ha="center", gid="scalebar")
    page.text(x0 + length_mm, y_text, f"{length_m:g} m", small, color=page.style.ink, ha="center", gid="scalebar")
    note = f"{words['scale'].format(scale=f'{scale:,}')}   {words['grid_note'].format(side=f'{grid.side_m:g}')}"
    page.text(x0 + length_mm + 8.0 * f, y_bar, note, body, color=page.style.ink, gid="scalebar")


def _north_arrow(page: _Page, *, cx: float, cy: float, size: float, angle_deg: float, label: str, body: float) -> None:
    a = math.radians(angle_deg)
    ux, uy = -math.sin(a), math.cos(a)  # page direction of north
    px, py = uy, -ux
    half = size / 2
    tip = (cx + ux * half, cy + uy * half)
    tail = (cx - ux * half, cy - uy * half)
    left = (tail[0] + px * half * 0.45, tail[1] + py * half * 0.45)
    right = (tail[0] - px * half * 0.45, tail[1] - py * half * 0.45)
    mid = (cx - ux * half * 0.45, cy - uy * half * 0.45)
    page.ax.add_patch(MplPolygon([tip, left, mid], closed=True, facecolor=page.style.ink, edgecolor=page.style.ink,
                                 linewidth=0.3 * page.f * PT_PER_MM, zorder=20, gid="north"))
    page.ax.add_patch(MplPolygon([tip, right, mid], closed=True, facecolor="#ffffff", edgecolor=page.style.ink,
                                 linewidth=0.3 * page.f * PT_PER_MM, zorder=20))
    page.text(cx - half * 1.1 - page.measure(label, body), cy - body / 2, label, body, color=page.style.ink,
              gid="north")


def _crop_marks(page: _Page, trim: Box, *, offset: float, length: float) -> None:
    x0, y0, x1, y1 = trim
    segs = []
    for x, dx in ((x0, -1), (x1, 1)):
        for y, dy in ((y0, -1), (y1, 1)):
            segs.append(np.array([[x + dx * offset, y], [x + dx * (offset + length), y]]))
            segs.append(np.array([[x, y + dy * offset], [x, y + dy * (offset + length)]]))
    page.ax.add_collection(LineCollection(segs, colors="#000000", linewidths=0.25, zorder=50, gid="crop_marks"))
