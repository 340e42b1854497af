"""Fitting plate text into a box: shrink first, then wrap, never overflow.

Line breaks are allowed between CJK characters, at spaces, and after a comma
or closing bracket in Latin text ("00:00-11:00,13:30-17:00" stays readable);
never before closing punctuation nor after opening punctuation. A word wider
than the box is broken by character as a last resort.

Sizes are in mm of the text size (1 em); the faux-bold outline
(:data:`BOLD_EM`) is counted in the width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ridermap.render.doorplate.pdf import CidFont

#: faux-bold outline stroke, in em of the text size (only the regular weight ships)
BOLD_EM = 0.05
#: line pitch and baseline position within a line, in em
LINE_EM = 1.25
BASELINE_EM = 0.92

_CLOSE = set("，。、；：！？）》」』】〕,.;:!?)]}·…%")
_OPEN = set("（《「『【〔([{")
#: after these a Latin word may break even without a space (lists of hours: "11:00,13:30")
_BREAK_AFTER = set("，。、；：！？）》」』】〕,;)]}…")


def is_cjk(ch: str) -> bool:
    """True for CJK ideographs, kana, hangul and full-width forms."""
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x9FFF
        or 0xAC00 <= o <= 0xD7AF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF
        or 0x20000 <= o <= 0x3FFFF
    )


def tokens(text: str) -> list[tuple[str, bool]]:
    """Break ``text`` into unbreakable tokens, each with "a space precedes it".

    >>> [t for t, _ in tokens("锦华苑（东区）Mo-Su 10:00,12:00")]
    ['锦', '华', '苑', '（东', '区）', 'Mo-Su', '10:00,', '12:00']
    """
    out: list[tuple[str, bool]] = []
    space = False
    pending_open = ""
    for ch in text:
        if ch.isspace():
            space = True
            continue
        if out and not space and not pending_open:
            last = out[-1][0][-1]
            joins = ch in _CLOSE or (not is_cjk(ch) and not is_cjk(last) and last not in _BREAK_AFTER)
        else:
            joins = False
        if joins:
            out[-1] = (out[-1][0] + ch, out[-1][1])
        elif ch in _OPEN:
            pending_open += ch
            continue
        else:
            out.append((pending_open + ch, space))
            pending_open = ""
        space = False
    if pending_open:
        out.append((pending_open, space))
    return out


@lru_cache(maxsize=65536)
def width_em(font: CidFont, text: str) -> float:
    """Advance width of ``text`` in em (cached)."""
    return font.width_em(text)


def _greedy(font: CidFont, toks: list[tuple[str, bool]], limit_em: float) -> list[str]:
    """Fill lines up to ``limit_em``; over-long tokens are broken by character."""
    lines: list[str] = []
    cur = ""
    for token, spaced in toks:
        candidate = f"{cur} {token}" if (cur and spaced) else cur + token
        if cur and width_em(font, candidate) <= limit_em:
            cur = candidate
            continue
        if cur:
            lines.append(cur)
            cur = ""
        if width_em(font, token) <= limit_em:
            cur = token
            continue
        for ch in token:
            if cur and width_em(font, cur + ch) > limit_em:
                lines.append(cur)
                cur = ""
            cur += ch
    if cur:
        lines.append(cur)
    return lines


def wrap(font: CidFont, text: str, max_lines: int) -> list[str]:
    """Wrap into at most ``max_lines`` lines, making the widest line as narrow as possible."""
    toks = tokens(text)
    if not toks:
        return []
    one = " ".join(text.split())
    if max_lines == 1:
        return [one]
    lo = max(width_em(font, ch) for ch in one if not ch.isspace())
    hi = width_em(font, one)
    best = [one]
    for _ in range(30):  # binary search on the line width
        if hi - lo < 1e-3:
            break
        mid = (lo + hi) / 2
        lines = _greedy(font, toks, mid)
        if len(lines) <= max_lines:
            best, hi = lines, mid
        else:
            lo = mid
    return best


@dataclass(frozen=True)
class Fit:
    """Text size and lines chosen for a box."""

    size_mm: float
    lines: tuple[str, ...]

    @property
    def height_mm(self) -> float:
        return len(self.lines) * LINE_EM * self.size_mm


@lru_cache(maxsize=8192)
def fit(
    font: CidFont, text: str, width_mm: float, height_mm: float, max_size_mm: float, min_size_mm: float, max_lines: int
) -> Fit | None:
    """Largest size (≤ ``max_size_mm``) at which ``text`` fits the box, wrapping if that helps.

    Returns
    -------
    Fit or None
        ``None`` when even ``min_size_mm`` in ``max_lines`` lines does not fit.
    """
    best: Fit | None = None
    for n in range(1, max_lines + 1):
        lines = wrap(font, text, n)
        if not lines:
            return Fit(0.0, ())
        widest = max(width_em(font, line) for line in lines) + BOLD_EM
        size = min(max_size_mm, width_mm / widest, height_mm / (len(lines) * LINE_EM))
        if best is None or size > best.size_mm + 1e-6:
            best = Fit(size, tuple(lines))
        if size >= max_size_mm - 1e-9 or len(lines) < n:
            break
    return best if best is not None and best.size_mm >= min_size_mm else None
