"""Coordinate systems: WGS84, CGCS2000, any EPSG code, GCJ-02 and BD-09.

pyproj handles every EPSG code; GCJ-02 (AMap, Tencent) and BD-09 (Baidu) are
not in PROJ, so they are done here (domain.md §5):

* WGS84 -> GCJ-02 is the published closed formula;
* GCJ-02 -> WGS84 is a fixed-point iteration of that formula (< 1 mm), not
  the common one-step inverse (up to ~3.7 m off);
* BD-09 <-> GCJ-02 uses ``x_pi = π·3000/180``.

Only points in mainland China are offset. "In China" is the usual rectangle
*and* a nearest-populated-place test (GeoNames, via ``reverse_geocode``), so
points in South Korea, Japan, Mongolia, Hong Kong, Macau or Taiwan are left
as they are.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pyproj
from pyproj.exceptions import CRSError as _PyprojCRSError

from ridermap.errors import CRSError

WGS84 = "EPSG:4326"
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

#: names accepted by ``--crs`` and ``crs = ...`` in the config.
CRS_ALIASES = {
    "wgs84": "EPSG:4326",
    "epsg:4326": "EPSG:4326",
    "4326": "EPSG:4326",
    "cgcs2000": "EPSG:4490",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "amap": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
}


def normalise_crs(value: object) -> str:
    """Return ``'gcj02'``, ``'bd09'`` or an ``EPSG:n`` / WKT string pyproj accepts.

    Raises :class:`CRSError` naming the value if it is unknown.
    """
    text = str(value).strip()
    key = text.lower().replace(" ", "")
    if key in CRS_ALIASES:
        return CRS_ALIASES[key]
    try:
        crs = pyproj.CRS.from_user_input(text)
    except _PyprojCRSError as exc:
        raise CRSError(f"unknown CRS {text!r} (use wgs84, cgcs2000, gcj02, bd09 or EPSG:n)") from exc
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_wkt()


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


@lru_cache(maxsize=1)
def _geocoder():
    import reverse_geocode  # GeoNames populated places shipped in the wheel

    return reverse_geocode


def in_mainland_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Boolean mask: which points get the GCJ-02 offset.

    The rectangle 72.004–137.8347 E, 0.8293–55.8271 N, narrowed to points
    whose nearest populated place (GeoNames) is in mainland China (``CN``).
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    mask = (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)
    if mask.any():
        idx = np.flatnonzero(mask)
        # round to ~1 km so repeated calls for one compound are one lookup
        keys = np.unique(np.round(np.column_stack([lat[idx], lon[idx]]), 2), axis=0)
        found = _geocoder().search([tuple(k) for k in keys])
        cn = {tuple(k) for k, f in zip(keys, found) if f.get("country_code") == "CN"}
        mask[idx] = [(round(a, 2), round(o, 2)) in cn for a, o in zip(lat[idx], lon[idx])]
    return mask


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat, *, china: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 (closed formula); points outside mainland China unchanged."""
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    mask = in_mainland_china(lon, lat) if china is None else china
    dlon, dlat = _offset(lon, lat)
    return np.where(mask, lon + dlon, lon), np.where(mask, lat + dlat, lat)


def gcj02_to_wgs84(lon, lat, *, tol_deg: float = 1e-10, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS84 by fixed-point iteration (error < 1 mm).

    Starts from the one-step inverse and repeats ``w += g - f(w)`` until the
    forward formula reproduces the input within ``tol_deg`` (~0.01 mm).
    """
    glon = np.atleast_1d(np.asarray(lon, dtype=float))
    glat = np.atleast_1d(np.asarray(lat, dtype=float))
    mask = in_mainland_china(glon, glat)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        dlon, dlat = _offset(wlon, wlat)
        elon, elat = glon - (wlon + dlon), glat - (wlat + dlat)
        wlon, wlat = wlon + elon, wlat + elat
        if np.max(np.abs(elon), initial=0) < tol_deg and np.max(np.abs(elat), initial=0) < tol_deg:
            break
    return np.where(mask, wlon, glon), np.where(mask, wlat, glat)


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, *, max_iter: int = 30, tol_deg: float = 1e-11) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02: the usual inverse, refined by fixed-point iteration."""
    blon = np.atleast_1d(np.asarray(lon, dtype=float))
    blat = np.atleast_1d(np.asarray(lat, dtype=float))
    x, y = blon - 0.0065, blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon, elat = blon - flon, blat - flat
        glon, glat = glon + elon, glat + elat
        if np.max(np.abs(elon), initial=0) < tol_deg and np.max(np.abs(elat), initial=0) < tol_deg:
            break
    return glon, glat


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(x, y, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinate arrays in ``crs`` (a normalised name) to WGS84 lon/lat."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if crs == "gcj02":
        return gcj02_to_wgs84(x, y)
    if crs == "bd09":
        return bd09_to_wgs84(x, y)
    if crs in ("EPSG:4326", "EPSG:4490"):
        return x, y
    transformer = _transformer(crs)
    return transformer.transform(x, y)


def from_wgs84(lon, lat, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 lon/lat arrays to ``crs`` (a normalised name)."""
    if crs == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if crs == "bd09":
        return wgs84_to_bd09(lon, lat)
    if crs in ("EPSG:4326", "EPSG:4490"):
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return _transformer(crs, inverse=True).transform(lon, lat)


@lru_cache(maxsize=32)
def _transformer(crs: str, inverse: bool = False) -> pyproj.Transformer:
    if inverse:
        return pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)
    return pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)


def transform_geometries(geoms, crs: str):
    """Return shapely geometries converted from ``crs`` to WGS84."""
    import shapely

    if crs in ("EPSG:4326", "EPSG:4490"):
        return geoms

    def _fn(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1], crs)
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, _fn)
