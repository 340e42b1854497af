"""Place map labels so that every one appears and none overlaps another or a symbol.

A greedy placer over candidate positions, in paper millimetres. Each
:class:`LabelRequest` carries its box size and its candidate centres in order
of preference (see :func:`ring_candidates` and :func:`interior_candidates`);
the first candidate that stays inside the map, clears every placed box, every
symbol and every leader line (and whose own leader line crosses no box and no
symbol it must keep clear of) wins. A label that cannot be placed is never
dropped: the placer retries with that label earlier in the order; then,
given :class:`Fallbacks`, it tries for each label that has no room, in order
(the ``how`` of :class:`PlacedLabel`):

``"smaller"``
    the label at smaller sizes, down to the smallest permitted;
``"leader"``
    farther out (up to ``Fallbacks.far_reach_mm``) with a leader line from
    the feature to free space;
``"callout"``
    a small number at the feature; the caller lists the full label beside
    the map;
``"inset"``
    (not given here: :mod:`ridermap.render.poster_inset` places the labels
    of a dense part in an inset at a larger scale);
``"listed"``
    (``Fallbacks.last_resort`` only) not on the map at all, only listed.

Without fallbacks, or when a callout number finds no room either (and it is
not the last resort), :class:`LabelFitError` names the label.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points, polylabel

from ridermap.errors import RenderError

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


class LabelFitError(RenderError):
    """A label found no free place; ``request`` is the one that failed."""

    def __init__(self, message: str, request: LabelRequest):
        super().__init__(message)
        self.request = request


@dataclass(frozen=True)
class LabelRequest:
    """A label to place.

    Parameters
    ----------
    key
        Id of the labelled feature (building, unit, gate id).
    kind
        ``"building"``, ``"unit"``, ``"gate"`` or ``"here"``.
    text
        The text printed.
    width_mm, height_mm
        Size of the label's box, padding included.
    anchor
        The point the label belongs to (mm); leader lines end here or on ``feature``.
    candidates
        ``(n, 2)`` array of box centres, best first.
    feature
        The labelled geometry in mm; a box touching it needs no leader line.
    cap_mm
        Cap height of the text (for the fallbacks; 0 when not known).
    remake
        ``remake(cap_mm, reach_mm, text)``: the same label at another size,
        with candidates reaching ``reach_mm`` out, or with another text (a
        callout number); ``None`` when the label has no fallbacks.
    """

    key: str
    kind: str
    text: str
    width_mm: float
    height_mm: float
    anchor: tuple[float, float]
    candidates: np.ndarray = field(repr=False)
    feature: BaseGeometry | None = field(default=None, repr=False)
    cap_mm: float = 0.0
    remake: Callable[[float, float, str | None], LabelRequest] | None = field(default=None, repr=False, compare=False)


#: how a label was placed, best first (see the module docstring)
PLACEMENTS = ("normal", "smaller", "leader", "callout", "inset", "listed")


@dataclass(frozen=True)
class PlacedLabel:
    """Where a label went: its box ``(x0, y0, x1, y1)`` in mm, an optional leader line and how it was placed.

    ``text`` is always the label's full text; for ``how == "callout"`` the
    map shows :attr:`shown` (the callout number) in ``box`` and the full text
    is listed beside the map; for ``"listed"`` the box is the empty box at
    the anchor (nothing on the map).
    """

    key: str
    kind: str
    text: str
    box: Box
    leader: tuple[tuple[float, float], tuple[float, float]] | None = None
    how: str = "normal"
    cap_mm: float = 0.0
    callout: int = 0
    callout_text: str = ""

    @property
    def shown(self) -> str:
        """What is printed in the box on the map."""
        return self.callout_text if self.how == "callout" else ("" if self.how == "listed" else self.text)

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2


def ring_candidates(
    anchor: tuple[float, float],
    width_mm: float,
    height_mm: float,
    *,
    start_mm: float,
    step_mm: float,
    reach_mm: float,
    prefer_deg: float = 90.0,
    directions: int = 16,
) -> np.ndarray:
    """Box centres on rings around ``anchor``, the box's near edge ``r`` mm away.

    Nearer rings come first; on a ring, directions closest to ``prefer_deg``
    (counter-clockwise from the +x axis) come first.
    """
    angles = np.deg2rad(np.arange(directions) * 360.0 / directions)
    diff = np.abs((np.rad2deg(angles) - prefer_deg + 180.0) % 360.0 - 180.0)
    angles = angles[np.argsort(diff, kind="stable")]
    dx, dy = np.cos(angles), np.sin(angles)
    # distance from the box centre to its edge along each direction
    with np.errstate(divide="ignore"):
        half = np.minimum(
            np.where(np.abs(dx) > 1e-9, width_mm / 2 / np.abs(dx), np.inf),
            np.where(np.abs(dy) > 1e-9, height_mm / 2 / np.abs(dy), np.inf),
        )
    radii = np.arange(start_mm, reach_mm + 1e-9, step_mm)
    if not len(radii):
        return np.empty((0, 2))
    out = radii[:, None] + half[None, :]  # one ring per row, nearest first
    return np.column_stack([(anchor[0] + dx * out).ravel(), (anchor[1] + dy * out).ravel()])


def interior_candidates(
    polygon: BaseGeometry,
    width_mm: float,
    height_mm: float,
    *,
    step_mm: float,
    inset_mm: float = 0.3,
    pole: tuple[float, float] | None = None,
) -> np.ndarray:
    """Box centres whose whole box lies inside ``polygon``, nearest its pole of inaccessibility first.

    ``pole``: the polygon's :func:`pole_of`, when the caller has it already.
    """
    if polygon.is_empty or polygon.area <= 0:
        return np.empty((0, 2))
    inner = polygon.buffer(-inset_mm) if inset_mm else polygon
    if inner.is_empty:
        return np.empty((0, 2))
    x0, y0, x1, y1 = inner.bounds
    xs = np.arange(x0 + width_mm / 2, x1 - width_mm / 2 + 1e-9, step_mm)
    ys = np.arange(y0 + height_mm / 2, y1 - height_mm / 2 + 1e-9, step_mm)
    if not len(xs) or not len(ys):
        return np.empty((0, 2))
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    boxes = shapely.box(gx - width_mm / 2, gy - height_mm / 2, gx + width_mm / 2, gy + height_mm / 2)
    ok = shapely.contains(inner, boxes)
    pts = np.column_stack([gx[ok], gy[ok]])
    if not len(pts):
        return pts
    pole = _pole(polygon) if pole is None else pole
    order = np.argsort(np.hypot(pts[:, 0] - pole[0], pts[:, 1] - pole[1]), kind="stable")
    return pts[order]


def _pole(polygon: BaseGeometry) -> tuple[float, float]:
    part = max(getattr(polygon, "geoms", [polygon]), key=lambda g: g.area)
    p = polylabel(part, tolerance=0.5)
    return p.x, p.y


def pole_of(polygon: BaseGeometry) -> tuple[float, float]:
    """The point inside a polygon farthest from its edges (largest part of a multipolygon)."""
    return _pole(polygon)


def _overlaps(cands: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``(n,)`` True where candidate box i overlaps any of ``boxes`` (both ``(k, 4)``)."""
    if not len(boxes):
        return np.zeros(len(cands), dtype=bool)
    a = cands[:, None, :]
    b = boxes[None, :, :]
    hit = (a[..., 0] < b[..., 2]) & (a[..., 2] > b[..., 0]) & (a[..., 1] < b[..., 3]) & (a[..., 3] > b[..., 1])
    return np.asarray(hit.any(axis=1))


def _leader(req: LabelRequest, box: Box, *, touch_mm: float):
    """Leader line from the box to the feature, or ``None`` if the box touches it."""
    b = shapely.box(*box)
    target = req.feature if req.feature is not None else shapely.Point(req.anchor)
    if b.distance(target) <= touch_mm:
        return None
    if req.feature is not None and req.feature.geom_type != "Point":
        end = nearest_points(target, b)[0]
    else:
        end = shapely.Point(req.anchor)
    start = nearest_points(b, end)[0]
    return (start.x, start.y), (end.x, end.y)


@dataclass(frozen=True)
class Fallbacks:
    """What the placer may do when a label has no room at its size (see the module docstring).

    Parameters
    ----------
    min_cap_mm
        Smallest permitted cap height; sizes step down by ``shrink`` to it.
    far_reach_mm
        How far from its feature a label may go with a leader line.
    callout_text
        ``callout_text(n)``: the text of callout number ``n`` (``"①"``).
    callout_cap_mm
        Cap height of callout numbers.
    shrink
        Each smaller size is this fraction of the one before.
    last_resort
        A callout number with no room either is only listed (``"listed"``)
        instead of raising :class:`LabelFitError`; no limit of callouts.
    max_callouts
        More callouts than this raise :class:`LabelFitError` (a long list
        beside the map helps nobody: a larger paper does).
    """

    min_cap_mm: float
    far_reach_mm: float
    callout_text: Callable[[int], str]
    callout_cap_mm: float
    shrink: float = 0.85
    last_resort: bool = False
    max_callouts: int = 30

    def sizes_below(self, cap_mm: float) -> list[float]:
        """The smaller sizes to try for a label of ``cap_mm``, down to and including the minimum.

        >>> Fallbacks(4.0, 60.0, str, 4.0).sizes_below(6.0)
        [5.1, 4.33, 4.0]
        """
        out: list[float] = []
        cap = cap_mm * self.shrink
        while cap > self.min_cap_mm + 0.05:
            out.append(round(cap, 2))
            cap *= self.shrink
        if cap_mm > self.min_cap_mm + 1e-6:
            out.append(self.min_cap_mm)
        return out


def place_labels(
    requests: list[LabelRequest],
    *,
    bounds: Box,
    obstacles: np.ndarray | list,
    gap_mm: float,
    touch_mm: float = 1.5,
    retries: int = 4,
    keep_clear: np.ndarray | list | tuple = (),
    keep_clear_keys: list[str] | tuple = (),
    fallbacks: Fallbacks | None = None,
) -> list[PlacedLabel]:
    """Place every label, with the fallbacks if given, or raise :class:`LabelFitError`.

    Parameters
    ----------
    requests
        Labels in priority order (the first get the best places).
    bounds
        ``(x0, y0, x1, y1)`` every box must stay inside (the map frame).
    obstacles
        ``(k, 4)`` boxes of symbols no label may cover.
    gap_mm
        Clear space kept between a label and any other label or symbol.
    touch_mm
        A box this close to its feature needs no leader line.
    retries
        How many times a failed label is moved to the front before giving up
        (or turning to the fallbacks).
    keep_clear, keep_clear_keys
        ``(m, 4)`` boxes of symbols no leader line may cross (gates), and the
        feature key of each (a label's leader may end on its own symbol).
    fallbacks
        What to do when a label has no room (``None``: raise).
    """
    order = list(requests)
    obstacles = np.asarray(obstacles, dtype=float).reshape(-1, 4)
    clear = _KeepClear(np.asarray(keep_clear, dtype=float).reshape(-1, 4), list(keep_clear_keys), gap_mm)
    failed: LabelFitError | None = None
    for attempt in range(retries + 1):
        try:
            board = _Board(bounds, obstacles, gap_mm, touch_mm, clear)
            return [board.take(req) for req in order]
        except LabelFitError as exc:
            failed = exc
            log.debug(
                "label %s (%s) did not fit on attempt %d; retrying it earlier",
                exc.request.text,
                exc.request.key,
                attempt + 1,
            )
            order.remove(exc.request)
            order.insert(0, exc.request)
    assert failed is not None
    if fallbacks is None:
        raise failed
    placed = _place_with_fallbacks(requests, lambda: _Board(bounds, obstacles, gap_mm, touch_mm, clear), fallbacks)
    log.info("labels placed with fallbacks: %s", {h: sum(p.how == h for p in placed) for h in PLACEMENTS})
    return placed


#: rounds of :func:`_place_with_fallbacks`: each turns the labels that found no room into callouts placed first
FALLBACK_ROUNDS = 6


def _place_with_fallbacks(
    requests: list[LabelRequest], new_board: Callable[[], _Board], fb: Fallbacks
) -> list[PlacedLabel]:
    """Every label with its fallbacks; labels with no room even as callouts become callouts placed first.

    A callout number is far smaller than the label, so placing the labels in
    trouble first as numbers leaves the others their room. At most
    :data:`FALLBACK_ROUNDS` rounds, then :class:`LabelFitError`.
    """
    forced: list[LabelRequest] = []
    stuck: list[LabelRequest] = []
    for _ in range(FALLBACK_ROUNDS):
        board = new_board()
        placed = [_forced_callout(req, board, fb) for req in forced]
        stuck = []
        for req in requests:
            if req in forced:
                continue
            found = _with_fallbacks(req, board, fb)
            if found is None:
                stuck.append(req)
            else:
                placed.append(found)
            if not fb.last_resort and board.callouts + len(stuck) > fb.max_callouts:
                raise LabelFitError(
                    f"no room for the {req.kind} label {req.text!r} ({req.key}): more than "
                    f"{fb.max_callouts} labels would be callouts",
                    req,
                )
        if not stuck:
            return placed
        fixed = next((req for req in stuck if req.remake is None), None)
        if fixed is not None:
            raise LabelFitError(f"no room for the {fixed.kind} label {fixed.text!r} ({fixed.key})", fixed)
        log.debug("%d labels have no room even as callouts: placing them first", len(stuck))
        forced += stuck
    req = stuck[0]
    raise LabelFitError(
        f"no room for the {req.kind} label {req.text!r} ({req.key}) after {FALLBACK_ROUNDS} rounds of callouts", req
    )


def _forced_callout(req: LabelRequest, board: _Board, fb: Fallbacks) -> PlacedLabel:
    """A label in trouble as a callout placed first; spread out with leaders, so numbers do not wall in a cluster."""
    found = _callout(req, board, fb, spread=True) or _callout(req, board, fb)
    if found is None:
        raise LabelFitError(
            f"no room for the {req.kind} label {req.text!r} ({req.key}), not even as a number placed first", req
        )
    board.add(found)
    return found


def _with_fallbacks(req: LabelRequest, board: _Board, fb: Fallbacks) -> PlacedLabel | None:
    """The first of: as asked, smaller, farther with a leader, a callout number, only listed (or ``None``)."""
    found = board.try_place(req)
    if found is None and req.remake is not None:
        found = _smaller_or_farther(req, board, fb)
        if found is None:
            found = _callout(req, board, fb)
    if found is not None:
        board.add(found)
    return found


def _smaller_or_farther(req: LabelRequest, board: _Board, fb: Fallbacks) -> PlacedLabel | None:
    assert req.remake is not None  # requests made for fallbacks can remake themselves
    reach = _reach(req)
    for cap in fb.sizes_below(req.cap_mm):
        found = board.try_place(req.remake(cap, reach, None))
        if found is not None:
            return replace(found, how="smaller")
    for cap in dict.fromkeys([req.cap_mm, fb.min_cap_mm]):  # farther out: as large as asked, or the smallest
        found = board.try_place(req.remake(cap, fb.far_reach_mm, None))
        if found is not None:
            return replace(found, how="leader" if found.leader is not None else "smaller")
    return None


def _callout(req: LabelRequest, board: _Board, fb: Fallbacks, *, spread: bool = False) -> PlacedLabel | None:
    """Callout number ``board.callouts + 1`` at the feature (``spread``: at least three numbers' height away)."""
    assert req.remake is not None  # requests made for fallbacks can remake themselves
    n = board.callouts + 1
    number = fb.callout_text(n)
    for reach in (_reach(req), fb.far_reach_mm) if not spread else (fb.far_reach_mm,):
        request = req.remake(fb.callout_cap_mm, reach, number)
        if spread:
            c = np.asarray(request.candidates, dtype=float).reshape(-1, 2)
            far = np.hypot(c[:, 0] - req.anchor[0], c[:, 1] - req.anchor[1]) >= 3 * request.height_mm
            request = replace(request, candidates=c[far])
        found = board.try_place(request)
        if found is not None:
            board.callouts = n
            return replace(found, text=req.text, how="callout", callout=n, callout_text=number)
    if not fb.last_resort:
        return None
    x, y = req.anchor
    return PlacedLabel(req.key, req.kind, req.text, (x, y, x, y), None, "listed", req.cap_mm)


def _reach(req: LabelRequest) -> float:
    """How far out the request's candidates go (from its anchor), at least 1 mm."""
    c = np.asarray(req.candidates, dtype=float).reshape(-1, 2)
    if not len(c):
        return 1.0
    return max(float(np.max(np.hypot(c[:, 0] - req.anchor[0], c[:, 1] - req.anchor[1]))), 1.0)


@dataclass
class _KeepClear:
    """Symbols no leader line may cross, by feature key.

    A leader may cross its own feature's symbol and any symbol that covers
    the point it ends at (two gates drawn on top of each other).
    """

    boxes: np.ndarray
    keys: list[str]
    gap_mm: float

    def crossed(self, line: BaseGeometry, own_key: str, end: tuple[float, float]) -> bool:
        return self.crossed_buffered(line.buffer(self.gap_mm / 2), own_key, end)

    def crossed_buffered(self, band: BaseGeometry, own_key: str, end: tuple[float, float]) -> bool:
        """Whether ``band`` (a leader line grown by half the gap) crosses a kept-clear symbol."""
        if not len(self.boxes):
            return False
        b, g = self.boxes, self.gap_mm
        covers_end = (
            (b[:, 0] - g <= end[0]) & (end[0] <= b[:, 2] + g) & (b[:, 1] - g <= end[1]) & (end[1] <= b[:, 3] + g)
        )
        mask = np.array([k != own_key for k in self.keys], dtype=bool) & ~covers_end
        if not mask.any():
            return False
        return bool(shapely.intersects(shapely.box(*b[mask].T), band).any())


class _Board:
    """What is on the map so far: placed boxes, symbols and leader lines."""

    def __init__(self, bounds: Box, obstacles: np.ndarray, gap_mm: float, touch_mm: float, clear: _KeepClear):
        self.bounds, self.gap_mm, self.touch_mm, self.clear = bounds, gap_mm, touch_mm, clear
        self.placed: list[PlacedLabel] = []
        self.blocked = [obstacles] if len(obstacles) else []
        self.leaders: list[BaseGeometry] = []
        self.callouts = 0
        self._trees: dict[str, shapely.STRtree | None] = {}  # spatial indexes of leaders and placed boxes
        self._stacked: np.ndarray | None = None  # self.blocked as one array

    def take(self, req: LabelRequest) -> PlacedLabel:
        """Place ``req`` at its first free candidate or raise :class:`LabelFitError`."""
        chosen = self.try_place(req)
        if chosen is None:
            raise LabelFitError(f"no room for the {req.kind} label {req.text!r} ({req.key})", req)
        self.add(chosen)
        return chosen

    def _leader_tree(self) -> shapely.STRtree:
        if self._trees.get("leaders") is None:
            self._trees["leaders"] = shapely.STRtree(self.leaders)
        return self._trees["leaders"]

    def _box_tree(self) -> shapely.STRtree:
        if self._trees.get("boxes") is None:
            self._trees["boxes"] = shapely.STRtree(shapely.box(*np.array([p.box for p in self.placed]).T))
        return self._trees["boxes"]

    def add(self, label: PlacedLabel) -> None:
        if label.how == "listed":
            return
        self._trees.clear()
        self._stacked = None
        self.placed.append(label)
        self.blocked.append(np.array(label.box).reshape(1, 4))
        if label.leader is not None:
            self.leaders.append(shapely.LineString(label.leader))

    def try_place(self, req: LabelRequest) -> PlacedLabel | None:
        """The label at ``req``'s first free candidate, or ``None`` (nothing is added)."""
        gap_mm = self.gap_mm
        bx0, by0, bx1, by1 = self.bounds
        c = np.asarray(req.candidates, dtype=float).reshape(-1, 2)
        hw, hh = req.width_mm / 2, req.height_mm / 2
        cands = np.column_stack([c[:, 0] - hw, c[:, 1] - hh, c[:, 0] + hw, c[:, 1] + hh])
        inside = (cands[:, 0] >= bx0) & (cands[:, 1] >= by0) & (cands[:, 2] <= bx1) & (cands[:, 3] <= by1)
        idx = np.flatnonzero(inside)
        idx = idx[self._free(cands[idx] + np.array([-gap_mm, -gap_mm, gap_mm, gap_mm]))]
        lo = 0
        for size in (1, 15, 112, len(idx)):  # usually the first candidate wins: check few, then many at once
            chunk = idx[lo : lo + size]
            lo += size
            if not len(chunk):
                break
            starts, ends, needs = _leaders(req, cands[chunk], touch_mm=self.touch_mm)
            ok = ~needs
            if needs.any():
                ok[needs] = self._leaders_ok(starts[needs], ends[needs], req.key)
            if ok.any():
                k = int(np.flatnonzero(ok)[0])
                x0, y0, x1, y1 = (float(v) for v in cands[chunk[k]])
                box = (x0, y0, x1, y1)
                leader = (
                    ((float(starts[k, 0]), float(starts[k, 1])), (float(ends[k, 0]), float(ends[k, 1])))
                    if needs[k]
                    else None
                )
                return PlacedLabel(req.key, req.kind, req.text, box, leader, cap_mm=req.cap_mm)
        return None

    def _free(self, grown: np.ndarray) -> np.ndarray:
        """Which boxes (grown by the gap) cover no placed box or symbol and cross no leader line."""
        if self._stacked is None:
            self._stacked = np.vstack(self.blocked) if self.blocked else np.empty((0, 4))
        free = ~_overlaps(grown, self._stacked)
        if self.leaders and free.any():
            idx = np.flatnonzero(free)
            hits = np.unique(self._leader_tree().query(shapely.box(*grown[idx].T), predicate="intersects")[0])
            free[idx[hits]] = False
        return free

    def _leaders_ok(self, starts: np.ndarray, ends: np.ndarray, key: str) -> np.ndarray:
        """Which leader lines cross no placed label and no symbol they must keep clear of."""
        lines = shapely.buffer(shapely.linestrings(np.stack([starts, ends], axis=1)), self.gap_mm / 2)
        ok = np.ones(len(lines), dtype=bool)
        if self.placed:
            ok[np.unique(self._box_tree().query(lines, predicate="intersects")[0])] = False
        for i in np.flatnonzero(ok):
            ok[i] = not self.clear.crossed_buffered(lines[i], key, (ends[i, 0], ends[i, 1]))
        return ok


def _leaders(req: LabelRequest, boxes: np.ndarray, *, touch_mm: float):
    """Leader lines from ``(n, 4)`` boxes to the feature: ``(starts, ends, needed)``; not needed where a box touches it.

    The vectorised form of what :func:`_leader` gives for one box (same values).
    """
    b = shapely.box(*boxes.T)
    target = req.feature if req.feature is not None else shapely.Point(req.anchor)
    needs = shapely.distance(b, target) > touch_mm
    n = len(boxes)
    starts, ends = np.zeros((n, 2)), np.tile(np.asarray(req.anchor, dtype=float), (n, 1))
    if not needs.any():
        return starts, ends, needs
    sel = np.flatnonzero(needs)
    if req.feature is not None and req.feature.geom_type != "Point":
        ends[sel] = shapely.get_coordinates(shapely.shortest_line(target, b[sel])).reshape(-1, 2, 2)[:, 0]
    end_pts = shapely.points(ends[sel])
    starts[sel] = shapely.get_coordinates(shapely.shortest_line(b[sel], end_pts)).reshape(-1, 2, 2)[:, 0]
    return starts, ends, needs


def boxes_overlap(a: Box, b: Box) -> bool:
    """True if two ``(x0, y0, x1, y1)`` boxes share any area."""
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]
