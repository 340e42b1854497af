"""Write a Bundle as a GeoPackage (the six model layers), atomically and reproducibly.

GDAL stamps every layer's ``gpkg_contents.last_change`` with the current
time, so two writes of the same data would differ. :func:`fix_timestamps`
sets it afterwards to :func:`fixed_timestamp`: ``SOURCE_DATE_EPOCH`` when
set (reproducible-builds.org), else the config's ``data_date``, else the
Unix epoch; never the time of the build.
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pyogrio

from ridermap.errors import ConfigError
from ridermap.model.bundle import Bundle
from ridermap.model.schema import GEOMETRY
from ridermap.publish.atomic import atomic_path

__all__ = ["write_gpkg", "fixed_timestamp", "fix_timestamps"]

# GDAL builds a GeoPackage's spatial index in a background thread by default; the R-tree's
# node layout then depends on thread timing, so two builds under load differ in bytes.
# Built in line, every GeoPackage ridermap writes (ridermap.gpkg, gaps.gpkg) is reproducible.
pyogrio.set_gdal_config_options({"OGR_GPKG_ALLOW_THREADED_RTREE": "NO"})

_GPKG_TYPES = {"Polygon": "Unknown", "Point": "Point", "LineString": "LineString"}
_DATA_DATE = re.compile(r"\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def fixed_timestamp(data_date: str = "") -> datetime:
    """The timestamp written into outputs that need one (UTC, whole seconds).

    Parameters
    ----------
    data_date
        The config's ``data_date`` (``2026``, ``2026-11`` or ``2026-11-05``);
        its first instant is used when ``SOURCE_DATE_EPOCH`` is not set.

    Returns
    -------
    datetime
        ``SOURCE_DATE_EPOCH``, else the start of ``data_date``, else 1970-01-01, in UTC.

    Raises
    ------
    ConfigError
        ``SOURCE_DATE_EPOCH`` is set but is not a whole number of seconds.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not re.fullmatch(r"\d{1,12}", epoch):
            raise ConfigError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {epoch!r}")
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    m = _DATA_DATE.match(data_date or "")
    if m:
        year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            pass
    return datetime(1970, 1, 1, tzinfo=UTC)


def fix_timestamps(path: str | Path, *, data_date: str = "") -> None:
    """Set every ``gpkg_contents.last_change`` of the GeoPackage at ``path`` to :func:`fixed_timestamp`.

    Then ``VACUUM``: the file is rewritten from its content alone, so the
    bytes GDAL left behind while writing (free pages holding the clock
    times it stamped and later overwrote) never make two builds differ; and
    the header's transaction counters are set to one fixed value.
    """
    stamp = fixed_timestamp(data_date).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with closing(sqlite3.connect(str(path))) as con:
        con.execute("UPDATE gpkg_contents SET last_change = ?", (stamp,))
        con.commit()
        con.execute("VACUUM")
    # SQLite's header counts the write transactions (file change counter, offset 24, and the
    # version-valid-for number, offset 92, which must equal it); how many GDAL made depends on
    # timing, so both are set to one fixed value: the file stays valid and its bytes repeat.
    with open(path, "r+b") as fh:
        for offset in (24, 92):
            fh.seek(offset)
            fh.write((1).to_bytes(4, "big"))


def write_gpkg(bundle: Bundle, path: str | Path, *, data_date: str = "") -> Path:
    """Write all six layers to ``path`` (replaced whole, never half-written).

    Parameters
    ----------
    bundle
        The model.
    path
        The ``.gpkg`` to write.
    data_date
        The config's ``data_date``: the layers' ``last_change`` (see :func:`fixed_timestamp`).

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        for name, gdf in bundle.layers().items():
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", geometry_type=_GPKG_TYPES[GEOMETRY[name]])
        fix_timestamps(tmp, data_date=data_date)
    return Path(path)
