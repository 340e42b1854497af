"""Poster part: map labels (what wants a label, where it goes, drawing it).

:func:`label_requests` turns the features on the map into
:class:`~ridermap.render.poster_labels.LabelRequest` objects with their
candidate places (each able to remake itself smaller, farther out or as a
callout number); :func:`place_map_labels` places them clear of every symbol
and :func:`draw_labels` draws them with their leader lines.

The fallback chain when a label has no room (see
:mod:`ridermap.render.poster_labels`): first the labels of unconfirmed gates
without their （待核实） (still grey, hollow symbol, in the legend), then per
label a smaller size (down to :data:`~ridermap.render.poster_style.MIN_LABEL_CAP_MM`),
a leader line to free space farther out, and a numbered callout (①) whose
full text the side panel lists (:func:`callout_texts`). Callouts crowded in
one part of the map go to an inset (:mod:`ridermap.render.poster_inset`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from ridermap.render.honest import mark_unconfirmed
from ridermap.render.poster_content import Texts
from ridermap.render.poster_labels import (
    Fallbacks,
    LabelFitError,
    LabelRequest,
    PlacedLabel,
    interior_candidates,
    place_labels,
    pole_of,
    ring_candidates,
)
from ridermap.render.poster_map import Marks, Symbol
from ridermap.render.poster_page import Box, Page, label_size
from ridermap.render.poster_style import MIN_LABEL_CAP_MM, PosterStyle, TextBox

#: how labels may be placed: ``strict`` (as asked or raise), ``fallback`` (the
#: chain down to numbered callouts), ``last_resort`` (callouts that find no
#: room are only listed beside the map)
FIT_MODES = ("strict", "fallback", "last_resort")


def callout_number(n: int) -> str:
    """The mark of callout ``n``: ①..⑳, ㉑..㉟, ㊱..㊿, then ``(51)``.

    >>> callout_number(1), callout_number(21), callout_number(50), callout_number(51)
    ('①', '㉑', '㊿', '(51)')
    """
    if 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if 21 <= n <= 35:
        return chr(0x3251 + n - 21)
    if 36 <= n <= 50:
        return chr(0x32B1 + n - 36)
    return f"({n})"


@dataclass(frozen=True)
class _Spec:
    """How to make one label's request at any size, reach or text."""

    page: Page
    key: str
    kind: str
    text: str
    tb: TextBox
    callout_tb: TextBox
    anchor: tuple[float, float]
    candidates: Callable[[float, float, float], np.ndarray]  # (w, h, reach) -> centres
    feature: BaseGeometry | None = None
    _made: dict = field(default_factory=dict, compare=False, repr=False)

    def request(self, cap_mm: float, reach_mm: float, text: str | None = None) -> LabelRequest:
        """The label at ``cap_mm`` with candidates ``reach_mm`` out (or callout ``text``); made once each."""
        made = self._made.get((cap_mm, reach_mm, text))
        if made is None:
            shown, tb = (self.text, self.tb) if text is None else (text, self.callout_tb)
            w, h = label_size(self.page, shown, cap_mm, tb)
            made = LabelRequest(
                self.key,
                self.kind,
                shown,
                w,
                h,
                self.anchor,
                self.candidates(w, h, reach_mm),
                self.feature,
                cap_mm=cap_mm,
                remake=self.request,
            )
            self._made[(cap_mm, reach_mm, text)] = made
        return made


def label_requests(
    page: Page,
    layers: dict,
    gate_id: str | None,
    marks: Marks,
    texts: Texts,
    comp_mm: gpd.GeoSeries,
    b_clip: gpd.GeoSeries,
    *,
    sizes,
    style: PosterStyle,
    words,
    gate_marks: bool,
    f: float,
) -> list[LabelRequest]:
    """What wants a label, largest obstacle first: here, gates, buildings (smallest first), units."""
    reach = style.label_reach_mm * f
    specs = _here_specs(page, gate_id, marks, texts, style=style, words=words, f=f) + _gate_specs(
        page, layers, gate_id, marks, texts, comp_mm, style=style, gate_marks=gate_marks, f=f
    )
    caps = [sizes.gate_mm] * len(specs)
    poles = [pole_of(g) if g is not None and not g.is_empty else None for g in b_clip]  # one polylabel each
    b_specs = _building_specs(page, layers, texts, b_clip, poles, style=style, f=f)
    u_specs = _unit_specs(page, layers, marks, texts, poles, style=style, f=f)
    caps += [sizes.building_mm] * len(b_specs) + [sizes.unit_mm] * len(u_specs)
    return [spec.request(cap, reach) for spec, cap in zip(specs + b_specs + u_specs, caps)]


def _ring(f: float, prefer: float, start: float) -> Callable[[tuple, float, float, float], np.ndarray]:
    def make(anchor, w, h, reach):
        return ring_candidates(anchor, w, h, start_mm=start, step_mm=1.2 * f, reach_mm=reach, prefer_deg=prefer)

    return make


def _point_spec(
    page, key, kind, text, tb, xy, style: PosterStyle, f: float, *, prefer: float, start: float, unconfirmed: bool
) -> _Spec:
    ring = _ring(f, prefer, start)
    anchor = tuple(xy)
    callout_tb = style.unconfirmed_callout if unconfirmed else style.callout_label
    return _Spec(page, key, kind, text, tb, callout_tb, anchor, lambda w, h, r: ring(anchor, w, h, r))


def _here_specs(page: Page, gate_id, marks: Marks, texts: Texts, *, style: PosterStyle, words, f: float) -> list:
    if marks.here_xy is None:
        return []
    text = f"{words['here']} · {texts.gate_name}" if texts.gate_name else words["here"]
    start = style.here.size_mm * f / 2 + style.label_gap_mm * f
    return [
        _point_spec(
            page,
            gate_id,
            "here",
            text,
            style.here_label,
            marks.here_xy,
            style,
            f,
            prefer=-90.0,
            start=start,
            unconfirmed=gate_id in texts.unconfirmed_gates,
        )
    ]


def _gate_specs(
    page: Page,
    layers: dict,
    gate_id,
    marks: Marks,
    texts: Texts,
    comp_mm: gpd.GeoSeries,
    *,
    style: PosterStyle,
    gate_marks: bool,
    f: float,
) -> list:
    comp_centre = comp_mm.iloc[0].representative_point() if not comp_mm.iloc[0].is_empty else Point(0, 0)
    gate_half = max(m.size_mm for m in style.gates.values()) * f / 2
    out = []
    for i, row in layers["gates"].reset_index(drop=True).iterrows():
        if row["id"] == gate_id or not marks.gok[i] or not str(row["name"]).strip():
            continue
        xy = marks.gxy[i]
        text = texts.gate_shown[str(row["id"])][0] if gate_marks else str(row["name"]).strip()
        unconfirmed = str(row["id"]) in texts.unconfirmed_gates
        tb = style.unconfirmed_label if unconfirmed else style.gate_label
        prefer = math.degrees(math.atan2(xy[1] - comp_centre.y, xy[0] - comp_centre.x))
        out.append(
            _point_spec(
                page,
                str(row["id"]),
                "gate",
                text,
                tb,
                xy,
                style,
                f,
                prefer=prefer,
                start=gate_half + style.label_gap_mm * f,
                unconfirmed=unconfirmed,
            )
        )
    return out


def _building_specs(
    page: Page, layers: dict, texts: Texts, b_clip: gpd.GeoSeries, poles: list, *, style: PosterStyle, f: float
) -> list:
    step = 1.2 * f
    buildings = layers["buildings"]
    out = []
    geoms, ids = list(b_clip), buildings["id"].tolist()
    for i in np.argsort([g.area if g is not None else 0 for g in geoms], kind="stable"):
        text, geom = texts.b_text[i], geoms[i]
        if not text or geom is None or geom.is_empty:
            continue
        pole = poles[i]

        def cands(w, h, reach, geom=geom, pole=pole):
            return np.vstack(
                [
                    interior_candidates(geom, w, h, step_mm=step, pole=pole),
                    ring_candidates(pole, w, h, start_mm=-min(w, h) / 2, step_mm=step, reach_mm=reach, prefer_deg=90.0),
                ]
            )

        key = str(ids[i])
        callout_tb = style.unconfirmed_callout if key in texts.unconfirmed_numbers else style.callout_label
        out.append(_Spec(page, key, "building", text, style.building_label, callout_tb, pole, cands, geom))
    return out


def _unit_specs(
    page: Page, layers: dict, marks: Marks, texts: Texts, poles: list, *, style: PosterStyle, f: float
) -> list:
    buildings, units = layers["buildings"], layers["units"]
    b_poles = {bid: p for bid, p in zip(buildings["id"], poles) if p is not None}
    start = style.unit_door.size_mm * f / 2 + style.label_gap_mm * f
    out = []
    u_building, u_id = units["building_id"].tolist(), units["id"].tolist()
    for i in np.flatnonzero(marks.uok):
        text = texts.u_text[i]
        if not text:
            continue
        xy = marks.uxy[i]
        pole = b_poles.get(u_building[i])
        prefer = math.degrees(math.atan2(xy[1] - pole[1], xy[0] - pole[0])) if pole else 90.0
        key = str(u_id[i])
        out.append(
            _point_spec(
                page,
                key,
                "unit",
                text,
                style.unit_label,
                xy,
                style,
                f,
                prefer=prefer,
                start=start,
                unconfirmed=key in texts.unconfirmed_numbers,
            )
        )
    return out


def place_map_labels(
    make_requests: Callable[[bool], list[LabelRequest]],
    symbols: list[Symbol],
    frame: Box,
    *,
    style: PosterStyle,
    f: float,
    fit: str = "fallback",
) -> list[PlacedLabel]:
    """Place the labels clear of the symbols, falling back as the module docstring says.

    ``make_requests(gate_marks)`` gives the requests with or without the
    （待核实） of unconfirmed gates. Leader lines never cross a gate symbol
    (other than the label's own).
    """
    gap_l = style.label_gap_mm * f
    inset = 1.0 * f
    # leader lines cross no gate symbol and no inset panel (poster_inset)
    gates = [s for s in symbols if s.kind.startswith("gate:") or s.kind in ("here", "inset")]
    kwargs: dict[str, Any] = dict(
        bounds=(frame[0] + inset, frame[1] + inset, frame[2] - inset, frame[3] - inset),
        obstacles=[s.box for s in symbols],
        gap_mm=gap_l,
        keep_clear=[s.box for s in gates],
        keep_clear_keys=[s.key for s in gates],
    )
    marked = make_requests(True)
    try:
        return place_labels(marked, **kwargs)
    except LabelFitError as exc:
        first = exc
    unmarked = make_requests(False)
    if [r.text for r in unmarked] != [r.text for r in marked]:
        try:
            return place_labels(unmarked, **kwargs)
        except LabelFitError:
            pass
    if fit == "strict":
        raise first
    fallbacks = Fallbacks(
        min_cap_mm=MIN_LABEL_CAP_MM,
        far_reach_mm=style.far_reach_mm * f,
        callout_text=callout_number,
        callout_cap_mm=MIN_LABEL_CAP_MM,
        last_resort=fit == "last_resort",
    )
    return place_labels(marked, fallbacks=fallbacks, **kwargs)


def draw_labels(page: Page, placed: list[PlacedLabel], texts: Texts, *, style: PosterStyle) -> None:
    """Draw the placed labels (callouts as their numbers) and their leader lines."""
    leader_parts = [np.array(p.leader) for p in placed if p.leader is not None]
    page.lines(leader_parts, style.leader, zorder=25)
    boxes = {
        "here": style.here_label,
        "gate": style.gate_label,
        "building": style.building_label,
        "unit": style.unit_label,
    }
    for p in placed:
        if p.how == "listed":
            continue
        tb = boxes[p.kind]
        unconfirmed = (p.kind in ("gate", "here") and p.key in texts.unconfirmed_gates) or (
            p.kind in ("building", "unit") and p.key in texts.unconfirmed_numbers
        )
        if p.how == "callout":
            tb = style.unconfirmed_callout if unconfirmed else style.callout_label
        elif p.kind == "gate" and unconfirmed:
            tb = style.unconfirmed_label
        elif p.kind in ("building", "unit") and unconfirmed:  # same box, grey ink
            tb = dataclasses.replace(tb, ink=style.unconfirmed_label.ink)
        page.boxed_label(p.shown, p.box, p.cap_mm, tb, gid=f"label:{p.kind}:{p.key}")


def callout_texts(placed: list[PlacedLabel], layers: dict, texts: Texts, *, words, lang: str) -> list[tuple[str, str]]:
    """``(number, full label)`` of every callout, in number order, then ``("·", full label)`` of each label only listed.

    待核实 where the map label would say it.
    """
    buildings, units = layers["buildings"], layers["units"]
    b_name = {
        str(i): (str(lab) or words["building_fmt"].format(n=n))
        for i, n, lab in zip(buildings["id"], buildings["number"], buildings["label"])
    }
    out = []
    listed = [p for p in placed if p.how == "listed"]
    for p in sorted((p for p in placed if p.callout), key=lambda p: p.callout) + listed:
        if p.kind == "building":
            full = b_name.get(p.key, p.text)
        elif p.kind == "unit":
            row = units[units["id"].astype(str) == p.key].iloc[0]
            unit = str(row["label"]) or words["unit_fmt"].format(n=p.text)
            full = f"{b_name.get(str(row['building_id']), '')} {unit}".strip()
        else:  # gate and here labels carry their 待核实 already
            full = p.text
        if p.kind in ("building", "unit") and p.key in texts.unconfirmed_numbers:
            full = mark_unconfirmed(full, lang)
        out.append((callout_number(p.callout) if p.callout else "·", full))
    return out
