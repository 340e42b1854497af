"""Read the GeoPackage that ``ridermap ingest`` writes back into a Bundle."""

from __future__ import annotations

from pathlib import Path

import pyogrio

from ridermap.errors import InputError
from ridermap.model.bundle import Bundle
from ridermap.model.schema import LAYERS, OPTIONAL_COLUMNS

META_LAYER = "ridermap_meta"


def is_model_gpkg(path: str | Path) -> bool:
    """True if ``path`` is a GeoPackage with the six model layers."""
    if not str(path).lower().endswith(".gpkg"):
        return False
    try:
        names = {name for name, _ in pyogrio.list_layers(path)}
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return False
    return set(LAYERS) <= names


def bundle_from_gpkg(path: str | Path) -> Bundle:
    """Read a ridermap GeoPackage (one or many compounds)."""
    layers = {}
    for name in LAYERS:
        try:
            gdf = pyogrio.read_dataframe(path, layer=name)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InputError(f"{path}: layer {name}: {str(exc).splitlines()[0]}") from exc
        missing = [c for c in LAYERS[name] if c not in gdf.columns and c not in OPTIONAL_COLUMNS]
        if missing:
            raise InputError(f"{path}: layer {name}: missing column(s) {', '.join(missing)}")
        layers[name] = gdf
    return Bundle.from_layers(layers)
