"""Text helpers every floor shares: natural sort order and line wrapping.

Base floor: imports nothing of ridermap. The wrapper knows no font; it takes
a ``measure`` function (text -> width in any unit), so posters (matplotlib
text extents), survey maps and plates (font advance widths) wrap alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["natural_key", "wrap"]

_DIGITS = re.compile(r"(\d+)")
#: a Latin word or number with its trailing comma/semicolon and spaces, a run of spaces, or any one character
_TOKEN = re.compile(r"[A-Za-z0-9:.\-+/~()]+[,;]?\s*|\s+|.")
#: characters that must not start a line (closing brackets and CJK/Latin punctuation)
_NO_LINE_START = "）)，,。；;：:、"


def natural_key(text: object) -> tuple:
    """Sort key that orders digit runs by value: ``2号楼`` before ``10号楼``, ``B7`` before ``B07-2``.

    The key alternates text and numbers (it always starts with a text part),
    so keys of any two values compare without a type error.

    >>> sorted(["10号楼", "2号楼", "1号楼"], key=natural_key)
    ['1号楼', '2号楼', '10号楼']
    >>> sorted(["U07-10", "U07-2", "G3", "B12", "B7"], key=natural_key)
    ['B7', 'B12', 'G3', 'U07-2', 'U07-10']
    """
    return tuple(int(part) if part.isdecimal() else part for part in _DIGITS.split(str(text)))


def wrap(text: str, max_width: float, measure: Callable[[str], float]) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` as ``measure`` sees them.

    Lines break after a Latin word (with its comma and spaces), between
    spaces, or between any two CJK characters, but never before closing
    punctuation (）)，,。；;：:、). A Latin word wider than a line is broken
    anywhere. Returns at least one line (``[""]`` for empty text).

    >>> wrap("北门 North gate, 24 h", 10, len)
    ['北门 North', 'gate, 24 h']
    >>> wrap("骑手停车点，步行进入", 4, len)
    ['骑手停车', '点，步行', '进入']
    """
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        if len(token) > 1 and measure(token.rstrip()) > max_width:  # too long for a line: break anywhere
            tokens += list(token)
        else:
            tokens.append(token)
    lines: list[str] = []
    current = ""
    for token in tokens:
        if not current.strip() and lines and token[0] in _NO_LINE_START:  # after a break at a space
            lines[-1] += token.rstrip()
            continue
        trial = current + token
        if current and measure(trial.rstrip()) > max_width and token[0] not in _NO_LINE_START:
            lines.append(current.rstrip())
            current = token.lstrip()
        else:
            current = trial
    if current.strip():
        lines.append(current.rstrip())
    return lines or [""]
