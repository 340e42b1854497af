"""Poster part: furniture around the map (grid letters, scale bar, north arrow, crop marks, QR caption).

The QR code itself is drawn by :func:`ridermap.render.poster._qr`; this
module lays out its block and caption.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Polygon as MplPolygon
from matplotlib.patches import Rectangle

from ridermap.render.poster_grid import Grid, round_length
from ridermap.render.poster_page import PT_PER_MM, Box, Page, wrap
from ridermap.render.poster_panels import PanelType
from ridermap.render.poster_style import PosterStyle


def qr_caption_layout(ty: PanelType, qr_block_w: float, qr_mm: float, gap: float, url: str, foot: list[str]):
    """The QR block: its caption lines (text, cap height) wrapped to its width, and its height."""
    page, body, small = ty.page, ty.body, ty.small
    caption_lines = [(ln, body) for ln in wrap(ty.words["scan"], qr_block_w, lambda s: page.measure(s, body))]
    caption_lines += [(ln, small) for ln in wrap(url, qr_block_w, lambda s: page.measure(s, small))]
    caption_lines += [(ln, small) for t in foot for ln in wrap(t, qr_block_w, lambda s: page.measure(s, small))]
    qr_block_h = qr_mm + sum((ty.body_line if c == body else ty.small_line) for _, c in caption_lines) + 0.5 * gap
    return caption_lines, qr_block_h


def draw_furniture(
    page: Page,
    grid: Grid,
    frame: Box,
    map_block: Box,
    *,
    band: float,
    strip_h: float,
    scale: int,
    north_deg: float,
    words,
    body: float,
    small: float,
    style: PosterStyle,
) -> None:
    """Grid letters around the frame, the scale bar and the north arrow under it."""
    for name_, x in grid.col_centres():
        for yy in (frame[3] + band / 2, frame[1] - band / 2):
            page.text(x, yy, name_, body, color=style.ink, ha="center", va="center", gid="grid")
    for name_, yy in grid.row_centres():
        for x in (frame[0] - band / 2, frame[2] + band / 2):
            page.text(x, yy, name_, body, color=style.ink, ha="center", va="center", gid="grid")
    scale_bar(
        page,
        x0=frame[0],
        y0=map_block[1],
        height=strip_h,
        scale=scale,
        frame_w=frame[2] - frame[0],
        words=words,
        body=body,
        small=small,
        grid=grid,
    )
    north_arrow(
        page,
        cx=frame[2] - strip_h * 0.5,
        cy=map_block[1] + strip_h * 0.5,
        size=strip_h * 0.8,
        angle_deg=north_deg,
        label=words["north"],
        body=body,
    )


def qr_place(panel: Box, *, landscape: bool, qr_block_w: float, qr_block_h: float, gap: float):
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


def qr_caption(ty: PanelType, caption_lines, qr_box: Box, *, qr_x0: float, qr_block_w: float) -> None:
    """The caption lines under the QR code (what to scan for, the URL, data date and attribution)."""
    body = ty.body
    y = qr_box[1] - ty.body_line * 0.8
    for ln, cap in caption_lines:
        ty.page.text(qr_x0 + qr_block_w / 2, y, ln, cap, color=ty.style.ink, ha="center", gid="qr_caption")
        y -= ty.body_line if cap == body else ty.small_line


def scale_bar(
    page: Page,
    *,
    x0: float,
    y0: float,
    height: float,
    scale: int,
    frame_w: float,
    words,
    body: float,
    small: float,
    grid: Grid | None,
) -> None:
    """The scale bar at ``(x0, y0)``, then the scale and the grid's side in words (not without a ``grid``: an inset)."""
    f = page.f
    target_mm = min(0.3 * frame_w, 80.0 * f)
    length_m = round_length(target_mm * scale / 1000.0)
    while length_m * 1000.0 / scale > 0.35 * frame_w:
        length_m = round_length(length_m * 0.6)
    length_mm = length_m * 1000.0 / scale
    bar_h = 1.6 * f
    y_bar = y0 + height * 0.30
    for k in range(4):
        page.add(
            Rectangle(
                (x0 + k * length_mm / 4, y_bar),
                length_mm / 4,
                bar_h,
                facecolor=page.style.ink if k % 2 == 0 else "#ffffff",
                edgecolor=page.style.ink,
                linewidth=0.3 * f * PT_PER_MM,
                zorder=20,
            )
        )
    y_text = y_bar + bar_h + 1.2 * f
    page.text(x0, y_text, "0", small, color=page.style.ink, ha="center", gid="scalebar")
    page.text(x0 + length_mm, y_text, f"{length_m:g} m", small, color=page.style.ink, ha="center", gid="scalebar")
    if grid is None:
        return
    note = f"{words['scale'].format(scale=f'{scale:,}')}   {words['grid_note'].format(side=f'{grid.side_m:g}')}"
    page.text(x0 + length_mm + 8.0 * f, y_bar, note, body, color=page.style.ink, gid="scalebar")


def north_arrow(page: Page, *, cx: float, cy: float, size: float, angle_deg: float, label: str, body: float) -> None:
    a = math.radians(angle_deg)
    ux, uy = -math.sin(a), math.cos(a)  # page direction of north
    px, py = uy, -ux
    half = size / 2
    tip = (cx + ux * half, cy + uy * half)
    tail = (cx - ux * half, cy - uy * half)
    left = (tail[0] + px * half * 0.45, tail[1] + py * half * 0.45)
    right = (tail[0] - px * half * 0.45, tail[1] - py * half * 0.45)
    mid = (cx - ux * half * 0.45, cy - uy * half * 0.45)
    page.add(
        MplPolygon(
            [tip, left, mid],
            closed=True,
            facecolor=page.style.ink,
            edgecolor=page.style.ink,
            linewidth=0.3 * page.f * PT_PER_MM,
            zorder=20,
            gid="north",
        )
    )
    page.add(
        MplPolygon(
            [tip, right, mid],
            closed=True,
            facecolor="#ffffff",
            edgecolor=page.style.ink,
            linewidth=0.3 * page.f * PT_PER_MM,
            zorder=20,
        )
    )
    page.text(
        cx - half * 1.1 - page.measure(label, body), cy - body / 2, label, body, color=page.style.ink, gid="north"
    )


def crop_marks(page: Page, trim: Box, *, offset: float, length: float) -> None:
    x0, y0, x1, y1 = trim
    segs = []
    for x, dx in ((x0, -1), (x1, 1)):
        for y, dy in ((y0, -1), (y1, 1)):
            segs.append(np.array([[x + dx * offset, y], [x + dx * (offset + length), y]]))
            segs.append(np.array([[x, y + dy * offset], [x, y + dy * (offset + length)]]))
    page.add(LineCollection(segs, colors="#000000", linewidths=0.25, zorder=50, gid="crop_marks"))
