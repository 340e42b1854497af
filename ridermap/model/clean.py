"""Clean the text of names and labels: no control characters, newlines or bidi overrides.

A name typed into a survey sheet or an OSM tag may hold a newline, a tab, a
NUL or a right-to-left override (U+202E) that makes ``7号楼`` display as
something else. Such text would forge lines in reports and mislead riders on
posters, so :func:`clean_text_columns` removes those characters (a newline or
tab becomes a space) and reports each cleaned value as a finding.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from ridermap.model.bundle import Bundle
from ridermap.model.findings import Finding
from ridermap.safe_text import text_line

log = logging.getLogger(__name__)

#: free-text columns of each layer (ids and sources are ridermap's own)
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "communities": ("name", "rider_hours"),
    "gates": ("name", "hours"),
    "buildings": ("number", "label"),
    "units": ("number", "label", "flats"),
    "facilities": ("name",),
    "paths": (),
}
#: bidirectional controls, zero-width and byte-order marks: removed
_INVISIBLE = "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_BREAKS = re.compile(r"[\r\n\t\v\f\x1c-\x1f\x85\u2028\u2029]+")
_COLUMN_ZH = {
    "name": "名称",
    "label": "标注",
    "number": "编号",
    "flats": "房号范围",
    "hours": "时段",
    "rider_hours": "时段",
}


def clean_text(text: str) -> str:
    """``text`` without control, bidi and zero-width characters; line breaks become one space.

    >>> clean_text("7号楼\\n1单元"), clean_text("A\\u202eB\\x00C"), clean_text("南门")
    ('7号楼 1单元', 'ABC', '南门')
    """
    text = _BREAKS.sub(" ", text)
    text = "".join(ch for ch in text if ch not in _INVISIBLE and unicodedata.category(ch) != "Cc")
    return re.sub(r" {2,}", " ", text).strip()


def clean_text_columns(bundle: Bundle) -> Bundle:
    """Clean every name and label of ``bundle``; one finding (warning) per cleaned value."""
    findings: list[Finding] = []
    changed = {}
    for layer, columns in TEXT_COLUMNS.items():
        gdf = getattr(bundle, layer)
        fixed = None
        for col in columns:
            values = gdf[col].astype(str)
            unclean = {v for v in values.unique() if v != clean_text(v)}  # each distinct value checked once
            dirty = values.isin(unclean)
            if not dirty.any():
                continue
            fixed = gdf.copy() if fixed is None else fixed
            for i in dirty[dirty].index:
                before = values.loc[i]
                after = clean_text(before)
                fixed.loc[i, col] = after
                findings.append(_finding(layer, gdf.loc[i], col, before, after))
        if fixed is not None:
            changed[layer] = fixed
    if not findings:
        return bundle
    log.info("cleaned control characters from %d names/labels", len(findings))
    return bundle.replace(**changed).with_findings(findings)


def _finding(layer: str, row, col: str, before: str, after: str) -> Finding:
    shown = text_line(before)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return Finding(
        "warning",
        "text_cleaned",
        layer,
        str(row["id"]),
        str(row["source"]),
        f"{_COLUMN_ZH.get(col, col)}“{shown}”含控制字符、换行或方向控制符，已清除为“{after}”",
        f"{col} {shown!r} held control characters, newlines or bidi controls; cleaned to {after!r}",
        column=col,
        value=shown,
    )
