"""Drawing a laid-out doorplate: PDF content-stream operators, a one-plate PDF, an SVG.

The QR modules are drawn from :func:`ridermap.render.qr.module_runs` as one
filled path (:func:`ridermap.render.qr.pdf_ops` / :func:`~ridermap.render.qr.svg_path_d`),
so no seams appear between modules. The PDF is written by
:mod:`ridermap.render.doorplate.pdf` with the font embedded as a subset; the
SVG draws text as glyph outlines, so it needs no font.
"""

from __future__ import annotations

from ridermap.render.doorplate.content import Plate
from ridermap.render.doorplate.layout import PlateLayout, PlateSize, default_font, layout_plate
from ridermap.render.doorplate.pdf import CidFont, PdfBuilder, fmt
from ridermap.render.doorplate.text import BOLD_EM
from ridermap.render.qr import QUIET_ZONE, pdf_ops, svg_path_d

#: plate colours (RGB 0..1): doorplate blue, white, black
BLUE = (0.0, 0.31, 0.63)
#: the "草图 / DRAFT" band: dark red on light yellow
DRAFT_FACE = (1.0, 0.96, 0.62)
DRAFT_INK = (0.72, 0.11, 0.11)


def _rgb(c: tuple[float, float, float]) -> str:
    return " ".join(fmt(v) for v in c)


def plate_ops(layout: PlateLayout, *, font: CidFont | None = None) -> str:
    """PDF content-stream operators drawing one plate, in plate mm with y down.

    The QR modules are one path of rectangles in module units (a ``cm``
    scales them), filled once, so no seams appear between modules.
    """
    font = font or default_font()
    size = layout.size
    W, H = size.width_mm, size.height_mm
    i, fw = layout.frame_inset_mm, layout.frame_width_mm
    m = layout.module_mm
    qx = layout.qr_x_mm + QUIET_ZONE * m
    qy = layout.qr_y_mm + QUIET_ZONE * m
    parts = [
        f"q {_rgb(BLUE)} rg 0 0 {fmt(W)} {fmt(H)} re f",
        f"1 1 1 RG {fmt(fw)} w {fmt(i)} {fmt(i)} {fmt(W - 2 * i)} {fmt(H - 2 * i)} re S",
        f"1 g {fmt(layout.qr_x_mm)} {fmt(layout.qr_y_mm)} {fmt(size.qr_mm)} {fmt(size.qr_mm)} re f",
        f"q {fmt(m)} 0 0 {fmt(m)} {fmt(qx)} {fmt(qy)} cm 0 g",
        pdf_ops(layout.runs) + " Q",
    ]
    if layout.band_mm is not None:
        bx0, by0, bx1, by1 = layout.band_mm
        parts.append(f"{_rgb(DRAFT_FACE)} rg {fmt(bx0)} {fmt(by0)} {fmt(bx1 - bx0)} {fmt(by1 - by0)} re f")
    parts.append("1 g 1 G 1 j 1 J BT 2 Tr")
    for run in layout.texts:
        ink = f"{_rgb(DRAFT_INK)} rg {_rgb(DRAFT_INK)} RG " if run.role == "draft" else ""
        reset = " 1 g 1 G" if run.role == "draft" else ""
        parts.append(
            f"{ink}/F1 {fmt(run.size_mm)} Tf {fmt(BOLD_EM * run.size_mm)} w "
            f"1 0 0 -1 {fmt(run.x_mm)} {fmt(run.baseline_mm)} Tm {font.encode(run.text)} Tj{reset}"
        )
    parts.append("ET Q\n")
    return "\n".join(parts)


def _hex(c: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(v * 255):02x}" for v in c)


def _svg_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def layout_svg(layout: PlateLayout, *, font: CidFont | None = None) -> str:
    """One laid-out plate as a standalone SVG in mm.

    Text is drawn as glyph outlines (each glyph once in ``<defs>``), so the
    file needs no font to be viewed, cut or printed. ``<title>`` holds the
    address and ``<desc>`` the QR payload.
    """
    font = font or default_font()
    plate, size = layout.plate, layout.size
    W, H = size.width_mm, size.height_mm
    i, fw = layout.frame_inset_mm, layout.frame_width_mm
    m = layout.module_mm
    blue = "#" + "".join(f"{round(v * 255):02x}" for v in BLUE)
    glyphs: dict[str, str] = {}
    text_parts = []
    upm = font.units_per_em
    for run in layout.texts:
        uses = []
        pen = 0.0
        for ch in run.text:
            if not ch.isspace():
                gid = f"g{font.cid(ch)}"
                glyphs.setdefault(gid, font.outline(ch))
                uses.append(f'<use xlink:href="#{gid}" x="{fmt(pen)}"/>')
            pen += font.advance_em(ch) * upm
        k = run.size_mm / upm
        ink = f' fill="{_hex(DRAFT_INK)}" stroke="{_hex(DRAFT_INK)}"' if run.role == "draft" else ""
        text_parts.append(
            f'<g transform="translate({fmt(run.x_mm)} {fmt(run.baseline_mm)}) scale({k:.6g} {-k:.6g})"{ink}>'
            + "".join(uses)
            + "</g>"
        )
    qr_d = svg_path_d(layout.runs)
    defs = "".join(f'<path id="{gid}" d="{d}"/>' for gid, d in sorted(glyphs.items()))
    qx = layout.qr_x_mm + QUIET_ZONE * m
    qy = layout.qr_y_mm + QUIET_ZONE * m
    band = ""
    if layout.band_mm is not None:
        bx0, by0, bx1, by1 = layout.band_mm
        band = (
            f'<rect class="draft" x="{fmt(bx0)}" y="{fmt(by0)}" width="{fmt(bx1 - bx0)}" height="{fmt(by1 - by0)}" '
            f'fill="{_hex(DRAFT_FACE)}"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{fmt(W)}mm" height="{fmt(H)}mm" viewBox="0 0 {fmt(W)} {fmt(H)}">'
        f"<title>{_svg_escape(plate.address)}</title>"
        f'<desc data-plate-id="{_svg_escape(plate.plate_id)}">{_svg_escape(plate.payload)}</desc>'
        f"<defs>{defs}</defs>"
        f'<rect width="{fmt(W)}" height="{fmt(H)}" fill="{blue}"/>'
        f'<rect x="{fmt(i)}" y="{fmt(i)}" width="{fmt(W - 2 * i)}" height="{fmt(H - 2 * i)}" fill="none" '
        f'stroke="#fff" stroke-width="{fmt(fw)}"/>'
        f'<rect class="qr" x="{fmt(layout.qr_x_mm)}" y="{fmt(layout.qr_y_mm)}" width="{fmt(size.qr_mm)}" '
        f'height="{fmt(size.qr_mm)}" fill="#fff"/>'
        f'<path class="qr-modules" transform="translate({fmt(qx)} {fmt(qy)}) scale({m:.6g})" fill="#000" d="{qr_d}"/>'
        + band
        + f'<g class="text" fill="#fff" stroke="#fff" stroke-width="{fmt(BOLD_EM * upm)}" stroke-linejoin="round">'
        + "".join(text_parts)
        + "</g></svg>\n"
    )


def layout_pdf(layout: PlateLayout, *, font_chars: str = "", font: CidFont | None = None) -> bytes:
    """One laid-out plate as a one-page PDF of exactly its trim size (font subset embedded).

    Parameters
    ----------
    font_chars
        Extra characters for the embedded font subset. Pass the same string
        (e.g. every character of a compound's plates, see :meth:`Plate.all_text`)
        for many plates and the subset is made once and reused.
    """
    font = font or default_font()
    plate = layout.plate
    doc = PdfBuilder(font, title=f"{plate.address} ({plate.plate_id})")
    doc.use_text(font_chars)
    for run in layout.texts:
        doc.use_text(run.text)
    doc.add_page(layout.size.width_mm, layout.size.height_mm, plate_ops(layout, font=font))
    return doc.to_bytes()


def plate_svg(plate: Plate, *, size: PlateSize | str = "small", font: CidFont | None = None) -> str:
    """``layout_svg(layout_plate(plate, size=size))``."""
    return layout_svg(layout_plate(plate, size=size, font=font), font=font)


def plate_pdf(
    plate: Plate, *, size: PlateSize | str = "small", font_chars: str = "", font: CidFont | None = None
) -> bytes:
    """``layout_pdf(layout_plate(plate, size=size))``."""
    return layout_pdf(layout_plate(plate, size=size, font=font), font_chars=font_chars, font=font)
