"""QR doorplates for units, buildings and gates, in four parts.

============================================  ==================================================================
:mod:`~ridermap.render.doorplate.content`     what a plate says (:class:`Plate`, :func:`plates_for_community`)
:mod:`~ridermap.render.doorplate.layout`      where things go, in mm (:func:`layout_plate`, :data:`PLATE_SIZES`)
:mod:`~ridermap.render.doorplate.draw`        one plate as PDF operators, PDF or SVG (:func:`plate_ops`)
:mod:`~ridermap.render.doorplate.imposition`  several plates per print sheet (:func:`sheets_pdf`)
============================================  ==================================================================

with two helpers: :mod:`~ridermap.render.doorplate.text` (fitting text in
a box) and :mod:`~ridermap.render.doorplate.pdf` (a small PDF writer with
the CJK font embedded as a subset). QR codes come from
:mod:`ridermap.render.qr`, the font from :mod:`ridermap.render.fonts`.

Each part imports only the ones above it in the table; this package
re-exports their public names, so ``from ridermap.render.doorplate import
plates_for_community, sheets_pdf`` works. Nothing here touches the disk
(the font is read through :mod:`ridermap.render.fonts`).
"""

from __future__ import annotations

from ridermap.render.doorplate.content import KINDS, Plate, plates_for_community
from ridermap.render.doorplate.draw import (
    BLUE,
    DRAFT_FACE,
    DRAFT_INK,
    layout_pdf,
    layout_svg,
    plate_ops,
    plate_pdf,
    plate_svg,
)
from ridermap.render.doorplate.imposition import (
    CUT_MARK_LENGTH_MM,
    CUT_MARK_OFFSET_MM,
    DEFAULT_SHEET,
    GUTTER_MM,
    ID_TEXT_MM,
    SHEET_MARGIN_MM,
    SHEET_SIZES_MM,
    SHEETS,
    Placement,
    SheetGrid,
    impose,
    sheet_grid,
    sheets_pdf,
)
from ridermap.render.doorplate.layout import (
    PLATE_SIZES,
    PlateLayout,
    PlateSize,
    TextRun,
    default_font,
    ink_box,
    layout_plate,
    plate_size,
)
from ridermap.render.qr import QUIET_ZONE

__all__ = [
    "BLUE",
    "CUT_MARK_LENGTH_MM",
    "CUT_MARK_OFFSET_MM",
    "DEFAULT_SHEET",
    "DRAFT_FACE",
    "DRAFT_INK",
    "GUTTER_MM",
    "ID_TEXT_MM",
    "KINDS",
    "PLATE_SIZES",
    "QUIET_ZONE",
    "SHEETS",
    "SHEET_MARGIN_MM",
    "SHEET_SIZES_MM",
    "Placement",
    "Plate",
    "PlateLayout",
    "PlateSize",
    "SheetGrid",
    "TextRun",
    "default_font",
    "impose",
    "ink_box",
    "layout_pdf",
    "layout_plate",
    "layout_svg",
    "plate_ops",
    "plate_pdf",
    "plate_size",
    "plate_svg",
    "plates_for_community",
    "sheet_grid",
    "sheets_pdf",
]
