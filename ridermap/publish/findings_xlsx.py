"""Validation findings as a workbook to send back to the grid worker.

``ridermap validate ... --format xlsx -o findings.xlsx`` writes:

* a findings sheet (问题清单 / Findings): severity, file, sheet, row, column,
  value and message in the chosen language, one finding a row;
* for each survey XLSX/CSV source, a copy of its sheets (at their original row
  numbers) with every cell a finding names filled red (error) or yellow
  (warning) and a cell comment holding the message.

Text from the data is hostile: cells starting with ``= + - @``, tab or CR are
neutralised with a leading ``'`` so nothing runs in Excel/WPS, and control or
bidi characters are shown escaped (``\\n``, ``\\u202e``). The file is written
atomically.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from ridermap import i18n
from ridermap.errors import InputError
from ridermap.ingest.survey import GUIDE_SHEETS, RawSheet, canonical_column, read_raw_sheets
from ridermap.model.findings import Finding
from ridermap.publish.atomic import atomic_path
from ridermap.safe_text import csv_cell, text_line

log = logging.getLogger(__name__)

FILLS = {
    "error": PatternFill("solid", fgColor="FFC7CE"),
    "warning": PatternFill("solid", fgColor="FFEB9C"),
    "info": PatternFill("solid", fgColor="DDEBF7"),
}
_RANK = {"error": 0, "warning": 1, "info": 2}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
TABLE_SUFFIXES = (".xlsx", ".xlsm", ".csv")


def safe_cell(value: object) -> object:
    """A value that is safe in a spreadsheet cell: no formula, no control characters.

    Formula-like text gets a leading ``'`` (:func:`ridermap.safe_text.csv_cell`);
    control and bidi characters are shown escaped (:func:`ridermap.safe_text.text_line`).

    >>> safe_cell("=HYPERLINK(\\"http://x\\")"), safe_cell("-1+2"), safe_cell("南门\\n"), safe_cell(7)
    ('\\'=HYPERLINK("http://x")', "'-1+2", '南门\\\\n', 7)
    """
    if value is None or isinstance(value, (int, float)):
        return value
    return csv_cell(text_line(value))


def locate(source: str) -> tuple[str, str, int | None]:
    """``(file, sheet, row)`` of a finding's source; the last survey part of a merged source.

    >>> locate("osm:node/1;survey.xlsx:units:12")
    ('survey.xlsx', 'units', 12)
    >>> locate("survey.xlsx:units"), locate("osm:way/5")
    (('survey.xlsx', 'units', None), ('osm:way/5', '', None))
    """
    parts = [p for p in str(source).split(";") if p]
    for part in reversed(parts):
        bits = part.rsplit(":", 2)
        if len(bits) == 3 and bits[2].isdigit() and not bits[0].startswith("osm"):
            return bits[0], bits[1], int(bits[2])
    for part in reversed(parts):
        bits = part.split(":")
        if len(bits) == 2 and bits[0].lower().endswith(TABLE_SUFFIXES):
            return bits[0], bits[1], None
    return (parts[-1] if parts else ""), "", None


def write_findings_xlsx(
    findings: Iterable[Finding], target: str | Path, *, sources: Iterable[str | Path] = (), language: str = "zh"
) -> Path:
    """Write the findings workbook (see the module docstring); return ``target``.

    Parameters
    ----------
    findings
        What ``validate`` found.
    target
        The ``.xlsx`` to write (atomically).
    sources
        The sources validated; their XLSX/CSV survey files are copied with the
        bad cells marked. Others are ignored.
    language
        ``zh`` or ``en``: sheet and column names and the messages.
    """
    findings = list(findings)
    text = {**i18n.words("findings", language), "severity": i18n.words("severity", language)}
    wb = Workbook()
    ws = wb.active
    ws.title = text["sheet"]
    _findings_sheet(ws, findings, text, language)
    used = {ws.title}
    paths = [Path(str(getattr(src, "path", src))) for src in sources]
    paths = [p for p in paths if p.suffix.lower() in TABLE_SUFFIXES and p.is_file()]
    for path in paths:
        try:
            sheets = read_raw_sheets(path)
        except InputError as exc:  # validate has said so already
            log.warning("findings workbook: %s not copied: %s", path, exc)
            continue
        for sheet in sheets:
            if sheet.name is not None and sheet.name.strip().lower() in GUIDE_SHEETS:
                continue
            name = path.stem if sheet.name is None else (sheet.name if len(paths) == 1 else f"{path.stem}-{sheet.name}")
            title = _unique_title(name, used)
            tag = sheet.name if sheet.name is not None else None
            _copy_sheet(wb.create_sheet(title), sheet, path.name, tag, findings, language)
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return Path(target)


def _findings_sheet(ws, findings: list[Finding], text: dict, language: str) -> None:
    ws.append(list(text["header"]))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for f in findings:
        file, sheet, row = locate(f.source)
        ws.append(
            [
                safe_cell(v)
                for v in (
                    text["severity"].get(f.severity, f.severity),
                    file,
                    sheet,
                    row,
                    f.column,
                    f.value,
                    f.message(language),
                    f.code,
                    f.layer,
                    f.id,
                )
            ]
        )
        ws.cell(ws.max_row, 1).fill = FILLS.get(f.severity, FILLS["info"])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(text['header']))}{max(ws.max_row, 1)}"
    for col, width in zip("ABCDEFGHIJ", (8, 22, 12, 6, 12, 24, 90, 24, 12, 24)):
        ws.column_dimensions[col].width = width


def _unique_title(name: str, used: set[str]) -> str:
    base = text_line(_SHEET_BAD.sub("_", name)).strip("'")[:31] or "sheet"
    title, k = base, 2
    while title.lower() in {u.lower() for u in used}:
        suffix = f" ({k})"
        title, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(title)
    return title


def _copy_sheet(ws, sheet: RawSheet, file: str, tag: str | None, findings: list[Finding], language: str) -> None:
    """The sheet at its original row numbers, bad cells filled and commented."""
    for j, head in enumerate(sheet.header, start=1):
        ws.cell(1, j, safe_cell(head)).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(j)].width = max(8, min(40, len(str(head)) * 2 + 4))
    for number, cells in sheet.rows:
        for j, value in enumerate(cells, start=1):
            if value != "":
                ws.cell(number, j, safe_cell(_typed(value)))
    ws.freeze_panes = "A2"
    marks: dict[tuple[int, int], list[Finding]] = {}
    for f in findings:
        f_file, f_sheet, row = locate(f.source)
        if f_file != file or (tag is not None and f_sheet != tag):
            continue
        marks.setdefault((row or 1, _column_index(sheet.header, f.column)), []).append(f)
    for (row, col), hits in marks.items():
        worst = min(hits, key=lambda f: _RANK.get(f.severity, 2))
        cell = ws.cell(row, col)
        cell.fill = FILLS.get(worst.severity, FILLS["info"])
        note = "\n".join(text_line(h.message(language)) for h in hits)
        cell.comment = Comment(note[:30000], "ridermap", width=360, height=120)


def _typed(value: str) -> object:
    """A number typed as a number stays one (``104.09``, ``11``); ``007`` and ``1-2`` stay text.

    >>> _typed("104.0906768"), _typed("11"), _typed("007"), _typed("1-2"), _typed("-3.5")
    (104.0906768, 11, '007', '1-2', -3.5)
    """
    if re.fullmatch(r"-?(0|[1-9]\d{0,14})", value):
        return int(value)
    if re.fullmatch(r"-?(0|[1-9]\d*)\.\d+", value):
        return float(value)
    return value


def _column_index(header: list[str], column: str) -> int:
    """1-based column of ``column`` (as written or canonical) in ``header``; 1 if not found."""
    if not column:
        return 1
    for j, head in enumerate(header, start=1):
        if head == column:
            return j
    canon = canonical_column(column) or column
    for j, head in enumerate(header, start=1):
        if canonical_column(head) == canon:
            return j
    return 1
