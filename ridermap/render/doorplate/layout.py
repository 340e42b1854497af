"""Where things go on a doorplate: sizes, the QR square and fitted text, in mm (y down).

A plate (domain.md §4, Tianjin standard-address QR plate) is blue with white
bold sans text and a black-on-white QR code::

    +--------------------------------------------------+
    |  锦华苑 7号楼 2单元          +-------------+     |   address (wraps / shrinks)
    |                              |  QR code    |     |
    |  2单元                       |  (quiet     |     |   headline: the large number
    |                              |   zone in)  |     |
    |                              +-------------+     |
    |                                 扫码导航         |   caption
    |  户号 201-1804                 Plus Code ...     |   details | plus code
    +--------------------------------------------------+

Sizes (:data:`PLATE_SIZES`): small 150×90 mm with a 40 mm QR, medium
270×170 / 75 mm, large 570×370 / 120 mm. The QR size is the white square,
which includes the 4-module quiet zone; error correction is M or higher
(raised to Q or H when that costs no extra size, :mod:`ridermap.render.qr`);
never Micro QR.

Text
    Every character of a name is kept. A text block first shrinks, then
    wraps (:mod:`ridermap.render.doorplate.text`), down to a minimum size per
    block; text that still does not fit raises
    :class:`~ridermap.errors.RenderError` naming the plate; it never
    overflows. "Bold" is the regular Noto Sans SC drawn with a white outline
    stroke of :data:`~ridermap.render.doorplate.text.BOLD_EM` (fill +
    stroke), because only the regular weight ships with the project's font
    package.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ridermap.errors import RenderError
from ridermap.render.doorplate.content import Plate
from ridermap.render.doorplate.pdf import CidFont, load_font
from ridermap.render.doorplate.text import BASELINE_EM, BOLD_EM, LINE_EM, fit, width_em
from ridermap.render.fonts import cjk_font_path
from ridermap.render.qr import QUIET_ZONE, QrSymbol, module_runs, qr_symbol


@dataclass(frozen=True)
class PlateSize:
    """Trim size of a plate and the side of its QR square (quiet zone included), in mm."""

    name: str
    width_mm: float
    height_mm: float
    qr_mm: float


#: the size table of domain.md §4
PLATE_SIZES: dict[str, PlateSize] = {
    "small": PlateSize("small", 150.0, 90.0, 40.0),
    "medium": PlateSize("medium", 270.0, 170.0, 75.0),
    "large": PlateSize("large", 570.0, 370.0, 120.0),
}


@dataclass(frozen=True)
class TextRun:
    """One line of text: left end of its baseline and its size, in plate mm (y down)."""

    role: str
    text: str
    x_mm: float
    baseline_mm: float
    size_mm: float


@dataclass(frozen=True, eq=False)
class PlateLayout:
    """Everything placed on one plate, in mm from the plate's top-left corner (y down).

    Attributes
    ----------
    qr_x_mm, qr_y_mm
        Top-left corner of the white QR square (``size.qr_mm`` wide, quiet zone included).
    module_mm
        Side of one QR module.
    runs
        Dark modules as horizontal runs, one ``(row, column, length)`` per row
        of an ``int32`` array, in modules from the symbol's top-left corner.
    texts
        Every line of text.
    text_box_mm
        ``(x0, y0, x1, y1)`` of the text column left of the QR code.
    """

    plate: Plate
    size: PlateSize
    qr_x_mm: float
    qr_y_mm: float
    module_mm: float
    qr_modules: int
    qr_version: int
    qr_error: str
    runs: np.ndarray
    texts: tuple[TextRun, ...]
    frame_inset_mm: float
    frame_width_mm: float
    text_box_mm: tuple[float, float, float, float]
    #: ``(x0, y0, x1, y1)`` of the "草图 / DRAFT" band, or ``None``
    band_mm: tuple[float, float, float, float] | None = None

    @property
    def qr_box_mm(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` of the white QR square (quiet zone included)."""
        return (self.qr_x_mm, self.qr_y_mm, self.qr_x_mm + self.size.qr_mm, self.qr_y_mm + self.size.qr_mm)


def _block(
    font: CidFont,
    text: str,
    *,
    role: str,
    where: str,
    x0: float,
    x1: float,
    top: float,
    height: float,
    max_size: float,
    min_size: float,
    max_lines: int,
    align: str = "left",
) -> list[TextRun]:
    chosen = fit(font, text, round(x1 - x0, 4), round(height, 4), round(max_size, 4), round(min_size, 4), max_lines)
    if chosen is None:
        raise RenderError(
            f"doorplate {where}: {role} text {text!r} does not fit {x1 - x0:.0f}×{height:.0f} mm "
            f"even at {min_size:.1f} mm in {max_lines} line(s); shorten it"
        )
    runs = []
    size = chosen.size_mm
    for i, line in enumerate(chosen.lines):
        if align == "center":
            x = (x0 + x1) / 2 - width_em(font, line) * size / 2
        else:
            x = x0 + BOLD_EM / 2 * size
        runs.append(TextRun(role, line, x, top + (i * LINE_EM + BASELINE_EM) * size, size))
    return runs


def plate_size(size: PlateSize | str) -> PlateSize:
    """``size`` itself, or the :data:`PLATE_SIZES` entry of that name.

    Raises
    ------
    RenderError
        Unknown size name.
    """
    if isinstance(size, PlateSize):
        return size
    if size not in PLATE_SIZES:
        raise RenderError(f"unknown plate size {size!r} (known: {', '.join(PLATE_SIZES)})")
    return PLATE_SIZES[size]


def _qr(plate: Plate, size: PlateSize) -> tuple[QrSymbol, float]:
    """The plate's QR symbol and the side of one module in mm (quiet zone inside ``size.qr_mm``)."""
    qr = qr_symbol(plate.payload, ecc="M")
    module = size.qr_mm / (qr.size + 2 * QUIET_ZONE)
    if module < 0.5:
        raise RenderError(
            f"doorplate {plate.plate_id}: payload {plate.payload!r} needs QR version {qr.version}; "
            f"modules would be {module:.2f} mm on a {size.qr_mm:.0f} mm code: shorten base_url"
        )
    return qr, module


def _draft_band(font: CidFont, plate: Plate, size: PlateSize) -> tuple[tuple | None, list[TextRun], float]:
    """The "草图 / DRAFT" band inside the frame line (box, text) and the top of what follows it."""
    W, H = size.width_mm, size.height_mm
    if not plate.draft:
        return None, [], 0.07 * H
    inset = 0.03 * H + 0.007 * H
    band = (inset, inset, W - inset, inset + 0.08 * H)
    runs = _block(
        font,
        plate.draft,
        role="draft",
        where=plate.plate_id,
        x0=band[0] + 0.02 * H,
        x1=band[2] - 0.02 * H,
        top=band[1] + 0.012 * H,
        height=band[3] - band[1] - 0.024 * H,
        max_size=0.05 * H,
        min_size=0.025 * H,
        max_lines=1,
        align="center",
    )
    return band, runs, band[3] + 0.025 * H


def _under_qr(font: CidFont, plate: Plate, size: PlateSize, *, qr_x: float, qr_y: float) -> list[TextRun]:
    """Under the QR square: the caption, then the plus code, centred."""
    W, H = size.width_mm, size.height_mm
    m, gap = 0.07 * H, 0.05 * H
    bottom = H - m
    y = qr_y + size.qr_mm + 0.03 * H
    qx0, qx1 = qr_x - 0.3 * gap, W - m + 0.3 * gap
    runs: list[TextRun] = []
    if plate.caption:
        runs = _block(
            font,
            plate.caption,
            role="caption",
            where=plate.plate_id,
            x0=qx0,
            x1=qx1,
            top=y,
            height=min((bottom - y) * 0.55, 0.1 * H),
            max_size=0.07 * H,
            min_size=0.025 * H,
            max_lines=2,
            align="center",
        )
        y += len(runs) * LINE_EM * runs[0].size_mm
    if plate.plus_code:
        runs += _block(
            font,
            plate.plus_code,
            role="plus_code",
            where=plate.plate_id,
            x0=qx0,
            x1=qx1,
            top=y,
            height=bottom - y,
            max_size=0.045 * H,
            min_size=0.025 * H,
            max_lines=2,
            align="center",
        )
    return runs


def _left_column(font: CidFont, plate: Plate, H: float, box: tuple[float, float, float, float]) -> list[TextRun]:
    """Left of the QR code: address (top), details (bottom), headline (between, centred vertically)."""
    x0, top, x1, bottom = box
    where = plate.plate_id
    address = (
        _block(
            font,
            plate.address,
            role="address",
            where=where,
            x0=x0,
            x1=x1,
            top=top,
            height=0.3 * H,
            max_size=0.1 * H,
            min_size=0.035 * H,
            max_lines=3,
        )
        if plate.address
        else []
    )
    address_bottom = top + sum(LINE_EM * r.size_mm for r in address)
    details: list[TextRun] = []
    y_details = bottom
    for line in reversed(plate.details):
        block = _block(
            font,
            line,
            role="detail",
            where=where,
            x0=x0,
            x1=x1,
            top=0.0,
            height=0.14 * H,
            max_size=0.06 * H,
            min_size=0.03 * H,
            max_lines=2,
        )
        y_details -= len(block) * LINE_EM * block[0].size_mm
        details = [dataclasses.replace(r, baseline_mm=r.baseline_mm + y_details) for r in block] + details
    head_top = address_bottom + (0.04 * H if address else 0)
    head_bottom = y_details - (0.03 * H if details else 0)
    headline: list[TextRun] = []
    if plate.headline:
        headline = _block(
            font,
            plate.headline,
            role="headline",
            where=where,
            x0=x0,
            x1=x1,
            top=head_top,
            height=head_bottom - head_top,
            max_size=0.3 * H,
            min_size=0.06 * H,
            max_lines=2,
        )
        shift = max(0.0, (head_bottom - head_top - sum(LINE_EM * r.size_mm for r in headline)) / 2)
        headline = [dataclasses.replace(r, baseline_mm=r.baseline_mm + shift) for r in headline]
    return address + headline + details


def layout_plate(plate: Plate, *, size: PlateSize | str = "small", font: CidFont | None = None) -> PlateLayout:
    """Place the QR code and the text of ``plate`` on a plate of ``size``.

    The QR square sits top right, a margin of 7 % of the plate height from
    the edges; under it the caption and the plus code. Left of it, from the
    top: the address (up to 3 lines), the headline (as large as fits, up to
    30 % of the plate height, 2 lines), the details at the bottom.

    Parameters
    ----------
    plate
        What the plate says.
    size
        ``small``, ``medium``, ``large`` or a :class:`PlateSize`.
    font
        Default: :func:`default_font`.

    Raises
    ------
    RenderError
        When a text does not fit even at its minimum size, or the QR modules
        would be smaller than 0.5 mm (payload too long).
    """
    size = plate_size(size)
    font = font or default_font()
    W, H = size.width_mm, size.height_mm
    m, gap = 0.07 * H, 0.05 * H
    qr, module = _qr(plate, size)
    band, band_runs, top = _draft_band(font, plate, size)
    qr_x, qr_y = W - m - size.qr_mm, top
    text_box = (m, top, qr_x - gap, H - m)
    texts = _left_column(font, plate, H, text_box) + _under_qr(font, plate, size, qr_x=qr_x, qr_y=qr_y) + band_runs
    return PlateLayout(
        plate=plate,
        size=size,
        qr_x_mm=qr_x,
        qr_y_mm=qr_y,
        module_mm=module,
        qr_modules=qr.size,
        qr_version=qr.version,
        qr_error=qr.error,
        runs=module_runs(qr.modules),
        texts=tuple(texts),
        frame_inset_mm=0.03 * H,
        frame_width_mm=0.007 * H,
        text_box_mm=text_box,
        band_mm=band,
    )


def ink_box(run: TextRun, *, font: CidFont | None = None) -> tuple[float, float, float, float] | None:
    """Where the ink of ``run`` lands, ``(x0, y0, x1, y1)`` in plate mm, bold outline included.

    Measured from the glyph outlines (not the advance widths), so it is what
    a printer puts on the plate.
    """
    font = font or default_font()
    pen = 0.0
    boxes = []
    for ch in run.text:
        b = font.ink_bounds_em(ch)
        if b is not None:
            boxes.append((pen + b[0], b[1], pen + b[2], b[3]))
        pen += font.advance_em(ch)
    if not boxes:
        return None
    half = BOLD_EM / 2
    s = run.size_mm
    return (
        run.x_mm + (min(b[0] for b in boxes) - half) * s,
        run.baseline_mm - (max(b[3] for b in boxes) + half) * s,
        run.x_mm + (max(b[2] for b in boxes) + half) * s,
        run.baseline_mm - (min(b[1] for b in boxes) - half) * s,
    )


@lru_cache(maxsize=1)
def default_font() -> CidFont:
    """The project's CJK font (:func:`ridermap.render.fonts.cjk_font_path`) as a :class:`CidFont`."""
    return load_font(str(cjk_font_path()))
