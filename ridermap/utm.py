"""UTM zone of lon/lat data without geopandas' slow CRS database query.

:meth:`geopandas.GeoDataFrame.estimate_utm_crs` asks the PROJ database for
the UTM zone holding the centre of the data's bounds (about 0.2 s a call).
:func:`utm_crs` gives the same zone from arithmetic and keeps one
:class:`pyproj.CRS` per zone; only a centre on a zone edge, on the equator
or beyond 84° N / 80° S (where the database's answer is not the plain formula) still
goes to the database. This module imports nothing of ridermap.
"""

from __future__ import annotations

import math
from functools import lru_cache

import geopandas as gpd
from pyproj import CRS

__all__ = ["utm_crs", "utm_crs_of_bounds", "utm_epsg", "metric_crs"]

_EDGE_DEG = 1e-7


@lru_cache(maxsize=128)
def _zone_crs(epsg: int) -> CRS:
    return CRS.from_epsg(epsg)


def utm_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """The WGS84 UTM CRS of ``gdf`` (lon/lat): what ``gdf.estimate_utm_crs()`` returns.

    Parameters
    ----------
    gdf
        Geometries in a geographic CRS (EPSG:4326), not all empty.

    Returns
    -------
    pyproj.CRS
        ``EPSG:326xx`` (north) or ``EPSG:327xx`` (south).
    """
    if gdf.crs is None or not gdf.crs.is_geographic:
        return gdf.estimate_utm_crs()
    return utm_crs_of_bounds(*gdf.total_bounds) or gdf.estimate_utm_crs()


def utm_crs_of_bounds(minx: float, miny: float, maxx: float, maxy: float) -> CRS | None:
    """The UTM CRS :func:`utm_crs` gives lon/lat data of these bounds, or ``None`` where only the database knows.

    (A centre on a zone edge, on the equator, beyond 84° N / 80° S or not finite.)
    """
    lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    if (
        not (math.isfinite(lon) and math.isfinite(lat))
        or not (-180.0 < lon < 180.0)
        or not (-80.0 < lat < 84.0)
        or abs(lat) < _EDGE_DEG
    ):
        return None
    edge = (lon + 180.0) / 6.0
    if abs(edge - round(edge)) * 6.0 < _EDGE_DEG:
        return None
    return _zone_crs(utm_epsg(lon, lat))


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding ``lon``/``lat`` (plain 6° zones).

    >>> utm_epsg(104.09, 30.65), utm_epsg(-70.6, -33.4)
    (32648, 32719)
    """
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def metric_crs(geoms) -> str:
    """A metric CRS (UTM) for lon/lat geometries, as a string; ``EPSG:3857`` when there are none."""
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else gpd.GeoSeries(geoms, crs="EPSG:4326")
    series = series[series.notna() & ~series.is_empty] if len(series) else series
    return str(utm_crs(series)) if len(series) else "EPSG:3857"
