"""Find a CJK font, use it in matplotlib, and make data text drawable with it.

Data text (names from OSM and survey sheets) may hold characters the font
cannot draw: emoji, bidi overrides such as ``\u202e``, zero-width joiners,
control characters. :func:`drawable` is the one place they are handled for
posters, doorplates and gap maps: invisible and control characters are
dropped (line breaks become spaces) and any other character the font lacks
is replaced by ``□``, with a warning naming the text; rendering never fails
on them. :func:`check_glyphs` stays for texts of our own (labels, config).

Order: the ``RIDERMAP_FONT`` environment variable, Noto Sans SC from the
``pylopdf-fonts-zh-cn`` dependency (SIL OFL 1.1), then system fonts
(Noto CJK, WenQuanYi). Microsoft YaHei is never used (proprietary).
With Noto (CFF outlines) matplotlib's PDF ``fonttype`` stays 3 (domain.md §6).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import unicodedata
from functools import lru_cache
from pathlib import Path

from ridermap.errors import RenderError

log = logging.getLogger(__name__)

#: what a character the font lacks (an emoji) is drawn as
REPLACEMENT = "\u25a1"  # □
#: dropped without trace: controls, format characters (bidi, zero-width), separators, variation selectors
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0), range(0x180B, 0x1810))

_SYSTEM_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Path of the CJK font every poster, plate and map uses."""
    env = os.environ.get("RIDERMAP_FONT")
    if env:
        path = Path(env)
        if not path.is_file():
            raise RenderError(f"RIDERMAP_FONT={env!r} is not a font file")
        return path
    try:
        import pylopdf_fonts_zh_cn

        path = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"
        if path.is_file():
            return path
    except ImportError:
        pass
    for candidate in _SYSTEM_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise RenderError(
        "no CJK font found: install the 'pylopdf-fonts-zh-cn' package, Debian 'fonts-noto-cjk' "
        "or 'fonts-wqy-microhei', or set RIDERMAP_FONT to a .otf/.ttf/.ttc file"
    )


def _font_key(path: str | Path | None) -> str:
    return str(Path(path) if path is not None else cjk_font_path())


@lru_cache(maxsize=4)
def _font_bytes(key: str) -> bytes:
    return Path(key).read_bytes()  # opened, read and closed here, once per process


def font_bytes(path: str | Path | None = None) -> bytes:
    """The bytes of a font file (default: :func:`cjk_font_path`), read once per process."""
    return _font_bytes(_font_key(path))


def open_font(path: str | Path | None = None, *, lazy: bool | None = None):
    """A new fontTools ``TTFont`` over :func:`font_bytes` (the first font of a ``.ttc``).

    It reads from memory, so no file stays open whether or not it is
    closed; use it for fonts that will be changed (subsetting) and
    :func:`shared_font` for reading.
    """
    from fontTools.ttLib import TTFont

    key = _font_key(path)
    kwargs = {"fontNumber": 0} if key.lower().endswith(".ttc") else {}
    return TTFont(io.BytesIO(_font_bytes(key)), lazy=lazy, **kwargs)


#: tables every reader of the shared font needs, loaded up front (lazy loading is not thread-safe)
_SHARED_TABLES = ("head", "hhea", "hmtx", "cmap", "OS/2", "name")


@lru_cache(maxsize=4)
def _shared_font(key: str):
    font = open_font(key, lazy=True)
    for tag in _SHARED_TABLES:
        if tag in font:
            font[tag]
    return font


def shared_font(path: str | Path | None = None):
    """The one cached, read-only fontTools ``TTFont`` of a font file (default: :func:`cjk_font_path`).

    Every reader of font data in ridermap (glyph coverage, metrics, the
    doorplate PDF font) goes through this loader; do not modify the font
    it returns (:func:`open_font` makes a private copy).
    """
    return _shared_font(_font_key(path))


def cap_height_em(path: str | Path | None = None) -> float:
    """Cap height of the font as a fraction of its em (0.733 for Noto Sans SC; 0.72 when the font has none)."""
    return _cap_height_em(_font_key(path))


@lru_cache(maxsize=4)
def _cap_height_em(key: str) -> float:
    """:func:`cap_height_em` by font key (every text size on a poster asks for it)."""
    font = _shared_font(key)
    cap = getattr(font["OS/2"], "sCapHeight", 0) if "OS/2" in font else 0
    return cap / font["head"].unitsPerEm if cap else 0.72


@lru_cache(maxsize=1)
def font_family() -> str:
    """Register the CJK font with matplotlib and return its family name."""
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


@lru_cache(maxsize=1)
def _cmap() -> frozenset[int]:
    return frozenset(shared_font().getBestCmap())


def missing_glyphs(text: str) -> str:
    """Characters of ``text`` the CJK font cannot draw (whitespace ignored)."""
    cmap = _cmap()
    return "".join(sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap}))


def check_glyphs(text: str, *, where: str = "") -> None:
    """Raise :class:`RenderError` if ``text`` has characters the font lacks."""
    missing = missing_glyphs(text)
    if missing:
        at = f" in {where}" if where else ""
        raise RenderError(f"font {cjk_font_path().name} has no glyph for {missing!r}{at}")


def _is_variation_selector(code: int) -> bool:
    return any(code in r for r in _VARIATION_SELECTORS)


@lru_cache(maxsize=65536)
def _drawable(text: str) -> str:
    cmap = _cmap()
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\r\t\v\f\x85\u2028\u2029":
            ch = " "
        elif unicodedata.category(ch) in _DROP_CATEGORIES or _is_variation_selector(code):
            continue
        elif code not in cmap:
            if unicodedata.category(ch) == "Mn":  # a combining mark with no glyph: drop, do not box
                continue
            ch = " " if ch.isspace() else REPLACEMENT
            if ch == REPLACEMENT and out and out[-1] == REPLACEMENT:
                continue  # one box for an emoji sequence (skin tone, flags)
        out.append(ch)
    return "".join(out)


def drawable(text: str, *, where: str = "") -> str:
    """``text`` with every character the CJK font cannot draw dropped or replaced.

    Control characters, bidi controls (``\\u202e``), zero-width and other
    format characters and variation selectors are dropped; line breaks
    and tabs become spaces; any other character without a glyph (an
    emoji) becomes one ``□`` per run. A warning names what changed.

    Parameters
    ----------
    text
        Data text to draw.
    where
        What is being drawn (for the warning), e.g. ``"poster of 510104-jhy"``.

    Returns
    -------
    str
        ``text`` itself when the font can draw all of it.
    """
    text = str(text)
    clean = _drawable(text)
    if clean != text:
        gone = "".join(sorted({ch for ch in text if _drawable(ch) != ch}))
        at = f" in {where}" if where else ""
        log.warning(
            "characters the font %s cannot draw were dropped or replaced by %s%s: %r -> %r (%s)",
            cjk_font_path().name,
            REPLACEMENT,
            at,
            text,
            clean,
            gone.encode("unicode_escape").decode("ascii"),
        )
    return clean


def drawable_frame(frame, *, where: str = ""):
    """A copy of a (Geo)DataFrame with every text cell through :func:`drawable` (``frame`` itself if none changes)."""
    changed = {}
    for col in frame.columns:
        if col == "geometry" or frame[col].dtype.kind != "O":  # object and pandas string dtypes
            continue
        values = frame[col].tolist()
        clean = [drawable(v, where=where) if isinstance(v, str) else v for v in values]
        if clean != values:
            changed[col] = clean
    if not changed:
        return frame
    out = frame.copy()
    for col, clean in changed.items():
        out[col] = clean
    return out


def drawable_bundle(bundle, *, where: str = ""):
    """A bundle whose text columns in every layer are :func:`drawable` (the same bundle if nothing changes)."""
    layers = {name: drawable_frame(gdf, where=where) for name, gdf in bundle.layers().items()}
    changed = {name: gdf for name, gdf in layers.items() if gdf is not getattr(bundle, name)}
    return dataclasses.replace(bundle, **changed) if changed else bundle


def drawable_fields(obj, fields: tuple[str, ...], *, where: str = ""):
    """A copy of dataclass ``obj`` whose ``fields`` (``str`` or tuples of ``str``) are :func:`drawable`."""
    changes = {}
    for name in fields:
        value = getattr(obj, name)
        clean = (
            tuple(drawable(v, where=where) for v in value) if isinstance(value, tuple) else drawable(value, where=where)
        )
        if clean != value:
            changes[name] = clean
    return dataclasses.replace(obj, **changes) if changes else obj


@lru_cache(maxsize=1 << 16)
def text_width_mm(text: str, family: str, size_pt: float, dpi: int) -> float:
    """Width in mm of ``text`` in ``family`` at ``size_pt``, as matplotlib lays it out at ``dpi``.

    Cached per process: a district's posters measure the same building
    numbers, gate names and legend words again and again, and FreeType
    layout of CFF outlines is the slowest step of a poster.
    """
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(family=family, size=size_pt)
    w, _, _ = _measurer(dpi).get_text_width_height_descent(text, prop, ismath=False)
    return w * 25.4 / dpi


@lru_cache(maxsize=4)
def _measurer(dpi: int):
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(1, 1, dpi)
