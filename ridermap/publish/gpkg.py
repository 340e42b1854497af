"""Write a Bundle as a GeoPackage (the six model layers), atomically."""
from __future__ import annotations

from pathlib import Path

import pyogrio

from ridermap.model.bundle import Bundle
from ridermap.model.schema import GEOMETRY
from ridermap.publish.atomic import atomic_path

_GPKG_TYPES = {"Polygon": "Unknown", "Point": "Point", "LineString": "LineString"}


def write_gpkg(bundle: Bundle, path: str | Path) -> Path:
    """Write all six layers to ``path`` (replaced whole, never half-written)."""
    with atomic_path(path) as tmp:
        for name, gdf in bundle.layers().items():
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", geometry_type=_GPKG_TYPES[GEOMETRY[name]])
    return Path(path)
