"""Read survey files (a grid worker's sheets) into per-layer tables in WGS84.

Formats: GeoJSON, GeoPackage, Shapefile, KML (pyogrio), CSV (UTF-8 or
GBK/GB18030) and XLSX (a sheet per layer). Layers are named by the sheet /
layer name, else by the file name (``units.csv``, ``单元.csv``). Columns may be
English or Chinese (see :data:`COLUMN_ALIASES`); points come from ``lon``/``lat``
(经度/纬度), other shapes from a ``wkt`` (几何) column or the file's geometry.

Coordinates may be WGS84, CGCS2000, any EPSG code, GCJ-02 or BD-09: the CRS is
declared per source (config or ``--crs``); a file's own CRS is used otherwise.
Every row keeps a ``source`` like ``survey.xlsx:units:12`` (spreadsheet row).
"""
from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from openpyxl.utils.exceptions import InvalidFileException
from shapely import wkt as shapely_wkt

from ridermap.errors import CRSError, InputError
from ridermap.ingest.crs import normalise_crs, transform_geometries
from ridermap.model.schema import CRS, FACILITY_KINDS, LAYERS

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".kml")
SURVEY_SUFFIXES = TABLE_SUFFIXES + VECTOR_SUFFIXES

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
    "ride": "ride", "可骑行": "ride", "骑行": "ride", "可骑入": "ride", "yes": "ride", "是": "ride", "允许": "ride",
    "walk": "walk", "步行": "walk", "停车步行": "walk", "下车步行": "walk", "推行": "walk",
    "none": "none", "禁止": "none", "禁入": "none", "不可进入": "none", "no": "none", "否": "none", "关闭": "none",
}
KIND_VALUES = {
    **{k: k for k in FACILITY_KINDS},
    "充电桩": "charger", "充电": "charger", "充电站": "charger",
    "换电柜": "battery_swap", "换电": "battery_swap", "换电站": "battery_swap",
    "骑手停车点": "rider_parking", "停车点": "rider_parking", "非机动车停车": "rider_parking", "停车": "rider_parking",
    "快递柜": "parcel_locker", "智能快递柜": "parcel_locker", "存取柜": "parcel_locker",
    "厕所": "toilet", "公共厕所": "toilet", "公厕": "toilet",
    "骑手驿站": "rider_station", "驿站": "rider_station", "暖新驿站": "rider_station",
    "饮水点": "drinking_water", "饮水": "drinking_water",
    "换乘自行车": "transfer_bicycle",
}
BOOL_VALUES = {"yes": True, "是": True, "true": True, "1": True, "y": True, "锁": True,
               "no": False, "否": False, "false": False, "0": False, "n": False, "": False}

#: which canonical columns each survey layer needs (one group of alternatives each).
REQUIRED = {
    "communities": (("name", "id"),),
    "gates": (("name", "lon", "wkt", "key", "mark"),),
    "buildings": (("number", "label", "key"),),
    "units": (("unit", "label", "key"), ("lon", "wkt", "key", "mark")),
    "facilities": (("kind",), ("lon", "wkt", "key", "mark")),
    "paths": (("wkt",),),
}


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


def read_survey(path: str | Path, *, crs: str | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Read one survey file into ``{layer: GeoDataFrame in WGS84}``.

    Each frame has canonical columns (see :data:`COLUMN_ALIASES`), ``source``
    and ``row`` (the row or feature number for messages).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix not in SURVEY_SUFFIXES:
        raise InputError(f"{path}: unsupported file type {suffix or '(none)'!r} (use .osm/.pbf, "
                         f"{', '.join(SURVEY_SUFFIXES)})")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    declared = normalise_crs(crs) if crs else None
    if suffix == ".csv":
        frames = {_layer_of_file(path, None): _read_csv(path)}
        return {layer: _table_to_gdf(df, path, layer, sheet=None, crs=declared or "EPSG:4326") for layer, df in frames.items()}
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, declared)
    return _read_vector(path, declared)


def _layer_of_file(path: Path, sheet: str | None) -> str:
    name = sheet if sheet is not None else path.stem
    layer = layer_for_name(name)
    if layer is None:
        known = ", ".join(LAYERS)
        what = f"sheet {sheet!r}" if sheet is not None else "file name"
        raise InputError(f"{path}: cannot tell the layer from the {what} (name it after one of: {known}; or 单元/楼栋/出入口/设施/小区/道路)")
    return layer


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise InputError(f"{path}: not UTF-8 or GBK/GB18030 text")
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    from io import StringIO

    try:
        return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a valid CSV table: {str(exc).splitlines()[0]}") from exc


def _read_xlsx(path: Path, declared: str | None) -> dict[str, gpd.GeoDataFrame]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, engine="openpyxl")
    except (ValueError, OSError, KeyError, zipfile.BadZipFile, InvalidFileException) as exc:
        raise InputError(f"{path}: cannot read as XLSX (truncated or not a workbook): {str(exc).splitlines()[0]}") from exc
    out: dict[str, gpd.GeoDataFrame] = {}
    for sheet, df in sheets.items():
        if sheet.strip().lower() in GUIDE_SHEETS or df.dropna(how="all").empty:
            continue
        layer = _layer_of_file(path, sheet)
        gdf = _table_to_gdf(df, path, layer, sheet=sheet, crs=declared or "EPSG:4326")
        out[layer] = pd.concat([out[layer], gdf], ignore_index=True) if layer in out else gdf
    if not out:
        raise InputError(f"{path}: no survey sheets with data (sheets: {', '.join(sheets)})")
    return out


def _canonical_columns(df: pd.DataFrame, where: str) -> pd.DataFrame:
    mapping, seen = {}, {}
    for col in df.columns:
        canon = _HEADER_LOOKUP.get(str(col).strip().lower())
        if canon is None:
            continue
        if canon in seen:
            raise InputError(f"{where}: columns {seen[canon]!r} and {col!r} both mean {canon!r}")
        seen[canon] = col
        mapping[col] = canon
    return df[list(mapping)].rename(columns=mapping)


def _check_required(df: pd.DataFrame, layer: str, where: str, has_geometry: bool) -> None:
    present = set(df.columns) | ({"lon", "wkt"} if has_geometry else set())
    for group in REQUIRED[layer]:
        if not present & set(group):
            names = " or ".join(f"{g} ({COLUMN_ALIASES[g][-1]})" for g in group)
            raise InputError(f"{where}: layer {layer}: missing column {names}")


def _table_to_gdf(df: pd.DataFrame, path: Path, layer: str, *, sheet: str | None, crs: str) -> gpd.GeoDataFrame:
    where = f"{path}" + (f" sheet {sheet}" if sheet else "")
    tag = f"{path.name}:{sheet or layer}"
    df = _canonical_columns(df, where).reset_index(drop=True)
    df = df[~(df.astype(str).apply(lambda s: s.str.strip()) == "").all(axis=1)] if len(df.columns) else df
    _check_required(df, layer, where, has_geometry=False)
    rows = [int(i) + 2 for i in df.index]  # header is spreadsheet row 1
    geoms = []
    for i, (_, rec) in zip(rows, df.iterrows()):
        geoms.append(_row_geometry(rec, f"{where} row {i}", crs))
    gdf = gpd.GeoDataFrame(df.drop(columns=[c for c in ("lon", "lat", "wkt") if c in df]).reset_index(drop=True),
                           geometry=geoms, crs=CRS)
    gdf["row"] = rows
    gdf["source"] = [f"{tag}:{r}" for r in rows]
    return _finish(gdf, layer, where)


def _number(value: object, what: str, where: str) -> float:
    text = str(value).strip()
    try:
        x = float(text)
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not a number") from None
    if not np.isfinite(x):
        raise InputError(f"{where}: {what} {text!r} is not a number")
    return x


def _row_geometry(rec: pd.Series, where: str, crs: str):
    wkt_text = str(rec.get("wkt", "") or "").strip()
    lon_text = str(rec.get("lon", "") or "").strip()
    lat_text = str(rec.get("lat", "") or "").strip()
    if wkt_text:
        try:
            geom = shapely_wkt.loads(wkt_text)
        except shapely.errors.ShapelyError as exc:
            raise InputError(f"{where}: wkt is not valid WKT: {wkt_text[:40]!r}") from exc
    elif lon_text or lat_text:
        x, y = _number(lon_text, "lon", where), _number(lat_text, "lat", where)
        geom = shapely.Point(x, y)
    else:
        return None
    return _to_wgs84(geom, crs, where)


def _to_wgs84(geom, crs: str, where: str):
    if geom is None or geom.is_empty:
        return geom
    coords = shapely.get_coordinates(geom)
    if crs in ("EPSG:4326", "EPSG:4490", "gcj02", "bd09"):
        _check_lonlat(coords, where)
    try:
        out = transform_geometries(np.array([geom]), crs)[0]
    except CRSError:
        raise
    out_coords = shapely.get_coordinates(out)
    if not np.isfinite(out_coords).all():
        raise InputError(f"{where}: coordinates do not fit {crs}")
    return out


def _check_lonlat(coords: np.ndarray, where: str) -> None:
    lon, lat = coords[:, 0], coords[:, 1]
    china_swapped = (lat >= 73) & (lat <= 136) & (lon >= 3) & (lon <= 54)
    if (np.abs(lat) > 90).any() or china_swapped.any():
        k = int(np.flatnonzero((np.abs(lat) > 90) | china_swapped)[0])
        if np.abs(lon[k]) <= 90:
            raise InputError(f"{where}: lon/lat look swapped (lon={lon[k]:g}, lat={lat[k]:g})")
        raise InputError(f"{where}: lat {lat[k]:g} is outside -90..90")
    if (np.abs(lon) > 180).any():
        k = int(np.flatnonzero(np.abs(lon) > 180)[0])
        raise InputError(f"{where}: lon {lon[k]:g} is outside -180..180 (projected coordinates? declare the CRS)")


def _read_vector(path: Path, declared: str | None) -> dict[str, gpd.GeoDataFrame]:
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from exc
    out: dict[str, gpd.GeoDataFrame] = {}
    single = len(layers) == 1
    for name in layers:
        try:
            gdf = pyogrio.read_dataframe(path, layer=name)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as exc:
            raise InputError(f"{path}: layer {name}: cannot read: {str(exc).splitlines()[0]}") from exc
        layer = layer_for_name(name) or (layer_for_name(path.stem) if single else None)
        if layer is None:
            if "layer" in {_HEADER_LOOKUP.get(str(c).lower()) for c in gdf.columns}:
                for sub, part in _split_by_layer_column(gdf, path).items():
                    out[sub] = _vector_layer(part, path, sub, name, declared)
                continue
            raise InputError(f"{path}: cannot tell the model layer of layer {name!r} (name it after one of: {', '.join(LAYERS)})")
        out[layer] = _vector_layer(gdf, path, layer, name, declared)
    if not out:
        raise InputError(f"{path}: no layers")
    return out


def _split_by_layer_column(gdf: gpd.GeoDataFrame, path: Path) -> dict[str, gpd.GeoDataFrame]:
    col = next(c for c in gdf.columns if _HEADER_LOOKUP.get(str(c).lower()) == "layer")
    out = {}
    for value, part in gdf.groupby(gdf[col].astype(str)):
        layer = layer_for_name(value)
        if layer is None:
            raise InputError(f"{path}: unknown layer value {value!r} in column {col!r}")
        out[layer] = part
    return out


def _vector_layer(gdf: gpd.GeoDataFrame, path: Path, layer: str, name: str, declared: str | None) -> gpd.GeoDataFrame:
    where = f"{path} layer {name}"
    src_crs = declared or (normalise_crs(gdf.crs.to_string()) if gdf.crs is not None else "EPSG:4326")
    geoms = gdf.geometry.values
    attrs = _canonical_columns(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(str).replace({"None": "", "nan": ""}), where)
    _check_required(attrs, layer, where, has_geometry=True)
    rows = list(range(1, len(gdf) + 1))
    out_geoms = [_to_wgs84(g, src_crs, f"{where} feature {r}") if g is not None else None for g, r in zip(geoms, rows)]
    out = gpd.GeoDataFrame(attrs.reset_index(drop=True), geometry=out_geoms, crs=CRS)
    out["row"] = rows
    out["source"] = [f"{path.name}:{name}:{r}" for r in rows]
    return _finish(out, layer, where, unit="feature")


def _finish(gdf: gpd.GeoDataFrame, layer: str, where: str, unit: str = "row") -> gpd.GeoDataFrame:
    """Normalise values (access, kinds, booleans), check geometry and ids."""
    for col in gdf.columns:
        if col not in ("geometry", "row"):
            gdf[col] = gdf[col].fillna("").astype(str).str.strip()
    if "rider_access" in gdf:
        gdf["rider_access"] = [_lookup(ACCESS_VALUES, v, "rider_access", where, unit, r) for v, r in zip(gdf["rider_access"], gdf["row"])]
    if "kind" in gdf and layer == "facilities":
        gdf["kind"] = [_lookup(KIND_VALUES, v, "kind", where, unit, r, allow_empty=False) for v, r in zip(gdf["kind"], gdf["row"])]
    for col in ("locked", "rideable"):
        if col in gdf:
            gdf[col] = [_lookup(BOOL_VALUES, v, col, where, unit, r) for v, r in zip(gdf[col], gdf["row"])]
    if "levels" in gdf:
        for v, r in zip(gdf["levels"], gdf["row"]):
            if v and not re.fullmatch(r"\d+(\.0+)?", v):
                raise InputError(f"{where} {unit} {r}: levels {v!r} is not a whole number")
    for geom, r in zip(gdf.geometry, gdf["row"]):
        if geom is not None and not geom.is_empty and not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            raise InputError(f"{where} {unit} {r}: invalid {geom.geom_type.lower()} ({reason})")
    if "id" in gdf:
        first: dict[str, int] = {}
        for v, r in zip(gdf["id"], gdf["row"]):
            if not v:
                continue
            if v in first:
                raise InputError(f"{where} {unit} {r}: duplicate id {v!r} (first at {unit} {first[v]})")
            first[v] = r
    return gdf


def _lookup(table: dict, value: str, col: str, where: str, unit: str, row: int, *, allow_empty: bool = True):
    key = str(value).strip().lower()
    if key == "" and allow_empty:
        return "" if table is not BOOL_VALUES else False
    if key in table:
        return table[key]
    if value in table:
        return table[value]
    choices = ", ".join(sorted({str(k) for k in table if k})[:12])
    raise InputError(f"{where} {unit} {row}: {col} {value!r} is not one of {choices}")
