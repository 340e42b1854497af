"""Imposition: several plates per print sheet, with cut marks and each plate's id in the margin.

:func:`sheets_pdf` imposes plates on A4 / A3 portrait (turned 90° when more
fit: 3 small plates per A4, 6 per A3, 2 medium per A3) with 6 mm gutters
holding the cut marks and each plate's id in small type; large plates
(570×370 mm) go one per page (``fit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ridermap.errors import RenderError
from ridermap.render.doorplate.content import Plate
from ridermap.render.doorplate.draw import plate_ops
from ridermap.render.doorplate.layout import PlateLayout, PlateSize, default_font, layout_plate, plate_size
from ridermap.render.doorplate.pdf import CidFont, PdfBuilder, fmt

#: paper sizes (portrait) for imposed sheets; ``fit`` makes one page per plate with marks
SHEET_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
SHEETS = ("A4", "A3", "fit")
#: default sheet per plate size (the smallest paper that holds it)
DEFAULT_SHEET = {"small": "A4", "medium": "A3", "large": "fit"}
#: sheet margin and gutter between plates (cut marks and plate ids live there), mm
SHEET_MARGIN_MM = 6.0
GUTTER_MM = 6.0
CUT_MARK_OFFSET_MM = 1.5
CUT_MARK_LENGTH_MM = 3.5
ID_TEXT_MM = 2.2


@dataclass(frozen=True)
class Placement:
    """Where plate ``index`` sits on the imposed sheets (mm from the page's top-left, y down).

    ``width_mm`` × ``height_mm`` is the box the plate occupies on the page
    (swapped from the plate's size when ``rotated``: turned 90° clockwise).
    ``page`` is 0-based.
    """

    index: int
    page: int
    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    rotated: bool

    def to_page(self, u: float, v: float) -> tuple[float, float]:
        """Page mm of the point ``(u, v)`` in plate mm (both y down)."""
        if self.rotated:  # 90° clockwise: plate (u, v) -> page (x + w - v, y + u)
            return self.x_mm + self.width_mm - v, self.y_mm + u
        return self.x_mm + u, self.y_mm + v

    def box_on_page(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` on the page of a box in plate mm (e.g. :attr:`PlateLayout.qr_box_mm`)."""
        (ax, ay), (bx, by) = self.to_page(box[0], box[1]), self.to_page(box[2], box[3])
        return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)

    def cm(self) -> str:
        """The PDF ``cm`` operator that draws a plate (plate mm, y down) at this place."""
        if self.rotated:
            return f"0 1 -1 0 {fmt(self.x_mm + self.width_mm)} {fmt(self.y_mm)} cm"
        return f"1 0 0 1 {fmt(self.x_mm)} {fmt(self.y_mm)} cm"


@dataclass(frozen=True)
class SheetGrid:
    """How plates tile one sheet: ``cols`` × ``rows`` boxes from ``(x0_mm, y0_mm)``."""

    sheet: str
    page_width_mm: float
    page_height_mm: float
    cols: int
    rows: int
    rotated: bool
    x0_mm: float
    y0_mm: float

    @property
    def per_page(self) -> int:
        return self.cols * self.rows


def sheet_grid(size: PlateSize | str, *, sheet: str) -> SheetGrid:
    """How plates of ``size`` tile a ``sheet`` (A4 / A3 portrait, or ``fit``: one plate per page).

    Plates keep :data:`GUTTER_MM` between them and :data:`SHEET_MARGIN_MM`
    from the paper edge; they are turned 90° when more fit that way.

    Raises
    ------
    RenderError
        The plate does not fit the paper.
    """
    size = plate_size(size)
    w, h = size.width_mm, size.height_mm
    if sheet == "fit":
        pad = SHEET_MARGIN_MM + GUTTER_MM
        return SheetGrid("fit", w + 2 * pad, h + 2 * pad, 1, 1, False, pad, pad)
    if sheet not in SHEET_SIZES_MM:
        raise RenderError(f"unknown sheet {sheet!r} (known: {', '.join(SHEETS)})")
    pw, ph = SHEET_SIZES_MM[sheet]
    best = None
    for rotated, (bw, bh) in ((False, (w, h)), (True, (h, w))):
        cols = int((pw - 2 * SHEET_MARGIN_MM + GUTTER_MM) // (bw + GUTTER_MM))
        rows = int((ph - 2 * SHEET_MARGIN_MM + GUTTER_MM) // (bh + GUTTER_MM))
        if cols * rows and (best is None or cols * rows > best[0] * best[1]):
            best = (cols, rows, rotated, bw, bh)
    if best is None:
        raise RenderError(
            f"{size.name} plates ({w:.0f}×{h:.0f} mm) do not fit on {sheet} ({pw:.0f}×{ph:.0f} mm) with "
            f"{SHEET_MARGIN_MM:.0f} mm margins; use --sheet fit (one plate per page) or a smaller --size"
        )
    cols, rows, rotated, bw, bh = best
    x0 = (pw - (cols * bw + (cols - 1) * GUTTER_MM)) / 2
    y0 = (ph - (rows * bh + (rows - 1) * GUTTER_MM)) / 2
    return SheetGrid(sheet, pw, ph, cols, rows, rotated, x0, y0)


def impose(count: int, *, size: PlateSize | str = "small", sheet: str = "A4") -> tuple[SheetGrid, list[Placement]]:
    """Placements of ``count`` plates, filling each page row by row."""
    size = plate_size(size)
    grid = sheet_grid(size, sheet=sheet)
    bw, bh = (size.height_mm, size.width_mm) if grid.rotated else (size.width_mm, size.height_mm)
    out = []
    for index in range(count):
        page, slot = divmod(index, grid.per_page)
        row, col = divmod(slot, grid.cols)
        out.append(
            Placement(
                index,
                page,
                grid.x0_mm + col * (bw + GUTTER_MM),
                grid.y0_mm + row * (bh + GUTTER_MM),
                bw,
                bh,
                grid.rotated,
            )
        )
    return grid, out


def _cut_marks(p: Placement) -> str:
    """Two short lines at each corner, on the extension of the trim edges, off the plate."""
    o, n = CUT_MARK_OFFSET_MM, CUT_MARK_LENGTH_MM
    x0, y0, x1, y1 = p.x_mm, p.y_mm, p.x_mm + p.width_mm, p.y_mm + p.height_mm
    segs = []
    for x, sx in ((x0, -1), (x1, 1)):
        for y, sy in ((y0, -1), (y1, 1)):
            segs.append(f"{fmt(x + sx * o)} {fmt(y)} m {fmt(x + sx * (o + n))} {fmt(y)} l")
            segs.append(f"{fmt(x)} {fmt(y + sy * o)} m {fmt(x)} {fmt(y + sy * (o + n))} l")
    return " ".join(segs) + " S"


def sheets_pdf(
    plates: Sequence[Plate],
    *,
    size: PlateSize | str = "small",
    sheet: str | None = None,
    title: str = "",
    layouts: Sequence[PlateLayout] | None = None,
    font: CidFont | None = None,
) -> tuple[bytes, SheetGrid, list[Placement]]:
    """Impose ``plates`` on print sheets with cut marks and each plate id in the margin.

    Parameters
    ----------
    plates
        From :func:`plates_for_community` (any number of compounds).
    size
        ``small``, ``medium`` or ``large`` (:data:`PLATE_SIZES`).
    sheet
        ``A4``, ``A3`` or ``fit``; ``None``: :data:`DEFAULT_SHEET` for the size.
    title
        Document title.
    layouts
        The plates already laid out at ``size`` (saves the work when the
        caller also writes one file per plate).

    Returns
    -------
    pdf : bytes
    grid : SheetGrid
    placements : list of Placement
        One per plate, in the order of ``plates``.
    """
    font = font or default_font()
    size = plate_size(size)
    sheet = sheet or DEFAULT_SHEET[size.name]
    if not plates:
        raise RenderError("no doorplates to impose (no units, buildings or gates selected)")
    if layouts is not None and (len(layouts) != len(plates) or any(lay.size != size for lay in layouts)):
        raise RenderError("layouts must be one per plate, all of the sheets' plate size")
    grid, placements = impose(len(plates), size=size, sheet=sheet)
    doc = PdfBuilder(font, title=title or f"ridermap doorplates {size.name} {sheet}")
    page_ops: list[list[str]] = [[] for _ in range(placements[-1].page + 1)]
    id_x = CUT_MARK_OFFSET_MM + CUT_MARK_LENGTH_MM
    id_y = 1.0 + 0.9 * ID_TEXT_MM
    for k, (plate, p) in enumerate(zip(plates, placements)):
        layout = layouts[k] if layouts is not None else layout_plate(plate, size=size, font=font)
        for run in layout.texts:
            doc.use_text(run.text)
        doc.use_text(plate.plate_id)
        ops = page_ops[p.page]
        ops.append(f"q {p.cm()}\n{plate_ops(layout, font=font)}Q")
        ops.append(f"0 G 0.1 w {_cut_marks(p)}")
        ops.append(
            f"BT 0 g 0 Tr /F1 {fmt(ID_TEXT_MM)} Tf 1 0 0 -1 {fmt(p.x_mm + id_x)} "
            f"{fmt(p.y_mm + p.height_mm + id_y)} Tm {font.encode(plate.plate_id)} Tj ET"
        )
    for ops in page_ops:
        doc.add_page(grid.page_width_mm, grid.page_height_mm, "\n".join(ops) + "\n")
    return doc.to_bytes(), grid, placements
