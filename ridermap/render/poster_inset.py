"""Poster part: an inset at a larger scale for a dense part of the map.

The fourth step of the label fallback chain (see
:mod:`ridermap.render.poster_maplabels`): smaller size, leader line,
numbered callout, **inset**, then another paper (publish). A few callouts
here and there are kept: a number and a line beside the map read well. An
inset is drawn when the callouts crowd into one small part of the map --
:data:`INSET_MIN_LABELS` or more callouts (or labels only listed) whose
features lie within :data:`CLUSTER_LINK_MM` of one another, a cluster of
garages around a tiny building in a huge block, say -- because a rider
cannot tell which of five numbers stuck on five grey specks is which; or when
the labels do not fit even as callouts (the automatic paper change would be
needed), whatever the size of the cluster.

The inset shows that part (the *area*, marked on the main map by a dashed
box tagged "放大图 A" / "Inset A") at a round scale 2 to 5 times larger, in a
framed panel with its own title, scale and scale bar, set against an edge of
the map frame where it covers no building, path or symbol (corners first).
Every building and unit label whose feature is in the area is placed in the
inset by the same placement engine (smaller sizes and leader lines allowed,
callouts not) and counts as placed (``how == "inset"``); the main map places
the other labels again, clear of the panel, the box and its tag. The
smallest magnification at which every label of the area fits wins; when none
does (or no free place is found, or the main map then still has more
callouts than before), the poster is laid out as if there were no inset, and
the chain goes on to the callouts or the paper change.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.patches import Rectangle

from ridermap.render import poster_furniture, poster_map, poster_maplabels
from ridermap.render.poster_content import Texts
from ridermap.render.poster_grid import make_grid, nice_scale
from ridermap.render.poster_labels import (
    Fallbacks,
    LabelFitError,
    LabelRequest,
    PlacedLabel,
    boxes_overlap,
    place_labels,
    pole_of,
)
from ridermap.render.poster_map import Symbol
from ridermap.render.poster_page import PT_PER_MM, Box, Page, label_size
from ridermap.render.poster_style import MIN_LABEL_CAP_MM, PosterStyle, TextSizes

log = logging.getLogger(__name__)

#: callouts (or labels only listed) in one small area that call for an inset
INSET_MIN_LABELS = 3
#: two callouts' features closer than this (mm on A2 paper, times the paper factor) are in one area
CLUSTER_LINK_MM = 15.0
#: magnifications tried, smallest first (the inset's scale is the round scale nearest below)
MAGNIFICATIONS = (2.0, 3.0, 4.0, 5.0)
#: the inset panel takes at most this share of the map frame's width and of its height
MAX_SHARE = 0.5
#: the inset's map is at least this wide and high (mm on A2)
MIN_MAP_MM = 70.0
#: room around the area's features on the main map (mm on A2)
AREA_MARGIN_MM = 4.0
#: an inset whose labels would cover more than this share of its map is not tried
MAX_LABEL_COVER = 0.5
#: the tag of the (only) inset
TAG = "A"
_LABELLED = ("building", "unit")


@dataclass(frozen=True)
class Inset:
    """An inset drawn on the poster (page mm, origin bottom-left).

    Attributes
    ----------
    tag
        ``"A"``.
    area
        The dashed box on the main map: the part the inset shows.
    frame
        The whole inset panel (title, map and scale bar).
    map_box
        The inset's map inside the panel.
    tag_box
        The "放大图 A" tag beside the area box.
    scale
        Scale denominator of the inset.
    keys
        Features whose labels are placed in the inset.
    """

    tag: str
    area: Box
    frame: Box
    map_box: Box
    tag_box: Box
    scale: int
    keys: tuple[str, ...]


@dataclass(frozen=True)
class MainMap:
    """The main map as the inset needs it: where it is, how metres reach the page, what is on it."""

    page: Page
    layers: dict
    cid: str
    gate_id: str | None
    texts: Texts
    matrix: list[float]
    frame: Box
    scale: int
    b_clip: gpd.GeoSeries
    symbols: list[Symbol]
    sizes: TextSizes
    style: PosterStyle
    words: Mapping[str, Any]
    f: float


def place_labels_with_inset(
    make_requests: Callable[[bool], list[LabelRequest]], main: MainMap, *, fit: str
) -> tuple[list[PlacedLabel], Inset | None]:
    """The map labels, with an inset for a dense part when the module docstring says so.

    Parameters
    ----------
    make_requests
        ``make_requests(gate_marks)``: the main map's label requests (see
        :func:`~ridermap.render.poster_maplabels.place_map_labels`).
    main
        The main map.
    fit
        ``"strict"`` (never an inset), ``"fallback"`` or ``"last_resort"``.

    Returns
    -------
    (list of PlacedLabel, Inset or None)
        Every label (those in the inset with ``how == "inset"``) and the inset drawn, if any.

    Raises
    ------
    LabelFitError
        The labels do not fit even as callouts, and an inset does not help.
    """
    place = poster_maplabels.place_map_labels
    error: LabelFitError | None = None
    try:
        placed = place(make_requests, main.symbols, main.frame, style=main.style, f=main.f, fit=fit)
    except LabelFitError as exc:
        if fit == "strict":
            raise
        error = exc
        placed = place(make_requests, main.symbols, main.frame, style=main.style, f=main.f, fit="last_resort")
    if fit == "strict":
        return placed, None
    requests = {r.key: r for r in make_requests(True) if r.kind in _LABELLED}
    cluster = dense_cluster(placed, requests, link_mm=CLUSTER_LINK_MM * main.f)
    if len(cluster) < (1 if error is not None else INSET_MIN_LABELS):
        if error is not None:
            raise error
        return placed, None
    found = _try_magnifications(make_requests, main, placed, [requests[k] for k in cluster], fit=fit)
    if found is None:
        if error is not None:
            raise error
        return placed, None
    return found


def dense_cluster(placed: list[PlacedLabel], requests: Mapping[str, LabelRequest], *, link_mm: float) -> list[str]:
    """Keys of the largest group of callouts (or listed labels) whose features lie within ``link_mm`` of one another.

    Single linkage on the distances between the labelled features (boxes of
    the buildings, points of the unit doors) on the main map; ties go to the
    group found first (label order).
    """
    keys = [p.key for p in placed if p.how in ("callout", "listed") and p.key in requests]
    if not keys:
        return []
    geoms = [
        requests[k].feature if requests[k].feature is not None else shapely.Point(requests[k].anchor) for k in keys
    ]
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = shapely.STRtree(geoms)
    pairs = tree.query(geoms, predicate="dwithin", distance=link_mm)
    for i, j in zip(*pairs):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[str]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(root(i), []).append(k)
    return max(groups.values(), key=len)


def _try_magnifications(
    make_requests, main: MainMap, placed: list[PlacedLabel], cluster: list[LabelRequest], *, fit: str
) -> tuple[list[PlacedLabel], Inset] | None:
    """The first inset that finds a place, takes every label of its area and helps the main map.

    Labels as large as possible first, then the smallest magnification: an
    inset is there to make a dense part legible, not to fill the page.
    """
    trouble = sum(p.how in ("callout", "listed") for p in placed)
    core = _core_box(cluster, main)
    scales = sorted({nice_scale(main.scale / mag) for mag in MAGNIFICATIONS} - {main.scale}, reverse=True)
    scales = [scale for scale in scales if scale < main.scale]
    plans = {scale: _plan(main, core, scale, placed) for scale in scales}
    sizes = {r.key: r.width_mm * r.height_mm for r in make_requests(True) if r.kind in _LABELLED}
    for share in UNIFORM_SHRINK:
        for scale, plan in plans.items():
            if plan is None or _crowded(plan, sizes, share):
                continue
            found = _draw_and_place(make_requests, main, plan, fit=fit, trouble=trouble, share=share)
            if found is not None:
                log.info("%s: inset %s at 1:%d for %d labels", main.cid, TAG, scale, len(plan.keys))
                return found
    return None


def _crowded(plan: _Plan, sizes: Mapping[str, float], share: float) -> bool:
    """Whether the area's labels at ``share`` of their size would cover more than :data:`MAX_LABEL_COVER` of its map.

    Such a plan never places them all: it is not tried (drawing and placing are the costly part).
    """
    need = sum(sizes.get(k, 0.0) for k in plan.keys) * share * share
    x0, y0, x1, y1 = plan.map_box
    return need > MAX_LABEL_COVER * (x1 - x0) * (y1 - y0)


def _core_box(cluster: list[LabelRequest], main: MainMap) -> Box:
    """The cluster's features on the main map, with :data:`AREA_MARGIN_MM` around them."""
    bounds = np.array(
        [r.feature.bounds if r.feature is not None else (*r.anchor, *r.anchor) for r in cluster], dtype=float
    )
    m = AREA_MARGIN_MM * main.f
    return (bounds[:, 0].min() - m, bounds[:, 1].min() - m, bounds[:, 2].max() + m, bounds[:, 3].max() + m)


@dataclass(frozen=True)
class _Plan:
    """An inset before it is drawn: its area on the main map, its panel and where its tag goes."""

    area: Box
    frame: Box
    map_box: Box
    tag_box: Box
    tag_text: str
    tag_cap: float
    title_h: float
    scale: int
    mag: float
    keys: tuple[str, ...]


def _plan(main: MainMap, core: Box, scale: int, placed: list[PlacedLabel]) -> _Plan | None:
    """The area (grown to the inset's smallest map), the panel's size and a free place for it and the tag."""
    f, frame = main.f, main.frame
    mag = main.scale / scale
    half_min = MIN_MAP_MM * f / mag / 2
    cx, cy = (core[0] + core[2]) / 2, (core[1] + core[3]) / 2
    hw, hh = max((core[2] - core[0]) / 2, half_min), max((core[3] - core[1]) / 2, half_min)
    area = (max(cx - hw, frame[0]), max(cy - hh, frame[1]), min(cx + hw, frame[2]), min(cy + hh, frame[3]))
    title_h = main.page.line_mm(main.sizes.body_mm, 1.7)
    bar_h = 14.0 * f
    map_w, map_h = (area[2] - area[0]) * mag, (area[3] - area[1]) * mag
    w, h = map_w, map_h + title_h + bar_h
    if w > MAX_SHARE * (frame[2] - frame[0]) or h > MAX_SHARE * (frame[3] - frame[1]):
        return None
    tag_text = main.words["inset"].format(tag=TAG)
    tag_cap = main.sizes.unit_mm
    tag_box = _tag_box(main, area, tag_text, tag_cap)
    if tag_box is None:
        return None
    blockers = _blockers(main, placed, area, tag_box)
    outline = poster_map.clip(main.layers["communities"].geometry.boundary.affine_transform(main.matrix), frame)
    gap = main.style.gap_mm * f / 2
    # clear of the compound's outline if it can be, else over it (the outline matters less than the labels)
    spot = _free_spot(frame, w, h, blockers + [g for g in outline if g is not None and not g.is_empty], gap=gap)
    spot = spot or _free_spot(frame, w, h, blockers, gap=gap)
    if spot is None:
        return None
    x0, y0 = spot
    panel = (x0, y0, x0 + w, y0 + h)
    map_box = (x0, y0 + bar_h, x0 + w, y0 + bar_h + map_h)
    keys = _keys_in(main, area)
    return _Plan(area, panel, map_box, tag_box, tag_text, tag_cap, title_h, scale, mag, keys)


def _keys_in(main: MainMap, area: Box) -> tuple[str, ...]:
    """Buildings and units whose label would be in ``area`` on the main map (their pole or door is there)."""
    box = shapely.box(*area)
    b = main.layers["buildings"]
    keys = [
        str(k)
        for k, g in zip(b["id"], main.b_clip)
        if g is not None and not g.is_empty and box.contains(shapely.Point(pole_of(g)))
    ]
    units = main.layers["units"]
    u_mm = units.geometry.affine_transform(main.matrix)
    keys += [str(k) for k, p in zip(units["id"], u_mm) if p is not None and not p.is_empty and box.contains(p)]
    return tuple(keys)


def _tag_box(main: MainMap, area: Box, text: str, cap: float) -> Box | None:
    """Where the tag goes: just outside a corner of the area box (top-left first), inside the frame, on no symbol."""
    w, h = label_size(main.page, text, cap, main.style.callout_label)
    x0, y0, x1, y1 = area
    frame = main.frame
    symbols = [s.box for s in main.symbols]
    for bx, by in ((x0, y1), (x1 - w, y1), (x0, y0 - h), (x1 - w, y0 - h)):
        box = (bx, by, bx + w, by + h)
        inside = box[0] >= frame[0] and box[1] >= frame[1] and box[2] <= frame[2] and box[3] <= frame[3]
        if inside and not any(boxes_overlap(box, s) for s in symbols):
            return box
    return None


def _blockers(main: MainMap, placed: list[PlacedLabel], area: Box, tag_box: Box) -> list:
    """What the panel must not cover: symbols, buildings, paths, the gate labels, the area and its tag."""
    paths = poster_map.clip(main.layers["paths"].geometry.affine_transform(main.matrix), main.frame)
    gate_labels = [shapely.box(*p.box) for p in placed if p.kind in ("gate", "here") and p.how != "listed"]
    return [
        *(shapely.box(*s.box) for s in main.symbols),
        *(g for g in main.b_clip if g is not None and not g.is_empty),
        *(g for g in paths if g is not None and not g.is_empty),
        *gate_labels,
        shapely.box(*area),
        shapely.box(*tag_box),
    ]


def _free_spot(frame: Box, w: float, h: float, blockers: list, *, gap: float) -> tuple[float, float] | None:
    """Lower-left corner of a ``w`` x ``h`` panel against an edge of ``frame`` that touches no blocker.

    Places along the four edges, nearest a corner of the frame first.
    """
    x0, y0, x1, y1 = frame
    if w > x1 - x0 or h > y1 - y0:
        return None
    step = max(min(w, h) / 20.0, 1.0)
    xs = np.append(np.arange(x0, x1 - w, step), x1 - w)
    ys = np.append(np.arange(y0, y1 - h, step), y1 - h)
    cands = np.vstack(
        [
            np.column_stack([xs, np.full(len(xs), y1 - h)]),
            np.column_stack([xs, np.full(len(xs), y0)]),
            np.column_stack([np.full(len(ys), x0), ys]),
            np.column_stack([np.full(len(ys), x1 - w), ys]),
        ]
    )
    # every place touches an edge: its distance to the nearest corner is along that edge
    corner = np.minimum(cands[:, 0] - x0, x1 - w - cands[:, 0]) + np.minimum(cands[:, 1] - y0, y1 - h - cands[:, 1])
    order = np.argsort(corner, kind="stable")
    cands = cands[order]
    boxes = shapely.box(cands[:, 0] - gap, cands[:, 1] - gap, cands[:, 0] + w + gap, cands[:, 1] + h + gap)
    hit = np.zeros(len(cands), dtype=bool)
    if blockers:
        hit[np.unique(shapely.STRtree(blockers).query(boxes, predicate="intersects")[0])] = True
    free = np.flatnonzero(~hit)
    return (float(cands[free[0], 0]), float(cands[free[0], 1])) if len(free) else None


def _mm(box) -> Box:
    """A box of plain floats (not numpy scalars)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0, y0, x1, y1


def _inset_matrix(main: MainMap, plan: _Plan) -> list[float]:
    """Metres to the inset's page mm: the main map's matrix, magnified about the area's centre into the map box."""
    a, b, d, e, xoff, yoff = main.matrix
    m = plan.mag
    cx, cy = (plan.area[0] + plan.area[2]) / 2, (plan.area[1] + plan.area[3]) / 2
    ix, iy = (plan.map_box[0] + plan.map_box[2]) / 2, (plan.map_box[1] + plan.map_box[3]) / 2
    return [m * a, m * b, m * d, m * e, m * (xoff - cx) + ix, m * (yoff - cy) + iy]


def _inset_page(main: MainMap, frame: Box) -> Page:
    """A Page drawing into its own axes over ``frame`` (same mm coordinates, clipped to the frame, on top)."""
    fig = main.page.fig
    pw, ph = main.page.w, main.page.h
    ax = fig.add_axes((frame[0] / pw, frame[1] / ph, (frame[2] - frame[0]) / pw, (frame[3] - frame[1]) / ph), zorder=1)
    ax.set_xlim(frame[0], frame[2])
    ax.set_ylim(frame[1], frame[3])
    ax.set_axis_off()
    ax.set_gid(f"inset:{TAG}")
    sub = copy.copy(main.page)
    sub.ax = ax
    return sub


def _draw_and_place(
    make_requests, main: MainMap, plan: _Plan, *, fit: str, trouble: int, share: float
) -> tuple[list[PlacedLabel], Inset] | None:
    """Draw the inset and place its labels, then the main map's again; ``None`` (nothing left drawn) if either fails."""
    sub = _inset_page(main, plan.frame)
    inset_labels = _inset_labels(sub, main, plan, share)
    main_labels = None
    if inset_labels is not None:
        main_labels = _main_again(make_requests, main, plan, fit=fit)
    if (
        inset_labels is None
        or main_labels is None
        or sum(p.how in ("callout", "listed") for p in main_labels) >= trouble
    ):
        main.page.fig.delaxes(sub.ax)
        return None
    poster_maplabels.draw_labels(sub, inset_labels, main.texts, style=main.style)
    _draw_panel_furniture(sub, main, plan)
    _draw_area(main, plan)
    inset = Inset(TAG, _mm(plan.area), _mm(plan.frame), _mm(plan.map_box), _mm(plan.tag_box), plan.scale, plan.keys)
    return main_labels + inset_labels, inset


def _inset_labels(sub: Page, main: MainMap, plan: _Plan, share: float) -> list[PlacedLabel] | None:
    """Draw the inset's map and symbols, then place the labels of its area there at ``share`` of their size.

    ``None`` if they do not fit.
    """
    f, style, box = main.f, main.style, plan.map_box
    x0, y0, x1, y1 = plan.frame
    sub.add(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=style.paper_face, edgecolor="none", zorder=0.1))
    matrix = _inset_matrix(main, plan)
    grid = make_grid(box, scale=plan.scale, square_mm=style.grid_square_mm)
    comp_mm, b_mm, _ = poster_map.draw_map(sub, main.layers, main.cid, matrix, box, grid, style, f, grid_lines=False)
    marks = poster_map.draw_symbols(sub, main.layers, main.gate_id, matrix, box, style, f, [])
    requests = poster_maplabels.label_requests(
        sub,
        main.layers,
        main.gate_id,
        marks,
        main.texts,
        comp_mm,
        poster_map.clip(b_mm, box),
        sizes=main.sizes,
        style=style,
        words=main.words,
        gate_marks=True,
        f=f,
    )
    wanted = set(plan.keys)
    wanted_requests = [r for r in requests if r.kind in _LABELLED and r.key in wanted]
    placed = _place_in(box, wanted_requests, marks.symbols, main, share)
    if placed is None or len(placed) < len(wanted):
        log.debug("inset at 1:%d: its labels do not fit", plan.scale)
        return None
    return [replace(p, how="inset") for p in placed]


#: the inset's labels are tried at these shares of their size, all together (each share at every magnification)
UNIFORM_SHRINK = (1.0, 0.75, 0.55)


def _place_in(
    box: Box, requests: list[LabelRequest], symbols: list[Symbol], main: MainMap, share: float
) -> list[PlacedLabel] | None:
    """The labels inside ``box`` clear of ``symbols`` at ``share`` of their size, never as callouts.

    ``None`` if they do not fit. A dense part is many labels of one size
    close together: all of them a size smaller (:data:`UNIFORM_SHRINK`) read
    better, and fit more often, than the first ones large and the last ones
    squeezed; a label may still go smaller (down to the legible minimum) or
    out on a leader line.
    """
    f, style = main.f, main.style
    gates = [s for s in symbols if s.kind.startswith("gate:") or s.kind == "here"]
    inner = 1.0 * f
    fallbacks = Fallbacks(
        min_cap_mm=MIN_LABEL_CAP_MM,
        far_reach_mm=style.far_reach_mm * f,
        callout_text=poster_maplabels.callout_number,
        callout_cap_mm=MIN_LABEL_CAP_MM,
        max_callouts=0,  # a callout in an inset would be a number for a number: no
    )
    reach = style.label_reach_mm * f
    try:
        placed = place_labels(
            [_resized(r, share, reach) for r in requests],
            bounds=(box[0] + inner, box[1] + inner, box[2] - inner, box[3] - inner),
            obstacles=[s.box for s in symbols],
            gap_mm=style.label_gap_mm * f,
            keep_clear=[s.box for s in gates],
            keep_clear_keys=[s.key for s in gates],
            fallbacks=fallbacks,
        )
    except LabelFitError:
        return None
    return None if any(p.how in ("callout", "listed") for p in placed) else placed


def _resized(req: LabelRequest, share: float, reach: float) -> LabelRequest:
    """``req`` at ``share`` of its size (never below the legible minimum)."""
    if share == 1.0 or req.remake is None or req.cap_mm <= MIN_LABEL_CAP_MM:
        return req
    return req.remake(round(max(req.cap_mm * share, MIN_LABEL_CAP_MM), 2), reach, None)


def _main_again(make_requests, main: MainMap, plan: _Plan, *, fit: str) -> list[PlacedLabel] | None:
    """The main map's labels without those of the area, clear of the panel, the area box and its tag."""
    moved = set(plan.keys)

    def requests(gate_marks: bool) -> list[LabelRequest]:
        return [r for r in make_requests(gate_marks) if r.key not in moved or r.kind not in _LABELLED]

    extra = [
        Symbol("inset", f"inset:{TAG}", plan.frame),
        Symbol("inset", f"inset:{TAG}:tag", plan.tag_box),
        Symbol("inset_area", f"inset:{TAG}:area", plan.area),
    ]
    try:
        return poster_maplabels.place_map_labels(
            requests, main.symbols + extra, main.frame, style=main.style, f=main.f, fit=fit
        )
    except LabelFitError as exc:
        log.debug("inset at 1:%d: the main map's labels do not fit around it: %s", plan.scale, exc)
        return None


def _draw_panel_furniture(sub: Page, main: MainMap, plan: _Plan) -> None:
    """The panel's frame, its title (tag and scale) and its scale bar."""
    f, style = main.f, main.style
    x0, y0, x1, y1 = plan.frame
    title = f"{plan.tag_text}  {main.words['scale'].format(scale=f'{plan.scale:,}')}"
    body = main.sizes.body_mm
    sub.text(x0 + 2.0 * f, y1 - plan.title_h + 0.3 * plan.title_h, title, body, color=style.ink, gid="inset:title")
    poster_furniture.scale_bar(
        sub,
        x0=x0 + 4.0 * f,
        y0=y0,
        height=plan.map_box[1] - y0,
        scale=plan.scale,
        frame_w=x1 - x0,
        words=main.words,
        body=body,
        small=main.sizes.small_mm,
        grid=None,
    )
    sub.add(
        Rectangle(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            facecolor="none",
            edgecolor=style.ink,
            linewidth=1.6 * 0.5 * f * PT_PER_MM,
            zorder=45,
            gid=f"inset:{TAG}:frame",
        )
    )


def _draw_area(main: MainMap, plan: _Plan) -> None:
    """The dashed box on the main map around the part the inset shows, and its tag."""
    f, style, page = main.f, main.style, main.page
    x0, y0, x1, y1 = plan.area
    page.add(
        Rectangle(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            facecolor="none",
            edgecolor=style.header.face,
            linewidth=0.6 * f * PT_PER_MM,
            linestyle=(0, (4.0, 2.0)),
            zorder=26,
            gid=f"inset:{TAG}:area",
        )
    )
    page.boxed_label(plan.tag_text, plan.tag_box, plan.tag_cap, style.callout_label, gid=f"inset:{TAG}:tag")
