"""Print-ready artwork of the planned signs: one PDF per sign, at real size, one page per variant.

A junction face is a panel with one row per way: a drawn arrow (turned as the
way leaves the junction, relative to the rider coming up to the face) and
the buildings that way (``← 1–4号楼``); a building number is the number
alone. The character height is the sign's ``letter_mm`` (the legibility
rule of :mod:`ridermap.analysis.signs`): the font is sized so that a CJK
character's ink is that tall.

Each page is the trim (the panel) plus a bleed of :data:`BLEED_MM` on every
side and crop marks outside it, as print shops ask; the CJK font is embedded
as a subset (:mod:`ridermap.render.doorplate.pdf`). Variants:

- ``standard``: white on road-sign blue, like the doorplates;
- ``contrast``: black on signal yellow, for dim courtyards;
- ``night``: white on black, to be printed on retroreflective sheeting
  (the note says so).

Nothing here touches the disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ridermap.analysis.signs import BuildingSign, SignFace
from ridermap.render.doorplate.pdf import CidFont, PdfBuilder, fmt, load_font
from ridermap.render.fonts import cjk_font_path, drawable

__all__ = ["VARIANTS", "BLEED_MM", "Panel", "face_panel", "number_panel", "sign_pdf", "alphabet", "contrast_ratio"]

BLEED_MM = 3.0
#: crop marks: this long, starting this far outside the bleed
MARK_MM, MARK_GAP_MM = 6.0, 2.0
#: variant -> (background, ink, note)
VARIANTS = {
    "standard": ((0.0, 0.31, 0.63), (1.0, 1.0, 1.0), ""),
    "contrast": ((1.0, 0.84, 0.0), (0.0, 0.0, 0.0), ""),
    "night": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "印刷于反光膜 / print on retroreflective sheeting"),
}
#: a page's margin around the trim: bleed, the gap before the crop marks, the marks and 2 mm
_PAD = BLEED_MM + MARK_GAP_MM + MARK_MM + 2.0
#: the turn each arrow symbol stands for (degrees, positive = right)
_SYMBOL_TURN = {"↑": 0.0, "↗": 45.0, "→": 90.0, "↘": 135.0, "↓": 180.0, "↙": -135.0, "←": -90.0, "↖": -45.0}


@dataclass(frozen=True)
class Row:
    """One line of a panel: an arrow (``turn_deg``, or None for none) and text, baseline at ``y_mm``."""

    turn_deg: float | None
    text: str
    x_mm: float
    y_mm: float
    size_mm: float  # font size (em) in mm
    text_w_mm: float


@dataclass(frozen=True)
class Panel:
    """A sign's trim size and what goes on it (mm, y down from the top left of the trim)."""

    sign_id: str
    width_mm: float
    height_mm: float
    rows: tuple[Row, ...]
    letter_mm: int
    arrow_mm: float
    margin_mm: float

    def fits(self) -> bool:
        """Every row lies inside the trim, clear of the margin."""
        return all(
            r.x_mm + r.text_w_mm <= self.width_mm - self.margin_mm + 1e-6 and r.y_mm <= self.height_mm
            for r in self.rows
        )


def _font() -> CidFont:
    return load_font(str(cjk_font_path()))


def _size_for(letter_mm: float, font: CidFont) -> float:
    """Font size (mm per em) that makes a CJK character's ink ``letter_mm`` tall."""
    bounds = font.ink_bounds_em("楼")
    ink = (bounds[3] - bounds[1]) if bounds else 0.88
    return letter_mm / ink


def face_panel(sign_id: str, face: SignFace, *, lang: str = "zh", font: CidFont | None = None) -> Panel:
    """The panel of a junction face: one row per arrow, left to right as on the face."""
    font = font or _font()
    size = _size_for(face.letter_mm, font)
    cap = face.letter_mm
    margin, arrow, gap, pitch = 0.8 * cap, 1.3 * cap, 0.5 * cap, 1.9 * cap
    rows, widest = [], 0.0
    for k, a in enumerate(face.arrows):
        text = drawable(a.text if lang == "zh" else a.text_en, where=f"sign {sign_id}")
        w = font.width_em(text) * size
        widest = max(widest, w)
        baseline = margin + k * pitch + (arrow + cap) / 2
        rows.append(Row(_SYMBOL_TURN.get(a.symbol, a.turn_deg), text, margin + arrow + gap, baseline, size, w))
    width = margin + arrow + gap + widest + margin
    height = margin + (len(rows) - 1) * pitch + arrow + margin
    return Panel(sign_id, _up(width), _up(height), tuple(rows), face.letter_mm, arrow, margin)


def number_panel(sign: BuildingSign, *, font: CidFont | None = None) -> Panel:
    """The panel of a building number: the number alone, centred."""
    font = font or _font()
    size = _size_for(sign.letter_mm, font)
    cap = sign.letter_mm
    margin = 0.5 * cap
    text = drawable(sign.text, where=f"sign {sign.id}")
    w = font.width_em(text) * size
    width, height = w + 2 * margin, cap + 2 * margin
    return Panel(
        sign.id, _up(width), _up(height), (Row(None, text, margin, margin + cap, size, w),), sign.letter_mm, 0.0, margin
    )


def _up(mm: float) -> float:
    """Rounded up to a whole millimetre (a print shop's size)."""
    return float(math.ceil(mm - 1e-9))


def _rgb(c) -> str:
    return " ".join(fmt(v) for v in c)


def _arrow_path(cx: float, cy: float, size: float, turn_deg: float) -> str:
    """A filled arrow in a ``size`` square centred at (cx, cy), pointing ``turn_deg`` from up (y down)."""
    half, shaft, head = size / 2, size * 0.13, size * 0.42
    pts = [
        (0, -half),
        (head, -half + head),
        (shaft, -half + head),
        (shaft, half),
        (-shaft, half),
        (-shaft, -half + head),
        (-head, -half + head),
    ]
    r = math.radians(turn_deg)
    cos, sin = math.cos(r), math.sin(r)
    turned = [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in pts]
    ops = [f"{fmt(turned[0][0])} {fmt(turned[0][1])} m"] + [f"{fmt(x)} {fmt(y)} l" for x, y in turned[1:]]
    return " ".join(ops) + " h f"


def _crop_marks(x0: float, y0: float, w: float, h: float) -> list[str]:
    off = BLEED_MM + MARK_GAP_MM
    ops = ["q 0 G 0.25 w"]
    for cx, sx in ((x0, -1), (x0 + w, 1)):
        for cy, sy in ((y0, -1), (y0 + h, 1)):
            ops.append(f"{fmt(cx + sx * off)} {fmt(cy)} m {fmt(cx + sx * (off + MARK_MM))} {fmt(cy)} l S")
            ops.append(f"{fmt(cx)} {fmt(cy + sy * off)} m {fmt(cx)} {fmt(cy + sy * (off + MARK_MM))} l S")
    ops.append("Q")
    return ops


def _body(panel: Panel, font: CidFont, builder: PdfBuilder) -> str:
    """What every variant's page of ``panel`` draws alike: the rows (arrows and text), the id and the crop marks.

    Drawn after the page's background and the ``q <ink> rg`` that colours it.
    """
    x0 = y0 = _PAD
    ops = []
    for row in panel.rows:
        if row.turn_deg is not None:
            cy = y0 + row.y_mm - panel.letter_mm / 2
            ops.append(_arrow_path(x0 + panel.margin_mm + panel.arrow_mm / 2, cy, panel.arrow_mm, row.turn_deg))
        builder.use_text(row.text)
        ops.append(
            f"BT /F1 {fmt(row.size_mm)} Tf 1 0 0 -1 {fmt(x0 + row.x_mm)} {fmt(y0 + row.y_mm)} Tm "
            f"{font.encode(row.text)} Tj ET"
        )
    small = max(4.0, panel.letter_mm * 0.12)
    label = f"{panel.sign_id}"
    builder.use_text(label)
    ops.append(
        f"BT /F1 {fmt(small)} Tf 1 0 0 -1 "
        f"{fmt(x0 + panel.width_mm - panel.margin_mm / 2 - font.width_em(label) * small)} "
        f"{fmt(y0 + panel.height_mm - small * 0.4)} Tm {font.encode(label)} Tj ET Q"
    )
    ops += _crop_marks(x0, y0, panel.width_mm, panel.height_mm)
    return "\n".join(ops)


def _page(panel: Panel, variant: str, font: CidFont, builder: PdfBuilder, body: str) -> None:
    """One variant's page: background, ``body`` (:func:`_body`) in the variant's ink, the caption below."""
    background, ink, note = VARIANTS[variant]
    x0 = y0 = _PAD
    ops = [
        f"q {_rgb(background)} rg {fmt(x0 - BLEED_MM)} {fmt(y0 - BLEED_MM)} "
        f"{fmt(panel.width_mm + 2 * BLEED_MM)} {fmt(panel.height_mm + 2 * BLEED_MM)} re f Q"
    ]
    ops.append(f"q {_rgb(ink)} rg")
    ops.append(body)
    caption = (
        f"{panel.sign_id} · {variant} · {fmt(panel.width_mm)} × {fmt(panel.height_mm)} mm{' · ' + note if note else ''}"
    )
    builder.use_text(caption)
    ops.append(
        f"BT 0 g /F1 3.5 Tf 1 0 0 -1 {fmt(x0)} {fmt(y0 + panel.height_mm + BLEED_MM + MARK_GAP_MM + MARK_MM + 1.5)} Tm "
        f"{font.encode(caption)} Tj ET"
    )
    builder.add_page(panel.width_mm + 2 * _PAD, panel.height_mm + 2 * _PAD + 4.0, "\n".join(ops))


#: characters of ids, captions and notes (with every panel's text: one font subset for a compound's signs)
CAPTION_ALPHABET = "".join(
    sorted(
        set(
            "0123456789abcdefghijklmnopqrstuvwxyzJN ·×.-/ "
            + "".join(VARIANTS)
            + "".join(note for _, _, note in VARIANTS.values())
        )
    )
)


def alphabet(panels) -> str:
    """Every character the artwork of ``panels`` uses (pass it to :func:`sign_pdf` so all share one subset)."""
    return "".join(
        sorted(set(CAPTION_ALPHABET).union(*(r.text for p in panels for r in p.rows), *(p.sign_id for p in panels)))
    )


def sign_pdf(panel: Panel, *, title: str = "", variants: tuple[str, ...] = tuple(VARIANTS), chars: str = "") -> bytes:
    """The artwork of one sign: one page per variant, at real size (1 mm = 1 mm).

    ``chars``: characters to embed besides the sign's own (:func:`alphabet` of
    all signs of a compound, so that they share one font subset, made once).
    """
    font = _font()
    builder = PdfBuilder(font, title=title or f"ridermap sign {panel.sign_id}")
    builder.use_text(chars)
    body = _body(panel, font, builder)  # alike on every variant's page: made once
    for variant in variants:
        _page(panel, variant, font, builder, body)
    return builder.to_bytes()


def _luminance(c) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    """WCAG 2 contrast ratio of two RGB colours (0–1)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
