"""Place map labels so that every one appears and none overlaps another or a symbol.

A greedy placer over candidate positions, in paper millimetres. Each
:class:`LabelRequest` carries its box size and its candidate centres in order
of preference (see :func:`ring_candidates` and :func:`interior_candidates`);
the first candidate that stays inside the map, clears every placed box, every
symbol and every leader line (and whose own leader line crosses no box) wins.
A label that cannot be placed is never dropped: the placer retries with that
label earlier in the order, then raises :class:`LabelFitError`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

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
    """

    key: str
    kind: str
    text: str
    width_mm: float
    height_mm: float
    anchor: tuple[float, float]
    candidates: np.ndarray = field(repr=False)
    feature: BaseGeometry | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PlacedLabel:
    """Where a label went: its box ``(x0, y0, x1, y1)`` in mm and an optional leader line."""

    key: str
    kind: str
    text: str
    box: Box
    leader: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2


def ring_candidates(anchor: tuple[float, float], width_mm: float, height_mm: float, *,
                    start_mm: float, step_mm: float, reach_mm: float, prefer_deg: float = 90.0,
                    directions: int = 16) -> np.ndarray:
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
        half = np.minimum(np.where(np.abs(dx) > 1e-9, width_mm / 2 / np.abs(dx), np.inf),
                          np.where(np.abs(dy) > 1e-9, height_mm / 2 / np.abs(dy), np.inf))
    radii = np.arange(start_mm, reach_mm + 1e-9, step_mm)
    out = [np.column_stack([anchor[0] + dx * (r + half), anchor[1] + dy * (r + half)]) for r in radii]
    return np.vstack(out) if out else np.empty((0, 2))


def interior_candidates(polygon: BaseGeometry, width_mm: float, height_mm: float, *,
                        step_mm: float, inset_mm: float = 0.3) -> np.ndarray:
    """Box centres whose whole box lies inside ``polygon``, nearest its pole of inaccessibility first."""
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
    pole = _pole(polygon)
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
    return hit.any(axis=1)


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


def place_labels(requests: list[LabelRequest], *, bounds: Box, obstacles: np.ndarray | list,
                 gap_mm: float, touch_mm: float = 1.5, retries: int = 4) -> list[PlacedLabel]:
    """Place every label or raise :class:`LabelFitError`.

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
        How many times a failed label is moved to the front before giving up.
    """
    order = list(requests)
    obstacles = np.asarray(obstacles, dtype=float).reshape(-1, 4)
    failed: LabelFitError | None = None
    for attempt in range(retries + 1):
        try:
            return _place_once(order, bounds=bounds, obstacles=obstacles, gap_mm=gap_mm, touch_mm=touch_mm)
        except LabelFitError as exc:
            failed = exc
            log.debug("label %s (%s) did not fit on attempt %d; retrying it earlier", exc.request.text,
                      exc.request.key, attempt + 1)
            order.remove(exc.request)
            order.insert(0, exc.request)
    assert failed is not None
    raise failed


def _place_once(requests: list[LabelRequest], *, bounds: Box, obstacles: np.ndarray, gap_mm: float,
                touch_mm: float) -> list[PlacedLabel]:
    placed: list[PlacedLabel] = []
    blocked = [obstacles] if len(obstacles) else []
    leaders: list[BaseGeometry] = []
    bx0, by0, bx1, by1 = bounds
    for req in requests:
        c = np.asarray(req.candidates, dtype=float).reshape(-1, 2)
        hw, hh = req.width_mm / 2, req.height_mm / 2
        cands = np.column_stack([c[:, 0] - hw, c[:, 1] - hh, c[:, 0] + hw, c[:, 1] + hh])
        inside = (cands[:, 0] >= bx0) & (cands[:, 1] >= by0) & (cands[:, 2] <= bx1) & (cands[:, 3] <= by1)
        grown = cands + np.array([-gap_mm, -gap_mm, gap_mm, gap_mm])
        free = inside & ~_overlaps(grown, np.vstack(blocked) if blocked else np.empty((0, 4)))
        if leaders and free.any():
            idx = np.flatnonzero(free)
            hits = shapely.intersects(shapely.box(*grown[idx].T), shapely.GeometryCollection(leaders))
            free[idx[hits]] = False
        chosen = None
        for i in np.flatnonzero(free):
            box = tuple(float(v) for v in cands[i])
            leader = _leader(req, box, touch_mm=touch_mm)
            if leader is not None and placed:
                line = shapely.LineString(leader)
                others = shapely.box(*np.array([p.box for p in placed]).T)
                if shapely.intersects(others, line.buffer(gap_mm / 2)).any():
                    continue
            chosen = PlacedLabel(req.key, req.kind, req.text, box, leader)
            break
        if chosen is None:
            raise LabelFitError(f"no room for the {req.kind} label {req.text!r} ({req.key})", req)
        placed.append(chosen)
        blocked.append(np.array(chosen.box).reshape(1, 4))
        if chosen.leader is not None:
            leaders.append(shapely.LineString(chosen.leader))
    return placed


def boxes_overlap(a: Box, b: Box) -> bool:
    """True if two ``(x0, y0, x1, y1)`` boxes share any area."""
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]

