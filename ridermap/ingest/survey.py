"""Read survey files (a grid worker's sheets) into per-layer tables in WGS84.

Formats: GeoJSON, GeoPackage, Shapefile, KML (pyogrio), CSV (UTF-8 or
GBK/GB18030) and XLSX (a sheet per layer). Layers are named by the sheet /
layer name, else by the file name (``units.csv``, ``单元.csv``). Columns may be
English or Chinese (see :data:`COLUMN_ALIASES`); points come from ``lon``/``lat``
(经度/纬度), other shapes from a ``wkt`` (几何) column or the file's geometry;
a row may instead name a survey key (``调查编号``) or an outline mark
(``位置标记``), resolved when the survey is merged.

Coordinates may be WGS84, CGCS2000, any EPSG code, GCJ-02 or BD-09: the CRS is
declared per source (config or ``--crs``); a file's own CRS is used otherwise.
Every row keeps a ``source`` like ``survey.xlsx:units:12`` (spreadsheet row).

A problem in one row or cell (a lon that is not a number, an unknown kind, a
number that cannot be parsed) never stops reading: it becomes a
:class:`~ridermap.model.findings.Finding` (``tables.findings``) naming file,
sheet, row, column and value, and that row (or cell) is left out. Only a file
that cannot be read at all raises :class:`~ridermap.errors.InputError`.

Memory is bounded by the real content: XLSX is streamed with openpyxl's
read-only mode, ignoring the declared sheet dimension, and columns are capped
to the header; CSV is streamed with the ``csv`` module.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from shapely import wkt as shapely_wkt

from ridermap.crs import normalise_crs, transform_geometries
from ridermap.errors import InputError
from ridermap.hours import check_hours
from ridermap.model.findings import Finding
from ridermap.model.schema import CRS, FACILITY_KINDS, LAYERS
from ridermap.numbers import parse_building_number, parse_unit_number

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".kml")
SURVEY_SUFFIXES = TABLE_SUFFIXES + VECTOR_SUFFIXES
#: a sheet holding more data rows than this is not a survey: reading stops there
MAX_ROWS = 100_000
#: header cells beyond this are ignored (the templates have about ten)
MAX_COLUMNS = 200
#: rows x header columns kept per sheet at most (a wide sheet stops earlier than MAX_ROWS)
MAX_CELLS = 2_000_000

LAYER_ALIASES = {
    "communities": ("communities", "community", "compounds", "小区", "社区", "院落"),
    "gates": ("gates", "gate", "出入口", "大门", "门"),
    "buildings": ("buildings", "building", "楼栋", "楼"),
    "units": ("units", "unit", "单元", "单元门"),
    "facilities": ("facilities", "facility", "设施", "配套设施"),
    "paths": ("paths", "path", "roads", "道路", "路径"),
}
GUIDE_SHEETS = ("说明", "guide", "readme", "填写说明")

#: canonical survey column -> accepted headers (case-insensitive).
COLUMN_ALIASES = {
    "id": ("id", "编码", "编号id", "代码"),
    "community": ("community", "community_id", "小区", "社区", "所属小区"),
    "name": ("name", "名称", "名字"),
    "name_en": ("name_en", "name:en", "english_name", "英文名", "英文名称", "拼音"),
    "building": ("building", "building_number", "楼号", "楼栋", "所属楼栋"),
    "unit": ("unit", "unit_number", "单元号", "单元"),
    "number": ("number", "编号", "号"),
    "label": ("label", "标注", "标签", "显示名"),
    "levels": ("levels", "层数", "楼层数"),
    "flats": ("flats", "房号范围", "户号"),
    "kind": ("kind", "类型", "种类"),
    "rider_access": ("rider_access", "骑手通行", "通行", "骑手进入"),
    "hours": ("hours", "rider_hours", "时段", "通行时段", "opening_hours"),
    "locked": ("locked", "上锁", "锁闭"),
    "access": ("access", "权限"),
    "rideable": ("rideable", "可骑行"),
    "osm_id": ("osm_id", "osm"),
    "lon": ("lon", "lng", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "wkt": ("wkt", "geometry_wkt", "几何", "范围"),
    "layer": ("layer", "图层"),
    "key": ("key", "survey_key", "调查编号"),
    "mark": ("mark", "位置标记"),
}
_HEADER_LOOKUP = {alias.lower(): canon for canon, aliases in COLUMN_ALIASES.items() for alias in aliases}

ACCESS_VALUES = {
    "ride": "ride",
    "可骑行": "ride",
    "骑行": "ride",
    "可骑入": "ride",
    "yes": "ride",
    "是": "ride",
    "允许": "ride",
    "walk": "walk",
    "步行": "walk",
    "停车步行": "walk",
    "下车步行": "walk",
    "推行": "walk",
    "none": "none",
    "禁止": "none",
    "禁入": "none",
    "不可进入": "none",
    "no": "none",
    "否": "none",
    "关闭": "none",
}
KIND_VALUES = {
    **{k: k for k in FACILITY_KINDS},
    "充电桩": "charger",
    "充电": "charger",
    "充电站": "charger",
    "换电柜": "battery_swap",
    "换电": "battery_swap",
    "换电站": "battery_swap",
    "骑手停车点": "rider_parking",
    "停车点": "rider_parking",
    "非机动车停车": "rider_parking",
    "停车": "rider_parking",
    "快递柜": "parcel_locker",
    "智能快递柜": "parcel_locker",
    "存取柜": "parcel_locker",
    "厕所": "toilet",
    "公共厕所": "toilet",
    "公厕": "toilet",
    "骑手驿站": "rider_station",
    "驿站": "rider_station",
    "暖新驿站": "rider_station",
    "饮水点": "drinking_water",
    "饮水": "drinking_water",
    "换乘自行车": "transfer_bicycle",
}
BOOL_VALUES = {
    "yes": True,
    "是": True,
    "true": True,
    "1": True,
    "y": True,
    "锁": True,
    "no": False,
    "否": False,
    "false": False,
    "0": False,
    "n": False,
    "": False,
}

#: which canonical columns each survey layer needs (one group of alternatives each);
#: a survey key (``key``) or outline mark (``mark``) may stand for a location.
REQUIRED = {
    "communities": (("name", "id"),),
    "gates": (("name", "lon", "wkt", "key", "mark"),),
    "buildings": (("number", "label", "key"),),
    "units": (("unit", "label", "key"), ("lon", "wkt", "key", "mark")),
    "facilities": (("kind",), ("lon", "wkt", "key", "mark")),
    "paths": (("wkt",),),
}
_WHAT_ZH = {
    "lon": "经度",
    "lat": "纬度",
    "wkt": "几何（WKT）",
    "kind": "类型",
    "rider_access": "骑手通行",
    "locked": "上锁",
    "rideable": "可骑行",
    "levels": "层数",
    "number": "楼号",
    "building": "楼号",
    "unit": "单元号",
    "hours": "时段",
    "id": "编码",
}


class SurveyTables(dict):
    """``{layer: GeoDataFrame}`` of one survey file, plus what reading noticed.

    Attributes
    ----------
    findings
        Row and cell problems (the rows or cells they name were left out).
    headers
        ``{sheet or layer tag: {canonical column: header as written}}``, for
        messages that name the column the grid worker sees.
    """

    def __init__(self, *args, findings=(), headers=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.findings: list[Finding] = list(findings)
        self.headers: dict[str, dict[str, str]] = dict(headers or {})


@dataclass
class RawSheet:
    """One sheet (or CSV file) as text cells, bounded by its real content.

    ``rows`` are ``(spreadsheet row number, cells)`` with as many cells as the
    header; empty rows are left out. ``notes`` are one-line problems with the
    sheet as a whole (``(code, message_en, message_zh)``); ``long_rows`` are
    CSV rows with more cells than the header (left out).
    """

    name: str | None
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    long_rows: list[int] = field(default_factory=list)  # CSV rows with more cells than the header


class _CellError(Exception):
    """A problem in one cell or row (becomes a Finding; the row is skipped)."""

    def __init__(self, code: str, column: str, value: object, en: str, zh: str) -> None:
        super().__init__(en)
        self.code, self.column, self.value, self.en, self.zh = code, column, str(value), en, zh


def is_survey_path(path: str | Path) -> bool:
    return str(path).lower().endswith(SURVEY_SUFFIXES)


def layer_for_name(name: str) -> str | None:
    """Map a sheet / layer / file-stem name to a model layer, or None."""
    key = name.strip().lower()
    for layer, aliases in LAYER_ALIASES.items():
        if key in aliases:
            return layer
    for layer, aliases in LAYER_ALIASES.items():  # e.g. "survey_units", "锦华苑单元"
        if any(a in key for a in aliases if len(a) > 1):
            return layer
    return None


def canonical_column(header: object) -> str | None:
    """The canonical name of a header as written (``经度`` -> ``lon``), or None."""
    return _HEADER_LOOKUP.get(str(header).strip().lower())


def read_survey(path: str | Path, *, crs: str | None = None) -> SurveyTables:
    """Read one survey file into ``{layer: GeoDataFrame in WGS84}``.

    Each frame has canonical columns (see :data:`COLUMN_ALIASES`), ``source``
    and ``row`` (the row or feature number for messages). Rows with problems
    are left out and reported in ``.findings``.

    Raises
    ------
    InputError
        Only when the file cannot be read at all (missing, empty, not a
        workbook, a sheet or layer whose layer cannot be told, a required
        column missing).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found", zh=f"{path}：文件不存在")
    suffix = path.suffix.lower()
    if suffix not in SURVEY_SUFFIXES:
        raise InputError(
            f"{path}: unsupported file type {suffix or '(none)'!r} (use .osm/.pbf, {', '.join(SURVEY_SUFFIXES)})",
            zh=f"{path}：不支持的文件类型 {suffix or '（无）'}（请用 .osm/.pbf、{'、'.join(SURVEY_SUFFIXES)}）",
        )
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty", zh=f"{path}：文件为空")
    declared = normalise_crs(crs) if crs else None
    if suffix not in TABLE_SUFFIXES:
        return _read_vector(path, declared)
    out = SurveyTables()
    sheets = read_raw_sheets(path)
    for sheet in sheets:
        if sheet.name is not None and sheet.name.strip().lower() in GUIDE_SHEETS:
            continue
        if sheet.name is not None and not sheet.rows:  # an empty sheet: only what was odd about it
            empty_layer = layer_for_name(sheet.name)
            if empty_layer:
                _note_findings(out, sheet, path, empty_layer)
            continue
        layer = _layer_of_file(path, sheet.name)
        _note_findings(out, sheet, path, layer)
        gdf = _table_to_gdf(sheet, path, layer, declared or "EPSG:4326", out)
        out[layer] = pd.concat([out[layer], gdf], ignore_index=True) if layer in out else gdf
    if not out and suffix != ".csv":
        names = ", ".join(s.name or "" for s in sheets)
        raise InputError(
            f"{path}: no survey sheets with data (sheets: {names})",
            zh=f"{path}：没有含数据的调查工作表（工作表：{names}）",
        )
    return out


def _note_findings(out: SurveyTables, sheet: RawSheet, path: Path, layer: str) -> None:
    """One finding per note of a sheet (cut short, too wide, declared range ignored)."""
    tag = sheet.name if sheet.name is not None else layer
    for code, en, zh in sheet.notes:
        severity = "error" if code == "sheet_too_long" else "warning"  # rows were not read
        out.findings.append(
            Finding(
                severity,
                code,
                layer,
                "",
                f"{path.name}:{tag}",
                f"{_where_zh(path, sheet.name)}：{zh}",
                f"{_where_en(path, sheet.name)}: {en}",
            )
        )


def _where_en(path: Path, sheet: str | None) -> str:
    return f"{path.name}" + (f" sheet {sheet}" if sheet is not None else "")


def _where_zh(path: Path, sheet: str | None) -> str:
    return f"{path.name}" + (f" 工作表“{sheet}”" if sheet is not None else "")


def _layer_of_file(path: Path, sheet: str | None) -> str:
    name = sheet if sheet is not None else path.stem
    layer = layer_for_name(name)
    if layer is None:
        known = ", ".join(LAYERS)
        what, what_zh = (f"sheet {sheet!r}", f"工作表名“{sheet}”") if sheet is not None else ("file name", "文件名")
        raise InputError(
            f"{path}: cannot tell the layer from the {what} (name it after one of: {known}; or "
            "单元/楼栋/出入口/设施/小区/道路)",
            zh=f"{path}：无法从{what_zh}判断图层（请命名为 单元/楼栋/出入口/设施/小区/道路 之一，或 {known}）",
        )
    return layer


# --- bounded raw readers ------------------------------------------------------


def read_raw_sheets(path: str | Path) -> list[RawSheet]:
    """The sheets of an XLSX, or the one table of a CSV, as text cells.

    Memory is bounded by the content: the declared dimension of a sheet is
    ignored, trailing empty rows and cells are dropped, columns are capped to
    the header (at most :data:`MAX_COLUMNS`) and rows to :data:`MAX_ROWS`;
    what was cut is said in the sheet's ``notes``.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return [_read_csv(path)]
    return _read_xlsx(path)


def _cell_text(value: object) -> str:
    """A cell as the grid worker typed it: ``11`` not ``11.0``, ``07:00`` not ``07:00:00``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M") if not value.second else value.isoformat()
    return str(value).strip()


class _SheetBuilder:
    """Collects the rows of one sheet, bounded by the header width and MAX_ROWS."""

    def __init__(self, name: str | None, header_cells) -> None:
        header = [_cell_text(v) for v in header_cells]
        while header and not header[-1]:
            header.pop()
        self.sheet = RawSheet(name, header[:MAX_COLUMNS])
        if len(header) > MAX_COLUMNS:
            self.sheet.notes.append(
                (
                    "sheet_too_wide",
                    f"{len(header)} header cells; only the first {MAX_COLUMNS} columns are read",
                    f"表头有 {len(header)} 列，只读取前 {MAX_COLUMNS} 列",
                )
            )
        self.width = len(self.sheet.header)
        self.beyond: str | None = None  # first cell with a value right of the header
        self.last_row = 1

    def add(self, number: int, cells) -> bool:
        """Add one row; False once the sheet holds more than MAX_ROWS rows."""
        self.last_row = number
        if self.beyond is None and len(cells) > self.width and any(v not in (None, "") for v in cells[self.width :]):
            col = self.width + next(i for i, v in enumerate(cells[self.width :]) if v not in (None, ""))
            self.beyond = f"{get_column_letter(col + 1)}{number}"
        text = [_cell_text(v) for v in cells[: self.width]]
        if not any(text):
            return True
        limit = min(MAX_ROWS, MAX_CELLS // max(self.width, 1))
        if len(self.sheet.rows) >= limit:
            self.sheet.notes.append(
                (
                    "sheet_too_long",
                    f"more than {limit} rows; rows from row {number} on are not read",
                    f"超过 {limit} 行，从第 {number} 行起未读取",
                )
            )
            return False
        self.sheet.rows.append((number, text + [""] * (self.width - len(text))))
        return True

    def finish(self) -> RawSheet:
        if self.beyond is not None:
            self.sheet.notes.append(
                (
                    "cells_beyond_header",
                    f"cells right of the header columns are ignored (first at {self.beyond})",
                    f"表头以外的单元格被忽略（第一个在 {self.beyond}）",
                )
            )
        return self.sheet


def _read_xlsx(path: Path) -> list[RawSheet]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile, InvalidFileException, ParseError) as exc:
        raise InputError(
            f"{path}: cannot read as XLSX (truncated or not a workbook): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            zh=f"{path}：无法读取为 XLSX（文件不完整或不是工作簿）",
        ) from exc
    try:
        return [_read_worksheet(ws) for ws in wb.worksheets]
    except (ValueError, OSError, KeyError, zipfile.BadZipFile, ParseError, EOFError) as exc:
        raise InputError(
            f"{path}: cannot read as XLSX (truncated or damaged sheet): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            zh=f"{path}：无法读取为 XLSX（工作表不完整或已损坏）",
        ) from exc
    finally:
        wb.close()


def _read_worksheet(ws) -> RawSheet:
    declared = (ws.max_row or 0, ws.max_column or 0)
    ws.reset_dimensions()  # a declared A1:XFD1048576 is not trusted
    rows = ws.iter_rows(values_only=True)
    builder = _SheetBuilder(ws.title, next(rows, ()))
    for number, cells in enumerate(rows, start=2):
        if cells and not builder.add(number, cells):  # () for the rows of a gap
            break
    sheet = builder.finish()
    real_rows = sheet.rows[-1][0] if sheet.rows else 1
    if declared[0] > max(10 * real_rows, real_rows + 1000) or declared[1] > MAX_COLUMNS:
        beyond = [n for n in sheet.notes if n[0] == "cells_beyond_header"]
        sheet.notes = [n for n in sheet.notes if n[0] != "cells_beyond_header"]
        en = f"the sheet declares {declared[0]} rows x {declared[1]} columns but its data ends at row {real_rows}"
        zh = f"工作表声明了 {declared[0]} 行 × {declared[1]} 列，但数据只到第 {real_rows} 行"
        if beyond:
            en, zh = f"{en}; {beyond[0][1]}", f"{zh}；{beyond[0][2]}"
        sheet.notes.append(("sheet_extent_ignored", f"{en}; only the data is read", f"{zh}；只读取实际数据"))
    return sheet


def _read_csv(path: Path) -> RawSheet:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with path.open(encoding=encoding, newline="") as fh:
                return _csv_sheet(path, csv.reader(fh, skipinitialspace=True))
        except UnicodeDecodeError:
            continue
        except csv.Error as exc:
            raise InputError(f"{path}: not a valid CSV table: {exc}", zh=f"{path}：不是有效的 CSV 表格：{exc}") from exc
    raise InputError(
        f"{path}: not UTF-8 or GBK/GB18030 text", zh=f"{path}：不是 UTF-8 或 GBK/GB18030 文本"
    )  # pragma: no cover


def _csv_sheet(path: Path, reader) -> RawSheet:
    header, first = next(reader, None), 1
    while header is not None and not any(c.strip() for c in header):  # leading blank lines
        header, first = next(reader, None), first + 1
    if header is None:
        raise InputError(f"{path}: file is empty", zh=f"{path}：文件为空")
    builder = _SheetBuilder(None, header)
    long_rows: list[int] = []
    for number, cells in enumerate(reader, start=first + 1):
        if len(cells) > builder.width and any(c.strip() for c in cells[builder.width :]):
            long_rows.append(number)  # a comma in an unquoted value shifts every cell after it
            continue
        if not builder.add(number, cells):
            break
    sheet = builder.finish()
    sheet.long_rows = long_rows
    return sheet


# --- rows to GeoDataFrames ------------------------------------------------------


class _Table:
    """One sheet / CSV / vector layer being read: its findings and skipped rows."""

    def __init__(
        self,
        path: Path,
        sheet: str | None,
        layer: str,
        tag: str,
        headers: dict[str, str],
        out: SurveyTables,
        unit: str = "row",
    ) -> None:
        self.path, self.sheet, self.layer, self.tag, self.headers, self.out, self.unit = (
            path,
            sheet,
            layer,
            tag,
            headers,
            out,
            unit,
        )
        self.skipped: set[int] = set()
        out.headers[tag] = headers

    def report(
        self, row: int, exc: _CellError, *, skip: bool = True, severity: str = "error", row_id: str = ""
    ) -> None:
        header = self.headers.get(exc.column, exc.column)
        value = exc.value if len(exc.value) <= 60 else exc.value[:57] + "..."
        unit_zh = "行" if self.unit == "row" else "个要素"
        col_en = f", column {header}" if header else ""
        col_zh = f"“{header}”列" if header else ""
        val_en = f" (value {value!r})" if exc.value else ""
        val_zh = f"（值“{value}”）" if exc.value else ""
        where_en, where_zh = _where_en(self.path, self.sheet), _where_zh(self.path, self.sheet)
        if self.unit == "feature":
            where_en, where_zh = f"{self.path.name} layer {self.tag}", f"{self.path.name} 图层“{self.tag}”"
        self.out.findings.append(
            Finding(
                severity,
                exc.code,
                self.layer,
                row_id,
                f"{self.path.name}:{self.tag}:{row}",
                f"{where_zh} 第 {row} {unit_zh}{col_zh}{val_zh}：{exc.zh}"
                + ("；该行未采用" if skip else "；该单元格未采用"),
                f"{where_en} {self.unit} {row}{col_en}{val_en}: {exc.en}"
                + ("; row not used" if skip else "; cell not used"),
                column=header,
                value=exc.value,
            )
        )
        if skip:
            self.skipped.add(row)


def _canonical_columns(header: list[str], where: str) -> dict[int, str]:
    """``{column index: canonical name}`` of the headers ridermap knows."""
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    for i, col in enumerate(header):
        canon = canonical_column(col)
        if canon is None:
            continue
        if canon in seen:
            raise InputError(
                f"{where}: columns {seen[canon]!r} and {col!r} both mean {canon!r}",
                zh=f"{where}：列“{seen[canon]}”和“{col}”含义相同（{canon}），请只保留一列",
            )
        seen[canon] = str(col)
        mapping[i] = canon
    return mapping


def _check_required(columns, layer: str, where: str, has_geometry: bool) -> None:
    present = set(columns) | ({"lon", "wkt"} if has_geometry else set())
    for group in REQUIRED[layer]:
        if not present & set(group):
            names = " or ".join(f"{g} ({COLUMN_ALIASES[g][-1]})" for g in group)
            names_zh = " 或 ".join(f"“{COLUMN_ALIASES[g][-1]}”" for g in group)
            raise InputError(
                f"{where}: layer {layer}: missing column {names}", zh=f"{where}：图层 {layer} 缺少列 {names_zh}"
            )


def _table_to_gdf(sheet: RawSheet, path: Path, layer: str, crs: str, out: SurveyTables) -> gpd.GeoDataFrame:
    where = f"{path}" + (f" sheet {sheet.name}" if sheet.name is not None else "")
    mapping = _canonical_columns(sheet.header, where)
    headers = {canon: sheet.header[i] for i, canon in mapping.items()}
    table = _Table(path, sheet.name, layer, sheet.name if sheet.name is not None else layer, headers, out)
    records = [(row, {canon: cells[i] for i, canon in mapping.items()}) for row, cells in sheet.rows]
    records = [(row, rec) for row, rec in records if any(rec.values())]
    _check_required(mapping.values(), layer, where, has_geometry=False)
    for row in sheet.long_rows:
        table.report(
            row,
            _CellError(
                "row_too_long",
                "",
                "",
                "more cells than the header (a comma inside a value? put the value in quotes)",
                "单元格比表头多（值里有逗号？请给该值加引号）",
            ),
        )
    geoms = []
    for row, rec in records:
        try:
            geoms.append(_row_geometry(rec, crs))
        except _CellError as exc:
            table.report(row, exc)
            geoms.append(None)
    df = pd.DataFrame([rec for _, rec in records], columns=list(dict.fromkeys(mapping.values())), dtype=object).fillna(
        ""
    )
    gdf = gpd.GeoDataFrame(df.drop(columns=[c for c in ("lon", "lat", "wkt") if c in df]), geometry=geoms, crs=CRS)
    gdf["row"] = [row for row, _ in records]
    gdf["source"] = [f"{path.name}:{table.tag}:{row}" for row, _ in records]
    return _finish(gdf, table)


def _number(text: str, what: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = float("nan")
    if not np.isfinite(x):
        example = "116.35" if what == "lon" else "39.96"
        raise _CellError(
            "bad_number",
            what,
            text,
            f"{what} {text!r} is not a number (expected decimal degrees like {example}, or projected metres with the "
            "CRS declared)",
            f"{_WHAT_ZH[what]}不是数字（应为十进制度数，如 {example}；投影坐标请声明 crs）",
        )
    return x


def _row_geometry(rec: dict, crs: str):
    wkt_text = str(rec.get("wkt", "") or "").strip()
    lon_text = str(rec.get("lon", "") or "").strip()
    lat_text = str(rec.get("lat", "") or "").strip()
    if wkt_text:
        try:
            geom = shapely_wkt.loads(wkt_text)
        except shapely.errors.ShapelyError:
            raise _CellError(
                "bad_wkt",
                "wkt",
                wkt_text,
                "not valid WKT (expected e.g. POLYGON ((116.35 39.96, ...)))",
                "不是有效的 WKT（应如 POLYGON ((116.35 39.96, ...))）",
            ) from None
    elif lon_text or lat_text:
        if not lon_text or not lat_text:
            missing = "lat" if lon_text else "lon"
            raise _CellError(
                "missing_coordinate",
                missing,
                "",
                f"{missing} is empty while {'lon' if missing == 'lat' else 'lat'} is given",
                f"{_WHAT_ZH[missing]}为空（另一坐标已填写）",
            )
        geom = shapely.Point(_number(lon_text, "lon"), _number(lat_text, "lat"))
    else:
        return None
    return _to_wgs84(geom, crs)


def _to_wgs84(geom, crs: str):
    if geom is None or geom.is_empty:
        return geom
    coords = shapely.get_coordinates(geom)
    if crs in ("EPSG:4326", "EPSG:4490", "gcj02", "bd09"):
        _check_lonlat(coords)
    out = transform_geometries(np.array([geom]), crs)[0]
    if not np.isfinite(shapely.get_coordinates(out)).all():
        raise _CellError(
            "coordinates_do_not_fit_crs",
            "lon",
            f"{coords[0, 0]:g}, {coords[0, 1]:g}",
            f"coordinates do not fit {crs}",
            f"坐标不符合声明的坐标系 {crs}",
        )
    return out


def _check_lonlat(coords: np.ndarray) -> None:
    lon, lat = coords[:, 0], coords[:, 1]
    china_swapped = (lat >= 73) & (lat <= 136) & (lon >= 3) & (lon <= 54)
    if (np.abs(lat) > 90).any() or china_swapped.any():
        k = int(np.flatnonzero((np.abs(lat) > 90) | china_swapped)[0])
        if np.abs(lon[k]) <= 90:
            raise _CellError(
                "lonlat_swapped",
                "lon",
                f"{lon[k]:g}",
                f"lon/lat look swapped (lon={lon[k]:g}, lat={lat[k]:g})",
                f"经纬度似乎填反了（经度={lon[k]:g}，纬度={lat[k]:g}）",
            )
        raise _CellError(
            "lat_out_of_range",
            "lat",
            f"{lat[k]:g}",
            f"lat {lat[k]:g} is outside -90..90",
            f"纬度 {lat[k]:g} 超出 -90..90",
        )
    if (np.abs(lon) > 180).any():
        k = int(np.flatnonzero(np.abs(lon) > 180)[0])
        raise _CellError(
            "lon_out_of_range",
            "lon",
            f"{lon[k]:g}",
            f"lon {lon[k]:g} is outside -180..180 (projected coordinates? declare the CRS)",
            f"经度 {lon[k]:g} 超出 -180..180（投影坐标？请声明 crs）",
        )


def _read_vector(path: Path, declared: str | None) -> SurveyTables:
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{path}: cannot read: {str(exc).splitlines()[0]}", zh=f"{path}：无法读取") from exc
    out = SurveyTables()
    single = len(layers) == 1
    for name in layers:
        try:
            gdf = pyogrio.read_dataframe(path, layer=name)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as exc:
            raise InputError(
                f"{path}: layer {name}: cannot read: {str(exc).splitlines()[0]}", zh=f"{path}：图层 {name} 无法读取"
            ) from exc
        layer = layer_for_name(name) or (layer_for_name(path.stem) if single else None)
        if layer is None:
            if "layer" in {canonical_column(c) for c in gdf.columns}:
                for sub, part in _split_by_layer_column(gdf, path).items():
                    out[sub] = _vector_layer(part, path, sub, name, declared, out)
                continue
            raise InputError(
                f"{path}: cannot tell the model layer of layer {name!r} (name it after one of: {', '.join(LAYERS)})",
                zh=f"{path}：无法判断图层“{name}”属于哪个图层（请命名为 {', '.join(LAYERS)} 之一）",
            )
        out[layer] = _vector_layer(gdf, path, layer, name, declared, out)
    if not out:
        raise InputError(f"{path}: no layers", zh=f"{path}：没有图层")
    return out


def _split_by_layer_column(gdf: gpd.GeoDataFrame, path: Path) -> dict[str, gpd.GeoDataFrame]:
    col = next(c for c in gdf.columns if canonical_column(c) == "layer")
    out = {}
    for value, part in gdf.groupby(gdf[col].astype(str)):
        layer = layer_for_name(value)
        if layer is None:
            raise InputError(
                f"{path}: unknown layer value {value!r} in column {col!r}",
                zh=f"{path}：列“{col}”中的图层名“{value}”未知",
            )
        out[layer] = part
    return out


def _vector_layer(
    gdf: gpd.GeoDataFrame, path: Path, layer: str, name: str, declared: str | None, out: SurveyTables
) -> gpd.GeoDataFrame:
    where = f"{path} layer {name}"
    src_crs = declared or (normalise_crs(gdf.crs.to_string()) if gdf.crs is not None else "EPSG:4326")
    attrs_raw = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(str).replace({"None": "", "nan": ""})
    mapping = _canonical_columns(list(attrs_raw.columns), where)
    attrs = attrs_raw.iloc[:, list(mapping)].set_axis(list(mapping.values()), axis=1)
    _check_required(attrs.columns, layer, where, has_geometry=True)
    table = _Table(
        path, None, layer, name, {canon: str(attrs_raw.columns[i]) for i, canon in mapping.items()}, out, unit="feature"
    )
    rows = list(range(1, len(gdf) + 1))
    out_geoms = []
    for g, r in zip(gdf.geometry.values, rows):
        try:
            out_geoms.append(_to_wgs84(g, src_crs) if g is not None else None)
        except _CellError as exc:
            table.report(r, exc)
            out_geoms.append(None)
    result = gpd.GeoDataFrame(attrs.reset_index(drop=True), geometry=out_geoms, crs=CRS)
    result["row"] = rows
    result["source"] = [f"{path.name}:{name}:{r}" for r in rows]
    return _finish(result, table)


def _finish(gdf: gpd.GeoDataFrame, table: _Table) -> gpd.GeoDataFrame:
    """Normalise values (access, kinds, booleans, numbers, hours); report and drop bad rows."""
    for col in gdf.columns:
        if col not in ("geometry", "row"):
            gdf[col] = gdf[col].fillna("").astype(str).str.strip()
    layer = table.layer
    lookups = [("rider_access", ACCESS_VALUES, True), ("locked", BOOL_VALUES, True), ("rideable", BOOL_VALUES, True)]
    if layer == "facilities":
        lookups.append(("kind", KIND_VALUES, False))
    for col, values, allow_empty in lookups:
        if col in gdf:
            gdf[col] = [
                _checked(
                    table,
                    r,
                    lambda v=v, values=values, col=col, allow_empty=allow_empty: _lookup(
                        values, v, col, allow_empty=allow_empty
                    ),
                    skip=col == "kind",
                    fallback=False if values is BOOL_VALUES else "",
                )
                for v, r in zip(gdf[col], gdf["row"])
            ]
    if "levels" in gdf:
        gdf["levels"] = [
            _checked(table, r, lambda v=v: _levels(v), skip=False) for v, r in zip(gdf["levels"], gdf["row"])
        ]
    if "hours" in gdf and layer in ("gates", "communities"):
        gdf["hours"] = [_checked(table, r, lambda v=v: _hours(v), skip=False) for v, r in zip(gdf["hours"], gdf["row"])]
    for col, parse in _NUMBER_COLUMNS.get(layer, ()):
        if col in gdf:
            for v, r in zip(gdf[col], gdf["row"]):
                _checked(table, r, lambda v=v, parse=parse, col=col: _parsed_number(v, parse, col), skip=True)
    for geom, r in zip(gdf.geometry, gdf["row"]):
        if geom is not None and not geom.is_empty and not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            table.report(
                r,
                _CellError(
                    "invalid_geometry",
                    "wkt",
                    "",
                    f"invalid {geom.geom_type.lower()} ({reason})",
                    f"几何图形无效（{geom.geom_type}：{reason}）",
                ),
            )
    _check_ids(gdf, table)
    keep = ~gdf["row"].isin(table.skipped)
    if not keep.all():
        log.debug(
            "%s: %d %s(s) of layer %s not used (see validate)", table.path.name, int((~keep).sum()), table.unit, layer
        )
    return gdf[keep].reset_index(drop=True)


_NUMBER_COLUMNS = {
    "buildings": (("number", parse_building_number),),
    "units": (("building", parse_building_number), ("unit", parse_unit_number)),
}


def _checked(table: _Table, row: int, fn, *, skip: bool, fallback=""):
    """``fn()``, or ``fallback`` after reporting its :class:`_CellError` for ``row``."""
    try:
        return fn()
    except _CellError as exc:
        table.report(row, exc, skip=skip)
        return fallback


def _levels(value: str) -> str:
    if value and not re.fullmatch(r"\d+(\.0+)?", value):
        raise _CellError(
            "bad_levels", "levels", value, "levels is not a whole number (expected e.g. 6)", "层数不是整数（应如 6）"
        )
    return value


def _hours(value: str) -> str:
    problem = check_hours(value) if value else None
    if problem is None or problem.unsupported:  # unsupported: validate warns, pages show the text
        return value
    raise _CellError(
        "hours_invalid",
        "hours",
        value,
        f"not valid opening_hours: {problem.message_en} (expected e.g. Mo-Fr 07:00-09:00)",
        f"时段写法无效：{problem.message_zh}（应如 Mo-Fr 07:00-09:00）",
    )


def _parsed_number(value: str, parse, col: str) -> None:
    if value and not parse(value):
        kind_en, kind_zh, example = (
            ("unit number", "单元号", "2, 2单元, 一单元")
            if col == "unit"
            else ("building number", "楼号", "7, 7号楼, 十二栋, B3")
        )
        raise _CellError(
            "number_unparsed",
            col,
            value,
            f"{kind_en} cannot be read (expected e.g. {example})",
            f"无法识别{kind_zh}（应如 {example}）",
        )


def _check_ids(gdf: gpd.GeoDataFrame, table: _Table) -> None:
    if "id" not in gdf:
        return
    first: dict[str, int] = {}
    for v, r in zip(gdf["id"], gdf["row"]):
        if not v or r in table.skipped:
            continue
        if v in first:
            table.report(
                r,
                _CellError(
                    "duplicate_id",
                    "id",
                    v,
                    f"duplicate id {v!r} (first at {table.unit} {first[v]})",
                    f"编码“{v}”重复（第一次出现在第 {first[v]} 行）",
                ),
            )
            continue
        first[v] = r


def _lookup(table: dict, value: str, col: str, *, allow_empty: bool = True):
    key = str(value).strip().lower()
    if key == "" and allow_empty:
        return "" if table is not BOOL_VALUES else False
    if key in table:
        return table[key]
    if value in table:
        return table[value]
    choices = ", ".join(sorted({str(k) for k in table if k})[:12])
    choices_zh = "、".join(sorted({str(k) for k in table if k and not k.isascii()})[:12])
    if not key:
        raise _CellError(
            "missing_value",
            col,
            value,
            f"{col} is empty (one of {choices})",
            f"{_WHAT_ZH.get(col, col)}为空（应为 {choices_zh} 之一）",
        )
    raise _CellError(
        "bad_value",
        col,
        value,
        f"{col} {value!r} is not one of {choices}",
        f"{_WHAT_ZH.get(col, col)}“{value}”无法识别（应为 {choices_zh or choices} 之一）",
    )
