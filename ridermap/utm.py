"""UTM zone of lon/lat data without geopandas' slow CRS database query.

:meth:`geopandas.GeoDataFrame.estimate_utm_crs` asks the PROJ database for
the UTM zone holding the centre of the data's bounds (about 0.2 s a call).
:func:`utm_crs` gives the same zone from arithmetic and keeps one
:class:`pyproj.CRS` per zone; only a centre on a zone edge, on the equator
or beyond 84° N / 80° S (where the database's answer is not the plain formula) still
goes to the database. This module imports nothing of ridermap.
"""
from __future__ import annotations

from functools import lru_cache
import math

import geopandas as gpd
from pyproj import CRS

__all__ = ["utm_crs"]

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
    minx, miny, maxx, maxy = gdf.total_bounds
    lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180.0 < lon < 180.0) or not (-80.0 < lat < 84.0) or abs(lat) < _EDGE_DEG:
        return gdf.estimate_utm_crs()
    edge = (lon + 180.0) / 6.0
    if abs(edge - round(edge)) * 6.0 < _EDGE_DEG:
        return gdf.estimate_utm_crs()
    zone = int(edge) + 1
    return _zone_crs((32600 if lat > 0 else 32700) + zone)
