"""Poster part: map labels (what wants a label, where it goes, drawing it).

:func:`label_requests` turns the features on the map into
:class:`~ridermap.render.poster_labels.LabelRequest` objects with their
candidate places; :func:`draw_labels` places them with
:func:`~ridermap.render.poster_labels.place_labels` clear of every symbol and
draws them with their leader lines.
"""
from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
from shapely.geometry import Point

from ridermap.render.poster_content import Texts
from ridermap.render.poster_labels import LabelRequest, interior_candidates, place_labels, pole_of, ring_candidates
from ridermap.render.poster_map import Marks, Symbol
from ridermap.render.poster_page import Box, Page, label_size
from ridermap.render.poster_style import PosterStyle

def label_requests(page: Page, layers: dict, gate_id: str | None, marks: Marks, texts: Texts,
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
        w, h = label_size(page, text, sizes.gate_mm, style.here_label)
        start = style.here.size_mm * f / 2 + gap_l
        requests.append(LabelRequest(gate_id, "here", text, w, h, tuple(here_xy),
                                     ring_from(here_xy, w, h, -90.0, start)))
    for i, row in layers["gates"].reset_index(drop=True).iterrows():
        if row["id"] == gate_id or not marks.gok[i] or not str(row["name"]).strip():
            continue
        xy = marks.gxy[i]
        text = texts.gate_shown[str(row["id"])][0] if gate_marks else str(row["name"]).strip()
        tb = style.unconfirmed_label if str(row["id"]) in texts.unconfirmed_gates else style.gate_label
        w, h = label_size(page, text, sizes.gate_mm, tb)
        prefer = math.degrees(math.atan2(xy[1] - comp_centre.y, xy[0] - comp_centre.x))
        requests.append(LabelRequest(str(row["id"]), "gate", text, w, h, tuple(xy),
                                     ring_from(xy, w, h, prefer, gate_half + gap_l)))
    order = np.argsort([g.area if g is not None else 0 for g in b_clip], kind="stable")
    for i in order:
        text = texts.b_text[i]
        geom = b_clip.iloc[i]
        if not text or geom is None or geom.is_empty:
            continue
        w, h = label_size(page, text, sizes.building_mm, style.building_label)
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
        w, h = label_size(page, text, sizes.unit_mm, style.unit_label)
        pole = b_poles.get(units["building_id"].iloc[i])
        prefer = math.degrees(math.atan2(xy[1] - pole[1], xy[0] - pole[0])) if pole else 90.0
        requests.append(LabelRequest(str(units["id"].iloc[i]), "unit", text, w, h, tuple(xy),
                                     ring_from(xy, w, h, prefer, door_half + gap_l)))
    return requests


def draw_labels(page: Page, requests: list[LabelRequest], symbols: list[Symbol], frame: Box, texts: Texts, *,
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

