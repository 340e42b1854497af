"""Read sources (OSM, survey files, ridermap GeoPackages) into one Bundle.

Every reader funnels into the model: :func:`bundle_from_sources` is the one
entry point the CLI and ``build`` use.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ridermap.crs import normalise_crs
from ridermap.errors import InputError
from ridermap.ingest.gpkg import bundle_from_gpkg, is_model_gpkg
from ridermap.ingest.osm import bundle_from_osm, is_osm_path
from ridermap.ingest.survey import is_survey_path, read_survey
from ridermap.model.bundle import Bundle, concat_bundles
from ridermap.model.clean import clean_text_columns
from ridermap.model.finalise import finalise
from ridermap.model.infer import infer_gates
from ridermap.model.merge import merge_survey
from ridermap.model.survey_keys import assign_keys

log = logging.getLogger(__name__)

__all__ = ["bundle_from_sources", "bundle_from_config", "bundle_from_osm", "bundle_from_gpkg", "read_survey"]


def bundle_from_sources(
    sources, *, crs: str | None = None, admin_code: str = "000000", cache_dir: str | None = None
) -> Bundle:
    """Read and merge ``sources`` in order.

    Parameters
    ----------
    sources
        Paths (``.osm``, ``.osm.bz2``, ``.osm.pbf``, survey files, a ridermap
        ``.gpkg``), ``overpass:`` specs, or :class:`~ridermap.config.Source`.
    crs
        CRS of sources that declare none (``wgs84``, ``cgcs2000``, ``gcj02``,
        ``bd09``, ``EPSG:n``). OSM is always WGS84.
    admin_code
        GB/T 2260 code that prefixes every compound id.
    """
    default_crs = normalise_crs(crs) if crs else None
    bases: list[Bundle] = []
    surveys: list[tuple[dict, str]] = []
    for item in sources:
        path = str(getattr(item, "path", item))
        source_crs = getattr(item, "crs", None)
        if not path.startswith("overpass:") and not Path(path).exists():
            raise InputError(f"{path}: file not found", zh=f"{path}：文件不存在")
        if path.startswith("overpass:"):
            from ridermap.ingest.online import fetch_osm

            bases.append(bundle_from_osm(fetch_osm(path, cache_dir=cache_dir), admin_code=admin_code))
        elif is_osm_path(path):
            bases.append(bundle_from_osm(path, admin_code=admin_code))
        elif is_model_gpkg(path):
            bases.append(bundle_from_gpkg(path))
        elif is_survey_path(path):
            surveys.append((read_survey(path, crs=source_crs or default_crs), path))
        else:
            suffix = Path(path).suffix or "(none)"
            raise InputError(
                f"{path}: unsupported file type {suffix!r} (use .osm, .osm.bz2, .osm.pbf, .gpkg, .geojson, .shp, "
                ".kml, .csv, .xlsx)",
                zh=f"{path}：不支持的文件类型 {suffix}（请用 .osm、.osm.bz2、.osm.pbf、.gpkg、.geojson、.shp、.kml、"
                ".csv、.xlsx）",
            )
    bundle = concat_bundles(bases) if bases else Bundle.empty()
    bundle = infer_gates(_dedupe(bundle))  # gate candidates where paths cross outlines (待核实)
    bundle = assign_keys(bundle)  # survey keys B07/G3/U07-2 before any survey refers to them
    before = len(bundle.findings)
    for tables, path in surveys:
        bundle = bundle.with_findings(getattr(tables, "findings", ()))  # rows that could not be read
        bundle = merge_survey(bundle, tables, admin_code=admin_code, where=Path(path).name)
    skipped = sum(f.severity == "error" for f in bundle.findings[before:])
    bundle = clean_text_columns(bundle)
    if skipped:
        log.warning("%d survey rows or cells could not be used; `ridermap validate` lists them", skipped)
    return finalise(assign_keys(bundle))  # features a survey added get the next free keys


def bundle_from_config(config, *, crs: str | None = None) -> Bundle:
    """Read the sources a :class:`ridermap.config.Config` names."""
    if not config.sources:
        raise InputError(f"{config.config_path or 'config'}: no [[sources]] given")
    return bundle_from_sources(
        config.sources, crs=crs, admin_code=config.admin_code, cache_dir=config.cache_dir or None
    )


def _dedupe(bundle: Bundle) -> Bundle:
    """The same feature from two sources (overlapping extracts): the later wins."""
    layers = {}
    for name, gdf in bundle.layers().items():
        layers[name] = gdf[~gdf["id"].duplicated(keep="last")].reset_index(drop=True)
    return Bundle.from_layers(layers).with_findings(bundle.findings)
