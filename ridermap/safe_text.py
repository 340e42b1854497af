"""Data text made safe for the formats ridermap writes: CSV/XLSX cells, HTML, text reports.

Names come from OpenStreetMap and survey sheets: anyone can type anything
into them. This base module (it imports nothing of ridermap) holds the one
place each output kind neutralises them:

- :func:`csv_cell` / :func:`csv_row` / :func:`csv_frame`: a text cell that
  begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
  leading single quote (OWASP "CSV injection"), so Excel and WPS show it as
  text instead of running it as a formula. Numbers written as numbers are
  left alone, and so is text that is nothing but a plain decimal number
  (``-3.5``, ``+7``): a spreadsheet reads it as that number and nothing else.
- :func:`html_text`: HTML-escaped text that is also inert inside a
  JavaScript template literal (folium puts tooltip text into one).
- :func:`text_line`: one line of a text report; newlines, other control
  characters and bidi overrides become visible escapes (``\\n``,
  ``\\u202e``), so a name cannot forge or reorder report lines.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

__all__ = ["FORMULA_START", "csv_cell", "csv_row", "csv_frame", "html_text", "text_line", "is_formula_like"]

#: first characters that make a spreadsheet read a cell as a formula (OWASP)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")
_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})
#: categories escaped in text reports: controls, format characters (bidi overrides,
#: zero-width joiners), line and paragraph separators, surrogates, private use
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})


def is_formula_like(text: str) -> bool:
    """Whether a text cell would be read as a formula (and is not a plain number)."""
    return text[:1] in FORMULA_START and not _PLAIN_NUMBER.fullmatch(text)


def csv_cell(value: object) -> object:
    """One CSV/XLSX cell: text that would be a formula gets a leading ``'``.

    Parameters
    ----------
    value
        Any cell value; only ``str`` values are changed.

    Returns
    -------
    object
        ``value`` itself, or ``"'" + value`` for formula-like text.
    """
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_row(values: Iterable[object]) -> list[object]:
    """:func:`csv_cell` applied to every value of a row."""
    return [csv_cell(v) for v in values]


def csv_frame(frame):
    """A copy of a pandas DataFrame with every text cell (and column name) passed through :func:`csv_cell`.

    Numeric, boolean and missing cells are unchanged, so numbers are still
    written as numbers.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind == "O":  # object and pandas string dtypes
            out[col] = out[col].map(csv_cell)
    out.columns = [csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def html_text(value: object) -> str:
    """``value`` as HTML text: ``& < > " '`` escaped, and `````, ``$``, ``\\`` too.

    The extra three keep the text inert inside a JavaScript template
    literal (folium writes tooltip HTML into one); browsers show them as
    the characters themselves.
    """
    return html.escape(str(value), quote=True).translate(_JS_TEMPLATE)


def _visible(ch: str) -> str:
    return ch.encode("unicode_escape").decode("ascii")


def text_line(value: object) -> str:
    """``value`` for one line of a text report: control, bidi and line-breaking characters escaped.

    >>> text_line("锦华苑\\nERROR forged line\\u202e")
    '锦华苑\\\\nERROR forged line\\\\u202e'
    """
    text = str(value)
    if all(unicodedata.category(ch) not in _UNSAFE_CATEGORIES for ch in text):
        return text
    return "".join(_visible(ch) if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in text)
