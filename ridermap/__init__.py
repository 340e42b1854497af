"""ridermap: rider-friendly maps of Chinese residential compounds (骑手友好型社区).

Data flows one way::

    ingest  ->  model  ->  analysis  ->  render  ->  publish
    (OSM, survey   (Bundle, merge,  (network,      (posters, plates, (write files,
     files, CRS)    validation)      routes, gaps)  web maps)          site, build)

Public API (see each module for details)::

    from ridermap import load_config, bundle_from_config, bundle_from_sources, validate, build
    from ridermap import write_posters, write_doorplates, write_site, write_gaps
"""

from __future__ import annotations

from importlib import metadata as _metadata

from ridermap.analysis.validate import Finding, format_text, validate
from ridermap.config import Config, load_config
from ridermap.errors import (
    ConfigError,
    CRSError,
    InputError,
    RenderError,
    RidermapError,
    ValidationError,
    VerificationError,
)
from ridermap.ingest import bundle_from_config, bundle_from_gpkg, bundle_from_osm, bundle_from_sources, read_survey
from ridermap.model import Bundle, concat_bundles
from ridermap.publish.build import BuildReport, build
from ridermap.publish.gpkg import write_gpkg

# the output writers pull in matplotlib, scipy, spopt...: imported on first use,
# so `import ridermap` (and every CLI command) starts as fast as before
_LAZY = {
    "write_doorplates": "ridermap.publish.doorplates",
    "write_gaps": "ridermap.publish.gaps",
    "write_posters": "ridermap.publish.posters",
    "write_site": "ridermap.publish.site",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ridermap' has no attribute {name!r}")


try:  # written once, in pyproject.toml
    __version__ = _metadata.version("ridermap")
except _metadata.PackageNotFoundError:  # pragma: no cover - a checkout on sys.path, never installed
    __version__ = "0+unknown"

__all__ = [
    "Bundle",
    "BuildReport",
    "Config",
    "ConfigError",
    "CRSError",
    "Finding",
    "InputError",
    "RenderError",
    "RidermapError",
    "ValidationError",
    "VerificationError",
    "build",
    "bundle_from_config",
    "bundle_from_gpkg",
    "bundle_from_osm",
    "bundle_from_sources",
    "concat_bundles",
    "format_text",
    "load_config",
    "read_survey",
    "validate",
    "write_doorplates",
    "write_gaps",
    "write_gpkg",
    "write_posters",
    "write_site",
]
