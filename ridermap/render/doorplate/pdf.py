"""A small, fast PDF writer for doorplates, with the CJK font embedded as a CFF subset.

Why not a general PDF library: reportlab cannot embed CFF-outline OpenType
fonts (Noto Sans SC is one), and matplotlib, which can (as Type 3), needs tens
of milliseconds per plate. A doorplate is a handful of rectangles, one path
for the QR modules and a few lines of text, so this module writes the PDF
objects itself (PDF 1.4, ISO 32000-1 syntax) and lets fontTools do the font
work:

- the font is subset to the characters used (``fontTools.subset``) and
  embedded as a ``CIDFontType0`` with its bare CFF table (``FontFile3`` /
  ``CIDFontType0C``), ``Identity-H`` encoding and a ``ToUnicode`` map, so text
  can be searched and copied; ``pdffonts`` lists it as embedded subset;
- the font must be CID-keyed CFF (Noto Sans SC / Noto Sans CJK are); other
  fonts are refused with :class:`~ridermap.errors.RenderError`.

Coordinates given to :class:`PdfBuilder` pages are millimetres with ``y``
pointing down (as in SVG); the writer adds the page transform.

Nothing here touches the disk: the font comes from :mod:`ridermap.render.fonts`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ridermap.errors import RenderError
from ridermap.render.fonts import open_font, shared_font

log = logging.getLogger(__name__)

PT_PER_MM = 72.0 / 25.4
#: name of the one font resource on every page
FONT_RESOURCE = "F1"


def fmt(value: float) -> str:
    """Format a number for a content stream: at most 3 decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class FontMetrics:
    """Vertical metrics of the font, in em (1.0 = the font size)."""

    ascent_em: float
    descent_em: float  # negative
    cap_height_em: float
    bbox: tuple[int, int, int, int]


class CidFont:
    """A CID-keyed CFF OpenType font: advances, CIDs, subsets and glyph outlines.

    Parameters
    ----------
    path
        ``.otf`` file with CID-keyed CFF outlines.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        font = shared_font(self.path)  # read once per process, from memory: no file stays open
        if "CFF " not in font:
            raise RenderError(f"font {self.path.name}: doorplates need a CFF-outline OpenType font (.otf)")
        top = font["CFF "].cff.topDictIndex[0]
        if not hasattr(top, "ROS"):
            raise RenderError(f"font {self.path.name}: CFF is not CID-keyed; use Noto Sans SC / Noto Sans CJK")
        self._font = font
        #: PDF font objects by (characters, compressed): see PdfBuilder._font_objects
        self.pdf_parts: dict[tuple[frozenset[str], bool], tuple[str, str, str, bytes, bytes]] = {}
        self.units_per_em = font["head"].unitsPerEm
        self.name = font["name"].getDebugName(6) or self.path.stem
        self._cmap = font.getBestCmap()
        self._hmtx = font["hmtx"].metrics
        os2 = font["OS/2"]
        head = font["head"]
        upm = float(self.units_per_em)
        self.metrics = FontMetrics(
            ascent_em=os2.sTypoAscender / upm,
            descent_em=os2.sTypoDescender / upm,
            cap_height_em=getattr(os2, "sCapHeight", 733) / upm,
            bbox=(head.xMin, head.yMin, head.xMax, head.yMax),
        )
        self._outlines: dict[str, str] = {}
        self._bounds: dict[str, tuple[float, float, float, float] | None] = {}

    # -- characters -> glyphs -------------------------------------------------
    def glyph_name(self, char: str) -> str:
        name = self._cmap.get(ord(char))
        if name is None:
            raise RenderError(f"font {self.path.name} has no glyph for {char!r}")
        return name

    def has(self, char: str) -> bool:
        """Whether the font has a glyph for ``char``."""
        return ord(char) in self._cmap

    def cid(self, char: str) -> int:
        """The CID of ``char`` (CID-keyed CFF glyph names are ``cidNNNNN``)."""
        name = self.glyph_name(char)
        return 0 if name == ".notdef" else int(name[3:])

    def advance_em(self, char: str) -> float:
        """Advance width of ``char`` in em."""
        return self._hmtx[self.glyph_name(char)][0] / self.units_per_em

    def width_em(self, text: str) -> float:
        """Advance width of ``text`` in em (no kerning: plates use no Latin kerning pairs)."""
        return sum(self.advance_em(ch) for ch in text)

    def encode(self, text: str) -> str:
        """``text`` as a PDF hex string of 2-byte CIDs (Identity-H)."""
        return "<" + "".join(f"{self.cid(ch):04X}" for ch in text) + ">"

    # -- outlines (SVG and tests) ---------------------------------------------
    def outline(self, char: str) -> str:
        """SVG path data of the glyph of ``char`` in font units, y up."""
        name = self.glyph_name(char)
        if name not in self._outlines:
            from fontTools.pens.svgPathPen import SVGPathPen

            glyphs = self._font.getGlyphSet()
            pen = SVGPathPen(glyphs, ntos=lambda v: fmt(v))
            glyphs[name].draw(pen)
            self._outlines[name] = pen.getCommands()
        return self._outlines[name]

    def pdf_outline(self, char: str) -> tuple[str, tuple[float, float, float, float] | None]:
        """PDF path operators of the glyph of ``char`` in font units (y up), and its bounds; ``""`` if blank."""
        name = self.glyph_name(char)
        from fontTools.pens.boundsPen import BoundsPen

        glyphs = self._font.getGlyphSet()
        pen = _pdf_pen(glyphs)
        glyphs[name].draw(pen)
        bounds_pen = BoundsPen(glyphs)
        glyphs[name].draw(bounds_pen)
        return " ".join(pen.ops), bounds_pen.bounds

    def ink_bounds_em(self, char: str) -> tuple[float, float, float, float] | None:
        """``(xmin, ymin, xmax, ymax)`` of the glyph's outline in em (y up), ``None`` if blank."""
        name = self.glyph_name(char)
        if name not in self._bounds:
            from fontTools.pens.boundsPen import BoundsPen

            glyphs = self._font.getGlyphSet()
            pen = BoundsPen(glyphs)
            glyphs[name].draw(pen)
            upm = float(self.units_per_em)
            self._bounds[name] = None if pen.bounds is None else tuple(v / upm for v in pen.bounds)
        return self._bounds[name]

    # -- embedding --------------------------------------------------------------
    def subset_cff(self, chars: frozenset[str]) -> bytes:
        """The bare CFF table of a subset holding ``chars`` (original CIDs kept)."""
        return _subset_cff(str(self.path), chars)


def _pdf_pen(glyphs):
    """A fontTools pen writing PDF path operators (``.ops``); BasePen splits any super-curve into cubics."""
    from fontTools.pens.basePen import BasePen

    class PdfPen(BasePen):
        def __init__(self, glyph_set) -> None:
            super().__init__(glyph_set)
            self.ops: list[str] = []

        def _moveTo(self, p) -> None:
            self.ops.append(f"{fmt(p[0])} {fmt(p[1])} m")

        def _lineTo(self, p) -> None:
            self.ops.append(f"{fmt(p[0])} {fmt(p[1])} l")

        def _curveToOne(self, p1, p2, p3) -> None:
            self.ops.append(" ".join(fmt(v) for v in (*p1, *p2, *p3)) + " c")

        def _closePath(self) -> None:
            self.ops.append("h")

    return PdfPen(glyphs)


@lru_cache(maxsize=4)
def load_font(path: str) -> CidFont:
    """A cached :class:`CidFont` for ``path``."""
    return CidFont(path)


#: the tables a CFF subset is made from (the glyph order comes from the CFF charset)
_KEPT_TABLES = ("GlyphOrder", "CFF ", "head", "maxp")


#: character sets whose font objects a process keeps (oldest dropped first)
_PDF_PARTS_HELD = 32


@lru_cache(maxsize=32)
def _subset_cff(path: str, chars: frozenset[str]) -> bytes:
    """Only the CFF table is wanted: every other table is dropped before subsetting (fontTools would read
    and prune them, half its time) and the glyphs are given by name from the shared cmap (the same bytes)."""
    from fontTools import subset

    options = subset.Options()
    options.layout_features = []
    options.name_IDs = []
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    cmap = load_font(path)._cmap
    subsetter.populate(glyphs=sorted({name for c in chars if (name := cmap.get(ord(c))) is not None}))
    with open_font(path, lazy=True) as font:  # a private copy: subsetting changes it
        for tag in [t for t in font.keys() if t not in _KEPT_TABLES]:
            del font[tag]
        subsetter.subset(font)
        data = font.getTableData("CFF ")
    log.debug("font subset: %d characters, %d bytes of CFF", len(chars), len(data))
    return data


def _subset_tag(chars: frozenset[str]) -> str:
    digest = hashlib.sha1("".join(sorted(chars)).encode("utf-8")).digest()
    return "".join(chr(ord("A") + b % 26) for b in digest[:6])


def _to_unicode_cmap(pairs: list[tuple[int, str]]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        for cid, char in chunk:
            lines.append(f"<{cid:04X}> <{char.encode('utf-16-be').hex().upper()}>")
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


def pdf_string(text: str) -> str:
    """A PDF text string (UTF-16BE with BOM, hex) for the document info."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


class PdfBuilder:
    """Collect pages (content in mm, y down) and serialise one PDF.

    Parameters
    ----------
    font
        The font every text run uses (resource ``/F1``).
    title
        Document title (``/Info``).
    compress
        Flate-compress content streams.
    """

    def __init__(self, font: CidFont, *, title: str = "", compress: bool = True) -> None:
        self.font = font
        self.title = title
        self.compress = compress
        self._pages: list[tuple[float, float, bytes]] = []
        self._chars: set[str] = set()

    def use_text(self, text: str) -> None:
        """Register characters drawn with the font (for the subset)."""
        self._chars.update(text)

    def add_page(self, width_mm: float, height_mm: float, content: str) -> None:
        """Add a page; ``content`` is content-stream text in mm with y down."""
        head = f"{fmt(PT_PER_MM)} 0 0 {fmt(-PT_PER_MM)} 0 {fmt(height_mm * PT_PER_MM)} cm\n"
        self._pages.append((width_mm, height_mm, (head + content).encode("latin-1")))

    def _font_parts(self, chars: frozenset[str], stream) -> tuple[str, str, str, bytes, bytes]:
        """The font's name, widths, box, CFF subset stream and ToUnicode stream for ``chars``."""
        font = self.font
        base = f"{_subset_tag(chars)}+{font.name}"
        by_cid: dict[int, str] = {}
        for ch in sorted(chars):  # one entry per glyph, even if two characters share it
            by_cid.setdefault(font.cid(ch), ch)
        cids = sorted(by_cid.items())
        widths = " ".join(f"{cid} [{round(font.advance_em(ch) * 1000)}]" for cid, ch in cids)
        bbox = " ".join(str(round(v * 1000 / font.units_per_em)) for v in font.metrics.bbox)
        cff = stream(font.subset_cff(chars), " /Subtype /CIDFontType0C")
        return base, widths, bbox, cff, stream(_to_unicode_cmap(list(cids)))

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def to_bytes(self) -> bytes:
        """Serialise the document."""
        if not self._pages:
            raise RenderError("no pages to write")
        objects: list[bytes | None] = [None]  # 1-based object numbers

        def reserve() -> int:
            objects.append(None)
            return len(objects) - 1

        def put(num: int, body: bytes) -> int:
            objects[num] = body
            return num

        def add(body: bytes) -> int:
            return put(reserve(), body)

        def stream(data: bytes, extra: str = "") -> bytes:
            if self.compress:
                data = zlib.compress(data, 6)
                extra += " /Filter /FlateDecode"
            return f"<< /Length {len(data)}{extra} >>\nstream\n".encode("ascii") + data + b"\nendstream"

        catalog = reserve()
        pages = reserve()
        font_ref = self._font_objects(add, stream) if self._chars else None
        resources = f"<< /Font << /{FONT_RESOURCE} {font_ref} 0 R >> >>" if font_ref else "<< >>"
        res_ref = add(resources.encode("ascii"))
        kids = []
        for width_mm, height_mm, content in self._pages:
            content_ref = add(stream(content))
            box = f"[0 0 {fmt(width_mm * PT_PER_MM)} {fmt(height_mm * PT_PER_MM)}]"
            kids.append(
                add(
                    f"<< /Type /Page /Parent {pages} 0 R /MediaBox {box} /Resources {res_ref} 0 R "
                    f"/Contents {content_ref} 0 R >>".encode("ascii")
                )
            )
        put(
            pages, f"<< /Type /Pages /Count {len(kids)} /Kids [{' '.join(f'{k} 0 R' for k in kids)}] >>".encode("ascii")
        )
        put(catalog, f"<< /Type /Catalog /Pages {pages} 0 R >>".encode("ascii"))
        info = add(f"<< /Title {pdf_string(self.title)} /Producer (ridermap) >>".encode("ascii"))

        out = io.BytesIO()
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for num, body in enumerate(objects[1:], start=1):
            offsets.append(out.tell())
            out.write(f"{num} 0 obj\n".encode("ascii"))
            assert body is not None, f"PDF object {num} reserved but never written"
            out.write(body)
            out.write(b"\nendobj\n")
        xref = out.tell()
        out.write(f"xref\n0 {len(objects)}\n0000000000 65535 f \n".encode("ascii"))
        out.write("".join(f"{off:010d} 00000 n \n" for off in offsets).encode("ascii"))
        doc_id = hashlib.md5(out.getvalue()).hexdigest()
        out.write(
            f"trailer\n<< /Size {len(objects)} /Root {catalog} 0 R /Info {info} 0 R "
            f"/ID [<{doc_id}> <{doc_id}>] >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
        )
        return out.getvalue()

    def _font_objects(self, add, stream) -> int:
        font = self.font
        chars = frozenset(ch for ch in self._chars if not ch.isspace() or ch == " ")
        # the same characters give the same font objects: a compound's plates and signs share them
        key = (chars, self.compress)
        held = font.pdf_parts.get(key)
        if held is None:
            if len(font.pdf_parts) >= _PDF_PARTS_HELD:  # a worker lives for many compounds: keep the recent ones
                font.pdf_parts.pop(next(iter(font.pdf_parts)))
            held = font.pdf_parts[key] = self._font_parts(chars, stream)
        base, widths, bbox, cff_stream, to_unicode_stream = held
        m = font.metrics
        file_ref = add(cff_stream)
        descriptor = add(
            f"<< /Type /FontDescriptor /FontName /{base} /Flags 4 /FontBBox [{bbox}] /ItalicAngle 0 "
            f"/Ascent {round(m.ascent_em * 1000)} /Descent {round(m.descent_em * 1000)} "
            f"/CapHeight {round(m.cap_height_em * 1000)} /StemV 80 /FontFile3 {file_ref} 0 R >>".encode("ascii")
        )
        cid_font = add(
            f"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /{base} "
            f"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            f"/FontDescriptor {descriptor} 0 R /DW 1000 /W [{widths}] >>".encode("ascii")
        )
        to_unicode = add(to_unicode_stream)
        return add(
            f"<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H "
            f"/DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>".encode("ascii")
        )
