"""Find a CJK font and use it in matplotlib, failing loudly on missing glyphs.

Order: the ``RIDERMAP_FONT`` environment variable, Noto Sans SC from the
``pylopdf-fonts-zh-cn`` dependency (SIL OFL 1.1), then system fonts
(Noto CJK, WenQuanYi). Microsoft YaHei is never used (proprietary).
With Noto (CFF outlines) matplotlib's PDF ``fonttype`` stays 3 (domain.md §6).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ridermap.errors import RenderError

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


@lru_cache(maxsize=1)
def font_family() -> str:
    """Register the CJK font with matplotlib and return its family name."""
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


@lru_cache(maxsize=1)
def _cmap() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    path = cjk_font_path()
    kwargs = {"fontNumber": 0} if path.suffix.lower() == ".ttc" else {}
    with TTFont(str(path), lazy=True, **kwargs) as font:
        return frozenset(font.getBestCmap())


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
