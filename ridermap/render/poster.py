"""Gate guide posters and compound overviews as matplotlib Figures.

:func:`render_poster` draws one compound on one sheet of paper and returns a
:class:`Poster`: the Figure, every map label box it placed, the symbols it
drew and the QR target. It never touches the disk; see
:mod:`ridermap.publish.posters` to save one as PDF, SVG or PNG.

A poster is made of parts, each a module with its own tests:

- :mod:`~ridermap.render.poster_page` -- the page frame: paper, margins, header band, type;
- :mod:`~ridermap.render.poster_content` -- what the poster says (titles, gate names, 待核实);
- :mod:`~ridermap.render.poster_map` -- the map drawing: projection, scale, areas, paths, symbols;
- :mod:`~ridermap.render.poster_maplabels` and :mod:`~ridermap.render.poster_labels` -- label placement;
- :mod:`~ridermap.render.poster_inset` -- an inset at a larger scale for a dense part of the map;
- :mod:`~ridermap.render.poster_panels` -- the side panel: legend, gates, nearby, index;
- :mod:`~ridermap.render.poster_furniture` -- grid letters, scale bar, north arrow, crop marks, QR caption.

This module puts them together. The whole page is one matplotlib axes whose
data unit is the millimetre of paper, origin at the bottom-left corner of
the page (bleed and crop-mark slug included). The map is drawn in a local
UTM projection, turned so that "up" is the direction a reader at the gate
faces when looking into the compound, and scaled to a round scale.

**The layout loop.** The panel's size must be decided before the map frame
(the frame gets what the panel leaves), but the index lists grid squares,
which exist only once the frame is known. :func:`_layout_passes` therefore
lays the poster out from an estimate of the panel's rows, and when the real
rows do not fit the space reserved, lays it out again with the real rows
reserved -- at most :data:`MAX_LAYOUT_PASSES` times, stopping as soon as a
pass needs no more room than the one before.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle

from ridermap.config import Config
from ridermap.errors import ConfigError, RenderError
from ridermap.model.bundle import Bundle
from ridermap.model.confirmed import needs_draft
from ridermap.render import (
    poster_content,
    poster_furniture,
    poster_inset,
    poster_map,
    poster_maplabels,
    poster_page,
    poster_panels,
)
from ridermap.render.fonts import drawable_bundle, font_family
from ridermap.render.honest import draft_band, english_labels
from ridermap.render.poster_content import find_gate, undrawable_notes
from ridermap.render.poster_grid import Grid
from ridermap.render.poster_labels import PLACEMENTS, LabelFitError, PlacedLabel
from ridermap.render.poster_map import Symbol, facing_vector, utm_crs
from ridermap.render.poster_maplabels import FIT_MODES
from ridermap.render.poster_page import (
    MEASURE_DPI,
    PT_PER_MM,
    Box,
    cap_height_mm,
    cap_ratio,
    fontsize_pt,
)
from ridermap.render.poster_page import (
    Page as _Page,
)
from ridermap.render.poster_panels import IndexEntry, Row
from ridermap.render.poster_style import (
    DEFAULT_STYLE,
    OSM_ATTRIBUTION,
    PAPER_FACTOR,
    PAPER_MM,
    STRINGS,
    TEXT_SIZES,
    PosterStyle,
    larger_paper,
)

__all__ = [
    "MEASURE_DPI",
    "PT_PER_MM",
    "IndexEntry",
    "Poster",
    "Symbol",
    "cap_height_mm",
    "cap_ratio",
    "facing_vector",
    "find_gate",
    "fontsize_pt",
    "render_poster",
    "utm_crs",
]

log = logging.getLogger(__name__)

#: at most this many layout passes (see the module docstring); the second
#: reserves the real index, a third the rows a second pass still adds
MAX_LAYOUT_PASSES = 3


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
    #: ``(number, full label)`` of the numbered callouts listed beside the map
    callouts: list[tuple[str, str]] = field(default_factory=list)
    #: what a district office should know: labels that became callouts or
    #: went to an inset, a gate far from its compound, characters the font cannot draw
    warnings: list[str] = field(default_factory=list)
    #: insets at a larger scale for a dense part of the map (:mod:`~ridermap.render.poster_inset`)
    insets: list[poster_inset.Inset] = field(default_factory=list)

    def placements(self) -> dict[str, int]:
        """How many map labels were placed each way (each of ``PLACEMENTS``: ``normal`` to ``inset``, ``listed``)."""
        return {how: sum(p.how == how for p in self.labels) for how in PLACEMENTS}


def render_poster(
    bundle: Bundle,
    community_id: str,
    *,
    gate: str | None = None,
    config: Config | None = None,
    paper: str = "A2",
    landscape: bool = False,
    bleed_mm: float = 0.0,
    crop_marks: bool = False,
    style: PosterStyle = DEFAULT_STYLE,
    draft: bool | str | None = None,
    fit: str = "fallback",
    signs=None,
) -> Poster:
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
    fit
        When a map label has no room: ``"fallback"`` (default) tries a
        smaller size, a leader line to free space, then a numbered callout
        listed beside the map (see :mod:`ridermap.render.poster_maplabels`),
        then for callouts crowded in one part, or labels that do not fit even
        as callouts, an inset at a larger scale (:mod:`ridermap.render.poster_inset`);
        ``"strict"`` raises instead; ``"last_resort"`` also lists a label
        whose callout number finds no room, never raising for labels.
        ``Poster.labels[i].how`` says how each label was placed.
    signs
        The compound's :class:`~ridermap.analysis.signs.SignPlan`: draws its
        junction sign posts (``J3`` on a blue disc) as an optional layer, so a
        rider at the gate sees where the signs stand.

    Returns
    -------
    Poster
        The Figure and the label boxes, symbols, grid and QR target on it.

    Raises
    ------
    RenderError
        Labels do not fit even as callouts, or the side panel does not fit
        (the message suggests a larger paper).
    ConfigError
        Unknown paper, compound or gate.
    """
    config = config or Config()
    paper = paper.upper()
    if paper not in PAPER_MM:
        raise ConfigError(f"paper must be one of {', '.join(PAPER_MM)}, got {paper!r}")
    if fit not in FIT_MODES:
        raise ConfigError(f"fit must be one of {', '.join(FIT_MODES)}, got {fit!r}")
    if bleed_mm < 0 or bleed_mm > 20:
        raise ConfigError(f"bleed must be between 0 and 20 mm, got {bleed_mm}")
    lang = config.language if config.language in STRINGS else "zh"
    view = bundle.community(community_id)
    gate_id = find_gate(view, community_id, gate) if gate is not None else None
    # emoji, bidi controls: never an error; made once for all the compound's posters (so they share its projection)
    drawable = view.memo(
        f"poster drawable:{community_id}", lambda: drawable_bundle(view, where=f"poster of {community_id}")
    )
    notes = undrawable_notes(view, drawable)
    view = drawable
    if lang == "en":  # 7号楼 -> Building 7: generated labels in English; names from data stay
        view = view.memo("english labels", lambda: english_labels(drawable))
    job = _Job(
        view=view,
        cid=community_id,
        gate_id=gate_id,
        config=config,
        paper=paper,
        landscape=landscape,
        bleed_mm=bleed_mm,
        crop_marks=crop_marks,
        style=style,
        lang=lang,
        words=STRINGS[lang],
        draft=needs_draft(config.draft if draft is None else draft, view.gates, community_id),
        fit=fit,
        notes=tuple(notes),
        posts=tuple((s.id, s.lon, s.lat) for s in signs.junctions) if signs is not None else (),
    )
    try:
        return _layout_passes(job)
    except LabelFitError as exc:
        bigger = larger_paper(paper)
        hint = f"use a larger paper (--paper {bigger})" if bigger else "A0 is the largest paper: split the compound"
        if not landscape:
            hint += " or --landscape"
        raise RenderError(f"{exc} on {paper}{' landscape' if landscape else ''}: labels do not fit — {hint}") from exc


@dataclass(frozen=True)
class _Job:
    """One poster to draw: the compound's view and every option of :func:`render_poster`."""

    view: Bundle
    cid: str
    gate_id: str | None
    config: Config
    paper: str
    landscape: bool
    bleed_mm: float
    crop_marks: bool
    style: PosterStyle
    lang: str
    words: Mapping[str, Any]
    draft: bool
    fit: str = "fallback"
    notes: tuple[str, ...] = ()
    #: last resort for a panel that fits no paper: the index is left out (the QR page has it),
    #: then the labels only listed are summed up in one line
    short_index: bool = False
    short_list: bool = False
    #: junction sign posts to draw (the optional sign layer): (id, lon, lat)
    posts: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class _Overflow:
    """A layout pass whose side panel did not fit the room reserved for it: the rows it needs."""

    rows: list[Row]


def _layout_passes(job: _Job) -> Poster:
    """Lay the poster out until the side panel fits (the explicit relayout loop of the module docstring).

    Raises
    ------
    LabelFitError
        A map label has no room, or the panel does not fit after
        :data:`MAX_LAYOUT_PASSES` passes (or a pass needed what the one before did).
    """
    reserved: list[Row] | None = None
    try:
        for _ in range(MAX_LAYOUT_PASSES):
            outcome = _render(job, reserved=reserved)
            if isinstance(outcome, Poster):
                return outcome
            if reserved is not None and outcome.rows == reserved:
                break
            reserved = outcome.rows
        n = len(reserved or [])
        raise LabelFitError(f"legend, gates and index ({n} rows) do not fit in the panel", poster_page.panel_request())
    except LabelFitError as exc:
        if job.fit != "last_resort" or job.short_list or exc.request.kind != "panel":
            raise
        log.warning(
            "%s: the side panel fits no paper: %s",
            job.cid,
            "the labels only listed are summed up" if job.short_index else "the index is left out",
        )
        return _layout_passes(dataclasses.replace(job, short_index=True, short_list=job.short_index))


def _short_list(job: _Job, entries: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The numbered callouts, and the labels only listed summed up in one line, for :attr:`_Job.short_list`."""
    listed = [e for e in entries if e[0] == "·"]
    numbered = [e for e in entries if e[0] != "·"]
    return numbered + ([("·", job.words["listed_more"].format(n=len(listed)), "")] if listed else [])


def _short_index(job: _Job, ty: poster_panels.PanelType) -> list[Row]:
    """The index's heading and one line saying where the index is, for :attr:`_Job.short_index`."""
    return [
        Row("head", job.words["index"], ty.head_line, None, True),
        Row("note", job.words["index_on_site"], ty.body_line, None),
    ]


@dataclass(frozen=True)
class _Prep:
    """Everything decided before the layout: projection, page, texts, panel type and fixed panel rows."""

    geo: poster_map.Geo
    sheet: poster_page.Sheet
    texts: poster_content.Texts
    top: float
    ty: poster_panels.PanelType
    band: float
    strip_h: float
    qr_mm: float
    caption_lines: list
    qr_block_h: float
    fac_dist: Any  # numpy array of metres
    fac_dir: list[str]
    gate_rows: list[Row]
    drawn: set[str]  # the legend keys of what is drawn (see poster_panels.drawn_keys)


def _prepare(job: _Job) -> _Prep:
    """Project the compound, open the page, draw the header and size the panel's parts."""
    sizes, f, words, style = TEXT_SIZES[job.paper], PAPER_FACTOR[job.paper], job.words, job.style
    geo = poster_map.project(job.view, job.cid, job.gate_id)
    layers = geo.layers
    sheet = poster_page.make_sheet(job.paper, job.landscape, job.bleed_mm, job.crop_marks, font_family(), style, f)
    page, gap = sheet.page, sheet.gap
    texts = poster_content.poster_texts(
        job.view, geo, job.cid, job.gate_id, config=job.config, lang=job.lang, words=words
    )
    top = poster_page.draw_header(sheet, texts.title, texts.subtitle, sizes, style, job.bleed_mm) - gap
    body, small, heading = sizes.body_mm, sizes.small_mm, sizes.heading_mm
    sym_w = 12.0 * f
    qr_mm = style.qr_size_mm * f
    foot = [
        s
        for s in (
            words["data_date"].format(date=job.config.data_date) if job.config.data_date else "",
            OSM_ATTRIBUTION if poster_content.has_osm(*job.view.layers().values()) else "",
        )
        if s
    ]
    # legend entries depend on what is drawn, which depends on the frame; the
    # drawn set is (nearly) independent of the exact frame, so the column width is decided from the data.
    drawn = poster_panels.drawn_keys(layers, job.cid, job.gate_id) | (
        {"unconfirmed"} if texts.any_unconfirmed else set()
    )
    legend_rows = poster_panels.legend_rows(drawn, words, job.lang)
    legend_w = max([page.measure(t, body) for _, t in legend_rows] + [page.measure(words["legend"], heading)])
    ty = poster_panels.PanelType(
        page,
        style,
        words,
        job.lang,
        body,
        small,
        heading,
        page.line_mm(body, 1.38),
        page.line_mm(heading, 1.7),
        page.line_mm(small, 1.4),
        sym_w,
        max(62.0 * f, sym_w + legend_w + 1.0),
    )
    caption_lines, qr_block_h = poster_furniture.qr_caption_layout(ty, qr_mm, qr_mm, gap, texts.url, foot)
    origin = geo.gate_row.geometry if geo.gate_row is not None else geo.poly_m
    fac_dist, fac_dir = poster_panels.facility_bearings(layers["facilities"], origin, geo.theta, geo.centroid)
    gate_rows = poster_panels.gate_rows(ty, layers["gates"], texts.gate_shown)
    return _Prep(
        geo,
        sheet,
        texts,
        top,
        ty,
        band=page.line_mm(body, 1.3),  # grid letters around the frame
        strip_h=max(page.line_mm(body, 1.2) * 2.2, 16.0 * f),  # scale bar and north arrow under the map
        qr_mm=qr_mm,
        caption_lines=caption_lines,
        qr_block_h=qr_block_h,
        fac_dist=fac_dist,
        fac_dir=fac_dir,
        gate_rows=gate_rows,
        drawn=drawn,
    )


def _split(job: _Job, prep: _Prep, reserved: list[Row] | None):
    """Share the content box between map and panel, reserving the estimated (or known) panel rows."""
    geo, ty, layers = prep.geo, prep.ty, prep.geo.layers
    fac = layers["facilities"]
    fac_est = ~(fac.intersects(geo.near).to_numpy() | (fac["community_id"] == job.cid).to_numpy())
    legend_rows = poster_panels.legend_rows(prep.drawn, job.words, job.lang)
    # The index needs the grid, the grid needs the frame, the frame needs the panel size.
    # Estimate the index row count from the data (one row per building and its units).
    index_est = reserved or (
        _short_index(job, ty)
        if job.short_index
        else poster_panels.index_rows_estimate(layers, ty.page, ty.body, ty.heading, ty.col_w, job.words)
    )
    est_rows = (
        poster_panels.legend_block(ty, legend_rows)
        + prep.gate_rows
        + poster_panels.nearby_rows(ty, fac_est, fac, prep.fac_dist, prep.fac_dir)
        + index_est
    )
    return poster_panels.split_page(
        est_rows,
        len(index_est),
        content=prep.sheet.content,
        top=prep.top,
        landscape=job.landscape,
        col_w=ty.col_w,
        gap=prep.sheet.gap,
        qr_block_w=prep.qr_mm,
        qr_block_h=prep.qr_block_h,
        head_line=ty.head_line,
    )


def _map_and_labels(job: _Job, prep: _Prep, frame: Box, scale: int, grid, matrix: list[float]):
    """Draw the map and its symbols, place the labels (with an inset if a dense part needs one).

    Returns ``(marks, legend_drawn, b_clip, placed, inset)``.
    """
    sizes, f, style = TEXT_SIZES[job.paper], PAPER_FACTOR[job.paper], job.style
    page, layers = prep.sheet.page, prep.geo.layers
    comp_mm, b_mm, legend_drawn = poster_map.draw_map(page, layers, job.cid, matrix, frame, grid, style, f)
    marks = poster_map.draw_symbols(page, layers, job.gate_id, matrix, frame, style, f, legend_drawn)
    if job.posts:
        poster_map.draw_sign_posts(page, job.posts, layers, matrix, frame, style, f, marks.symbols, legend_drawn)
    b_clip = poster_map.clip(b_mm, frame)

    made: dict[bool, list] = {}  # the same requests are asked for again (fallbacks, inset): made once each

    def requests(gate_marks: bool):
        if gate_marks not in made:
            made[gate_marks] = _requests(gate_marks)
        return made[gate_marks]

    def _requests(gate_marks: bool):
        return poster_maplabels.label_requests(
            page,
            layers,
            job.gate_id,
            marks,
            prep.texts,
            comp_mm,
            b_clip,
            sizes=sizes,
            style=style,
            words=job.words,
            gate_marks=gate_marks,
            f=f,
        )

    main = poster_inset.MainMap(
        page,
        layers,
        job.cid,
        job.gate_id,
        prep.texts,
        matrix,
        frame,
        scale,
        b_clip,
        marks.symbols,
        sizes,
        style,
        job.words,
        f,
    )
    placed, inset = poster_inset.place_labels_with_inset(requests, main, fit=job.fit)
    return marks, legend_drawn, b_clip, placed, inset


def _render(job: _Job, *, reserved: list[Row] | None) -> Poster | _Overflow:
    """One layout pass: the poster, or the panel rows that did not fit the room reserved for them."""
    sizes, f, style = TEXT_SIZES[job.paper], PAPER_FACTOR[job.paper], job.style
    prep = _prepare(job)
    geo, page, ty, layers = prep.geo, prep.sheet.page, prep.ty, prep.geo.layers
    panel, map_block, panel_cols = _split(job, prep, reserved)
    frame, scale, grid, matrix = poster_map.map_frame(
        geo, map_block, band=prep.band, strip_h=prep.strip_h, style=style, f=f
    )

    marks, legend_drawn, b_clip, placed, inset = _map_and_labels(job, prep, frame, scale, grid, matrix)
    poster_maplabels.draw_labels(page, [p for p in placed if p.how != "inset"], prep.texts, style=style)
    poster_furniture.draw_furniture(
        page,
        grid,
        frame,
        map_block,
        band=prep.band,
        strip_h=prep.strip_h,
        scale=scale,
        north_deg=geo.north_deg,
        words=job.words,
        body=ty.body,
        small=ty.small,
        style=style,
    )

    # the index (now that the grid is known) and the panel
    index = poster_panels.index_entries(
        layers, grid, b_clip, layers["units"].geometry.affine_transform(matrix), job.words
    )
    index_rows = (
        _short_index(job, ty)
        if job.short_index
        else poster_panels.index_rows(index, page, ty.body, ty.heading, ty.col_w, job.words)
    )
    callouts = poster_maplabels.callout_texts(placed, layers, prep.texts, words=job.words, lang=job.lang)
    entries = [(n, full, grid.square_of(*p.centre) or "") for (n, full), p in zip(callouts, _numbered(placed))]
    callout_rows = poster_panels.callout_rows(ty, _short_list(job, entries) if job.short_list else entries)
    legend_keys = list(dict.fromkeys(legend_drawn + (["unconfirmed"] if prep.texts.any_unconfirmed else [])))
    rows = (
        poster_panels.legend_block(ty, poster_panels.legend_rows(set(legend_keys), job.words, job.lang))
        + prep.gate_rows
        + callout_rows
        + poster_panels.nearby_rows(ty, ~marks.fok, layers["facilities"], prep.fac_dist, prep.fac_dir)
        + index_rows
    )
    qr_x0, qr_top, flow_box = poster_furniture.qr_place(
        panel, landscape=job.landscape, qr_block_w=prep.qr_mm, qr_block_h=prep.qr_block_h, gap=prep.sheet.gap
    )
    if not poster_panels.flow(
        page,
        rows,
        flow_box,
        col_w=ty.col_w,
        gap=prep.sheet.gap,
        n_cols=panel_cols,
        sym_w=ty.sym_w,
        style=style,
        sizes=sizes,
    ):
        return _Overflow(callout_rows + index_rows)
    qr_box = _qr(page, prep.texts.url, x0=qr_x0, top=qr_top, size=prep.qr_mm, style=style)
    poster_furniture.qr_caption(ty, prep.caption_lines, qr_box, qr_x0=qr_x0, qr_block_w=prep.qr_mm)
    _finish_page(job, prep, frame)
    _log_drawn(job, scale, len(placed))
    return _poster(job, prep, frame, scale, grid, marks, placed, inset, qr_box, legend_keys, index, callouts)


def _poster(job: _Job, prep: _Prep, frame, scale, grid, marks, placed, inset, qr_box, legend_keys, index, callouts):
    """The :class:`Poster` of a finished layout pass."""
    geo, sheet = prep.geo, prep.sheet
    return Poster(
        figure=sheet.page.fig,
        labels=placed,
        symbols=marks.symbols,
        url=prep.texts.url,
        community_id=job.cid,
        gate_id=job.gate_id,
        paper=job.paper,
        landscape=job.landscape,
        page_mm=(sheet.page_w, sheet.page_h),
        trim_box=sheet.trim,
        bleed_box=sheet.bleed_box,
        map_frame=frame,
        qr_box=qr_box,
        scale=scale,
        grid=grid,
        rotation_deg=math.degrees(geo.theta),
        legend=legend_keys,
        index=index,
        title=prep.texts.title,
        subtitle=prep.texts.subtitle,
        draft=job.draft,
        callouts=callouts,
        warnings=_warnings(job, geo, placed, scale, inset),
        insets=[inset] if inset is not None else [],
    )


def _log_drawn(job: _Job, scale: int, n_labels: int) -> None:
    gate = f" gate {job.gate_id}" if job.gate_id else ""
    log.info("poster %s%s on %s: scale 1:%d, %d labels", job.cid, gate, job.paper, scale, n_labels)


def _numbered(placed: list[PlacedLabel]) -> list[PlacedLabel]:
    """The callouts among ``placed``, in number order, then the labels only listed (as :func:`callout_texts`)."""
    return sorted((p for p in placed if p.callout), key=lambda p: p.callout) + [p for p in placed if p.how == "listed"]


def _warnings(
    job: _Job, geo: poster_map.Geo, placed: list[PlacedLabel], scale: int, inset: poster_inset.Inset | None
) -> list[str]:
    """Labels in an inset, callouts, labels only listed, a far gate and undrawable characters, one line each."""
    paper = f"{job.paper}{' landscape' if job.landscape else ''}"
    out = (
        [
            f"{len(inset.keys)} labels of a dense part had no room on {paper} at 1:{scale}: "
            f"drawn in inset {inset.tag} at 1:{inset.scale} ({', '.join(inset.keys)})"
        ]
        if inset is not None
        else []
    )
    out += [
        f"{p.kind} label {p.text!r} ({p.key}) had no room on {paper}: numbered {p.callout_text} on the map, "
        "listed beside it"
        if p.how == "callout"
        else f"{p.kind} label {p.text!r} ({p.key}) had no room on {paper} even as a number: only listed beside the map"
        for p in _numbered(placed)
    ]
    for gid, metres in geo.far_gates.items():
        if gid == job.gate_id or job.gate_id is None:
            out.append(
                f"gate {gid} is {metres / 1000:.1f} km from its compound's outline: check its location "
                "(left off the map{})".format("; its poster says how far" if gid == job.gate_id else "")
            )
    if job.short_list:
        out.append(
            f"the side panel fits no paper: the {sum(p.how == 'listed' for p in placed)} labels with no "
            f"room on the map are summed up in one line on {paper} (the QR page has them)"
        )
    if job.short_index:
        out.append(
            f"the side panel fits no paper: the index of buildings and units is left out on {paper} "
            "(the QR page has it)"
        )
    return out + list(job.notes)


def _finish_page(job: _Job, prep: _Prep, frame: Box) -> None:
    """Crop marks and the draft band (across the map frame: legend, index and QR stay clear)."""
    sheet = prep.sheet
    if job.crop_marks:
        poster_furniture.crop_marks(
            sheet.page,
            sheet.trim,
            offset=job.bleed_mm + poster_page.CROP_MARK_GAP_MM,
            length=poster_page.CROP_MARK_LEN_MM,
        )
    if job.draft:
        draft_band(
            sheet.page.fig,
            family=sheet.page.family,
            lang=job.lang,
            box=(frame[0] / sheet.page_w, frame[1] / sheet.page_h, frame[2] / sheet.page_w, frame[3] / sheet.page_h),
        )


# --------------------------------------------------------------------------- QR, scale bar, north arrow, marks


def _qr(page: _Page, url: str, *, x0: float, top: float, size: float, style: PosterStyle) -> Box:
    """Draw a QR code (error level M or better, never micro, quiet zone 4) as one vector path."""
    from ridermap.render import qr as qrcode

    modules = qrcode.qr_matrix(url, ecc="M")
    module = size / (modules.shape[0] + 2 * qrcode.QUIET_ZONE)
    quiet = qrcode.QUIET_ZONE * module
    page.add(Rectangle((x0, top - size), size, size, facecolor="#ffffff", edgecolor="none", zorder=20, gid="qr:quiet"))
    path = qrcode.mpl_path(qrcode.module_runs(modules), x0=x0 + quiet, top=top - quiet, module=module)
    page.add(PathPatch(path, facecolor="#000000", edgecolor="#000000", linewidth=0.05, zorder=21, gid="qr"))
    return (x0, top - size, x0 + size, top)
