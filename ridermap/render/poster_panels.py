"""Poster part: the side panel (legend, gates, nearby facilities, index) and how it flows.

A panel is a list of :class:`Row` objects (heading, legend line, gate line,
index line...) that :func:`flow` lays out top-down in columns;
:func:`split_page` shares the content box between the map and the panel.
The index lists every numbered building and unit with its grid squares.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
from matplotlib.patches import Rectangle

from ridermap.model.schema import FACILITY_LABELS, RIDER_ACCESS_LABELS
from ridermap.render.honest import known_access
from ridermap.render.poster_content import access_parts, gate_key, natural_key
from ridermap.render.poster_grid import Grid, compact_squares
from ridermap.render.poster_labels import LabelFitError
from ridermap.render.poster_page import PT_PER_MM, Box, Page, panel_request, wrap
from ridermap.render.poster_style import PosterStyle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexEntry:
    """A building or unit of the index and the grid squares it is in."""

    kind: str  # building, unit
    key: str
    text: str
    squares: tuple[str, ...]
    number: str = ""


@dataclass(frozen=True)
class Row:
    """A line of the panel: kind (head, legend, gate, index, index_cont), text, height, symbol key."""

    kind: str
    text: str
    height: float
    key: str | None = None
    keep_with_next: bool = False

    def __iter__(self):
        return iter((self.kind, self.text, self.height, self.key, self.keep_with_next))


@dataclass(frozen=True)
class PanelType:
    """Sizes and line heights of the side panel, and the words it speaks."""

    page: Page
    style: PosterStyle
    words: Mapping[str, Any]
    lang: str
    body: float
    small: float
    heading: float
    body_line: float
    head_line: float
    small_line: float
    sym_w: float
    col_w: float


def columns(rows: list[Row], max_h: float, n_cols: int) -> list[tuple[int, float]] | None:
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
        chain = rows[i : j + 1]
        need = sum(r.height for r in chain)
        if need > max_h + 1e-6:  # a chain taller than a column: may break
            chain, j = rows[i : i + 1], i
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


def fits(rows, n_cols: int, max_h: float) -> bool:
    """True if ``rows`` fit in ``n_cols`` columns of height ``max_h``."""
    return columns(rows, max_h, n_cols) is not None


def flow(
    page: Page, rows, box: Box, *, col_w: float, gap: float, n_cols: int, sym_w: float, style: PosterStyle, sizes
) -> bool:
    """Draw rows top-down in columns inside ``box``; False if they do not fit."""
    x0, y0, x1, y1 = box
    where = columns(rows, y1 - y0, n_cols)
    if where is None or (x0 + (max(c for c, _ in where) + 1) * (col_w + gap) - gap > x1 + 1e-6 and n_cols > 1):
        return False
    for (col, offset), (kind, text, h, key, _) in zip(where, rows):
        x = x0 + col * (col_w + gap)
        y = y1 - offset
        cap = sizes.heading_mm if kind == "head" else sizes.body_mm
        base = y - h + (h - cap) / 2 + (0.15 * cap if kind == "head" else 0.0)
        tx = x
        if key is not None:
            legend_symbol(page, key, x, y - h, sym_w * 0.85, h, style)
        if key is not None or kind in ("legend", "gate"):
            tx = x + sym_w
        if kind == "index_cont":
            tx = x + 4.0 * page.f
        page.text(tx, base, text, cap, color=style.ink, gid=f"panel:{kind}")
    return True


LEGEND_ORDER = (
    "here",
    "sign",
    "gate:ride",
    "gate:walk",
    "gate:none",
    "gate:unknown",
    "unconfirmed",
    "compound",
    "building",
    "unit_door",
    "rideable",
    "walk_only",
    "street",
    "street_footway",
)


def drawn_keys(layers: dict[str, gpd.GeoDataFrame], cid: str, gate_id: str | None) -> set[str]:
    keys = {"compound"}
    if len(layers["buildings"]):
        keys.add("building")
    if len(layers["units"]):
        keys.add("unit_door")
    gates = layers["gates"]
    keys |= {
        f"gate:{gate_key({'inferred': i, 'rider_access': a})}" for i, a in zip(gates["inferred"], gates["rider_access"])
    }
    keys |= {f"facility:{k}" for k in layers["facilities"]["kind"]}
    paths = layers["paths"]
    inside = (paths["community_id"] == cid).to_numpy()
    ride = paths["rideable"].to_numpy(dtype=bool)
    for mask, key in (
        (~inside & ride, "street"),
        (~inside & ~ride, "street_footway"),
        (inside & ride, "rideable"),
        (inside & ~ride, "walk_only"),
    ):
        if mask.any():
            keys.add(key)
    if gate_id:
        keys.add("here")
    return keys


def legend_rows(keys: set[str], words: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    rows = []
    for key in LEGEND_ORDER:
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


def legend_symbol(page: Page, key: str, x: float, y: float, w: float, h: float, style: PosterStyle) -> None:
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
        page.add(
            Rectangle(
                (x + 0.1 * w, y + 0.2 * h),
                0.8 * w,
                0.6 * h,
                facecolor=tb.face,
                edgecolor=tb.edge,
                linewidth=tb.edge_mm * f * PT_PER_MM,
                linestyle=(0, (2, 1.5)),
                zorder=21,
            )
        )
        page.text(cx, cy, "?", 0.45 * h, color=tb.ink, ha="center", va="center", zorder=21.5, gid="legend:unconfirmed")
    elif key.startswith("facility:"):
        page.marker(cx, cy, style.facilities[key.split(":", 1)[1]], zorder=21, scale=0.8)
    elif key == "unit_door":
        page.marker(cx, cy, style.unit_door, zorder=21)
    elif key == "sign":
        page.marker(cx, cy, style.sign_post, zorder=21, scale=0.8)
    elif key in ("compound", "building"):
        a = style.compound if key == "compound" else style.building
        page.add(
            Rectangle(
                (x + 0.1 * w, y + 0.15 * h),
                0.8 * w,
                0.7 * h,
                facecolor=a.face,
                edgecolor=a.edge,
                linewidth=a.edge_mm * f * PT_PER_MM,
                zorder=21,
            )
        )
    else:
        page.lines([np.array([[x + 0.05 * w, cy], [x + 0.95 * w, cy]])], getattr(style, key), zorder=21)


def legend_block(ty: PanelType, legend_rows: list[tuple[str, str]]) -> list[Row]:
    return [Row("head", ty.words["legend"], ty.head_line, None, True)] + [
        Row("legend", t, ty.body_line, k) for k, t in legend_rows
    ]


def index_entries(
    layers, grid: Grid, b_mm: gpd.GeoSeries, u_mm: gpd.GeoSeries, words: Mapping[str, Any]
) -> list[IndexEntry]:
    """Numbered buildings (natural order), each followed by its numbered units, with their squares."""
    out: list[IndexEntry] = []
    buildings, units = layers["buildings"], layers["units"]
    b_number = [str(v) for v in buildings["number"]]
    b_label = [str(v) for v in buildings["label"]]
    b_id = [str(v) for v in buildings["id"]]
    b_geom = list(b_mm)
    u_points = dict(zip(u_mm.index, u_mm))
    by_building: dict[str, list[tuple[str, str, str, Any]]] = {}  # plain lists: no pandas access per row
    for j, bid, uid, unum, ulabel in zip(
        units.index, units["building_id"], units["id"], units["number"], units["label"], strict=True
    ):
        by_building.setdefault(str(bid), []).append((str(unum), str(uid), str(ulabel), u_points.get(j)))
    border = sorted(range(len(buildings)), key=lambda i: (natural_key(b_number[i] or "~"), b_label[i]))
    for i in border:
        number, label = b_number[i], b_label[i]
        if not number and not label:
            continue
        geom = b_geom[i]
        squares = tuple(grid.squares_of(geom)) if geom is not None else ()
        text = label or words["building_fmt"].format(n=number)
        out.append(IndexEntry("building", b_id[i], text, squares))
        for unum, uid, ulabel, p in sorted(by_building.get(b_id[i], []), key=lambda u: natural_key(u[0])):
            if not unum:
                continue
            sq = grid.square_of(p.x, p.y) if p is not None and not p.is_empty else None
            out.append(
                IndexEntry("unit", uid, ulabel or words["unit_fmt"].format(n=unum), (sq,) if sq else (), number=unum)
            )
    return out


def index_items(entries: list[IndexEntry], words: Mapping[str, Any]) -> list[list[str]]:
    """One group per building: its label and squares, then its units grouped by square.

    ``7号楼 B3-C3``, ``1,2单元 B3``, ``3单元 C3``.
    """
    groups: list[list[str]] = []
    units: dict[str, list[str]] = {}

    def close():
        for sq, numbers in units.items():
            runs = _runs(numbers)
            for k in range(0, len(runs), 4):
                chunk = runs[k : k + 4]
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
    start: str | None = None
    prev: str | None = None
    for n in [*numbers, None]:
        if n is not None and n.isdigit() and prev is not None and int(n) == int(prev) + 1:
            prev = n
            continue
        if start is not None and prev is not None:
            out.append(
                start if start == prev else (f"{start},{prev}" if int(prev) == int(start) + 1 else f"{start}-{prev}")
            )
        if n is not None and n.isdigit():
            start = prev = n
        else:
            if n is not None:
                out.append(n)
            start = prev = None
    return out


def pack(items: list[str], page: Page, cap: float, width: float, indent: float) -> list[str]:
    """All items on one line if they fit; else the first alone, the rest packed on indented lines."""
    sep = "   "
    if page.measure(sep.join(items), cap) <= width:
        return [sep.join(items)]
    measure = lambda t: page.measure(t, cap)  # noqa: E731
    items = [
        part
        for item in items
        for part in (wrap(item, width - indent, measure) if measure(item) > width - indent else [item])
    ]
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


def index_rows(entries, page: Page, cap: float, head_cap: float, col_w: float, words) -> list:
    line = page.line_mm(cap, 1.38)
    head = page.line_mm(head_cap, 1.7)
    rows = [Row("head", words["index"], head, None, True)]
    groups = index_items(entries, words)
    if not groups:  # say so rather than leave an empty heading
        for ln in wrap(words["no_index"], col_w, lambda t: page.measure(t, cap)):
            rows.append(Row("note", ln, line, None))
    for group in groups:
        lines = pack(group, page, cap, col_w, 4.0 * page.f)
        for k, ln in enumerate(lines):
            rows.append(Row("index" if k == 0 else "index_cont", ln, line, None, k < len(lines) - 1))
    return rows


def index_rows_estimate(layers, page: Page, cap: float, head_cap: float, col_w: float, words) -> list:
    """Index rows before the grid is known: the same texts with a typical square name."""
    buildings, units = layers["buildings"], layers["units"]
    numbers: dict[str, list[str]] = {}
    for bid, n in zip(units["building_id"], units["number"], strict=True):
        if str(n):
            numbers.setdefault(str(bid), []).append(str(n))
    entries = []
    for bid, number, label in zip(buildings["id"], buildings["number"], buildings["label"], strict=True):
        number, label, bid = str(number), str(label), str(bid)
        if not number and not label:
            continue
        entries.append(IndexEntry("building", bid, label or words["building_fmt"].format(n=number), ("B2", "C2")))
        mine = numbers.get(bid, [])
        for k, n in enumerate(mine):  # assume the units fall in two squares
            entries.append(IndexEntry("unit", "", "", ("C12" if k < len(mine) / 2 else "D12",), number=n))
    return index_rows(entries, page, cap, head_cap, col_w, words)


def facility_bearings(fac: gpd.GeoDataFrame, origin, theta: float, centroid: tuple[float, float]):
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


def nearby_rows(
    ty: PanelType, mask: np.ndarray, fac: gpd.GeoDataFrame, fac_dist: np.ndarray, fac_dir: list[str]
) -> list[Row]:
    """Facilities around but off the map: nearest two of each kind, with distance and direction."""
    picked: list[int] = []
    per_kind: dict[str, int] = {}
    kinds, names = [str(k) for k in fac["kind"]], [str(n) for n in fac["name"]]
    for j in np.argsort(fac_dist, kind="stable"):
        kind = kinds[j]
        if not mask[j] or kind not in ty.style.facilities or per_kind.get(kind, 0) >= 2 or len(picked) >= 8:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        picked.append(j)
    if not picked:
        return []
    out = [Row("head", ty.words["nearby"], ty.head_line, None, True)]
    for j in picked:
        kind = kinds[j]
        name_ = names[j] or FACILITY_LABELS.get(kind, {}).get(ty.lang, kind)
        text = f"{name_} {fac_dir[j]} {round(fac_dist[j] / 10) * 10:.0f}m"
        for k, ln in enumerate(wrap(text, ty.col_w - ty.sym_w, lambda t: ty.page.measure(t, ty.body))):
            out.append(Row("gate", ln, ty.body_line, f"facility:{kind}" if k == 0 else None))
    return out


def gate_rows(ty: PanelType, gates: gpd.GeoDataFrame, gate_shown: dict) -> list[Row]:
    """The gates list, wrapped to the column width."""
    page, body, words = ty.page, ty.body, ty.words
    gate_rows: list[Row] = [Row("head", words["gates"], ty.head_line, None, True)]
    if not len(gates):
        for ln in wrap(words["no_gate"], ty.col_w, lambda s: page.measure(s, body)):
            gate_rows.append(Row("note", ln, ty.body_line, None))
    for _, row in gates.sort_values("name").iterrows():
        key = f"gate:{gate_key(row)}"
        main, detail = access_parts(row, ty.lang, words)
        # "南侧出入口：待核实" rather than "南侧出入口（待核实）：待核实"
        shown = gate_shown[str(row["id"])][0]
        if known_access(row["rider_access"]) == "unknown" and str(row["name"]).strip():
            shown = str(row["name"]).strip()
        lines = wrap(f"{shown}{words['sep']}{main}", ty.col_w - ty.sym_w, lambda s: page.measure(s, body))
        lines += wrap(detail, ty.col_w - ty.sym_w, lambda s: page.measure(s, body)) if detail else []
        for k, ln in enumerate(lines):
            gate_rows.append(Row("gate", ln, ty.body_line, key if k == 0 else None, k < len(lines) - 1))
    return gate_rows


def split_page(
    rows: list[Row],
    n_index: int,
    *,
    content: Box,
    top: float,
    landscape: bool,
    col_w: float,
    gap: float,
    qr_block_w: float,
    qr_block_h: float,
    head_line: float,
):
    """Share the content box between the map and the panel: (panel, map_block, panel columns)."""
    cx0_, cy0_, cx1_, _ = content
    content_w, content_h = cx1_ - cx0_, top - cy0_
    if landscape:
        # panel on the right: k columns; QR block at its bottom
        for k in range(1, 5):
            panel_w = k * col_w + (k - 1) * gap
            avail_h = content_h - qr_block_h - gap
            if fits(rows, k, avail_h):
                break
        else:
            raise LabelFitError(
                f"legend, gates and index do not fit beside the map ({n_index} index rows)", panel_request()
            )
        panel = (cx1_ - panel_w, cy0_, cx1_, top)
        map_block = (cx0_, cy0_, cx1_ - panel_w - gap, top)
        return panel, map_block, k
    n_cols = max(1, int((content_w - qr_block_w) // (col_w + gap)))
    log.debug(
        "panel: %d columns of %.1f mm, %d rows, content %.0fx%.0f mm", n_cols, col_w, len(rows), content_w, content_h
    )
    lo, hi = qr_block_h, content_h * 0.55
    if not fits(rows, n_cols, hi):
        raise LabelFitError(f"legend, gates and index do not fit under the map ({n_index} index rows)", panel_request())
    for _ in range(30):
        mid = (lo + hi) / 2
        if fits(rows, n_cols, mid):
            hi = mid
        else:
            lo = mid
    panel_h = max(hi, qr_block_h) + head_line * 0.25
    panel = (cx0_, cy0_, cx1_, cy0_ + panel_h)
    map_block = (cx0_, cy0_ + panel_h + gap, cx1_, top)
    return panel, map_block, n_cols


def callout_rows(ty: PanelType, callouts: list[tuple[str, str, str]]) -> list[Row]:
    """The list of numbered callouts: heading, then ``① 30号楼 C4`` per callout (wrapped, kept together).

    ``callouts`` are ``(number, full label, grid square)``.
    """
    if not callouts:
        return []
    listed = any(number == "·" for number, _, _ in callouts)
    rows = [Row("head", ty.words["callouts_listed" if listed else "callouts"], ty.head_line, None, True)]
    for number, full, square in callouts:
        text = f"{number} {full} {square}".strip()
        lines = wrap(text, ty.col_w, lambda t: ty.page.measure(t, ty.body))
        for k, ln in enumerate(lines):
            rows.append(Row("callout" if k == 0 else "index_cont", ln, ty.body_line, None, k < len(lines) - 1))
    return rows
