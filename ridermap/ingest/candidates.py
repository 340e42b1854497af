"""Candidate sites for new facilities, read from a user's file (``ridermap gaps --candidates``).

Points in any vector file GeoPandas reads (GeoJSON, GeoPackage, Shapefile…),
or a CSV with ``lon``/``lat`` (``经度``/``纬度``) columns. Coordinates are
moved to WGS84 from the file's own CRS or the declared one (``gcj02`` for
AMap/Tencent points); ids are prefixed ``user:`` so they never collide with
ridermap's own candidates.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd

from ridermap.crs import normalise_crs, to_wgs84
from ridermap.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["read_candidates"]

_LON = ("lon", "lng", "longitude", "x", "经度")
_LAT = ("lat", "latitude", "y", "纬度")


def read_candidates(path: str, *, crs: str | None = None) -> gpd.GeoDataFrame:
    """Candidate sites of ``path`` as WGS84 points.

    Parameters
    ----------
    path
        A vector file of points, or a CSV with lon/lat (经度/纬度) columns.
    crs
        CRS of the coordinates when the file declares none (``wgs84``,
        ``cgcs2000``, ``gcj02``, ``bd09``, ``EPSG:n``); it also overrides the
        file's own CRS. Default: the file's CRS, else WGS84.

    Returns
    -------
    geopandas.GeoDataFrame
        The file's columns, point geometry in EPSG:4326, ``id`` as ``user:<id>``.

    Raises
    ------
    InputError
        The file cannot be read, a CSV lacks lon/lat or has a non-number in
        them (naming the row), or a feature is not a point.
    """
    declared = normalise_crs(crs) if crs else None
    try:
        gdf = _read_csv(path) if path.lower().endswith(".csv") else gpd.read_file(path)
    except InputError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read candidate sites: {exc}", zh=f"{path}：无法读取候选点位：{exc}") from exc
    if gdf.empty or not (gdf.geom_type == "Point").all():
        got = sorted(set(gdf.geom_type.dropna())) or "nothing"
        raise InputError(
            f"{path}: candidate sites must be points (got {got})", zh=f"{path}：候选点位必须是点（实际为 {got}）"
        )
    source_crs = declared or (str(gdf.crs) if gdf.crs is not None else "EPSG:4326")
    lon, lat = to_wgs84(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), source_crs)
    out = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    if "id" in out:
        out["id"] = "user:" + out["id"].astype(str)
    log.info("%s: %d candidate sites (%s)", path, len(out), source_crs)
    return out


def _read_csv(path: str) -> gpd.GeoDataFrame:
    """Points of a CSV from its lon/lat columns (no CRS: the caller decides)."""
    df = pd.read_csv(path, encoding="utf-8-sig")
    cols = {str(c).strip().lower(): c for c in df.columns}
    lon = next((cols[c] for c in _LON if c in cols), None)
    lat = next((cols[c] for c in _LAT if c in cols), None)
    if lon is None or lat is None:
        raise InputError(
            f"{path}: candidate CSV needs lon and lat columns (or 经度/纬度), got {list(df.columns)}",
            zh=f"{path}：候选点位 CSV 需要 经度 和 纬度 列（或 lon/lat），实际为 {list(df.columns)}",
        )
    x, y = pd.to_numeric(df[lon], errors="coerce"), pd.to_numeric(df[lat], errors="coerce")
    bad = (x.isna() | y.isna()).to_numpy()
    if bad.any():
        row = int(bad.argmax()) + 2  # 1-based, after the header
        raise InputError(f"{path}: row {row}: lon/lat is not a number", zh=f"{path}：第 {row} 行：经度/纬度不是数字")
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=None)
