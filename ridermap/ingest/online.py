"""Optional online download of OSM data from Overpass, cached on disk.

Never needed by tests or default commands. A source ``overpass:bbox=S,W,N,E``
or ``overpass:place=北京邮电大学`` is fetched once as OSM XML (``[out:xml]``),
saved in the cache folder and then read like any local ``.osm`` file, so the
online path and the offline path share one reader. Place names are geocoded
with osmnx (Nominatim). The endpoint is osmnx's ``settings.overpass_url``.

osmnx and requests are the optional extra ``ridermap[online]``: without them
an ``overpass:`` source is one :class:`~ridermap.errors.InputError` saying
what to install, and everything offline works as before.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from ridermap.errors import InputError

log = logging.getLogger(__name__)

TIMEOUT_S = 180
EXTRA = "ridermap[online]"


def online_packages(spec: str) -> tuple[ModuleType, ModuleType]:
    """``(osmnx, requests)``, the optional packages an online source needs.

    Raises
    ------
    InputError
        One of them is not installed: the message names ``spec`` and says
        ``pip install 'ridermap[online]'``.
    """
    try:
        import osmnx
        import requests
    except ImportError as exc:
        missing = exc.name or "osmnx"
        raise InputError(
            f"{spec}: online sources need the optional package {missing}: "
            f"install {EXTRA} (pip install '{EXTRA}') or use a local .osm/.pbf file",
            zh=f"{spec}：在线数据源需要可选依赖 {missing}：请安装 {EXTRA}"
            f"（pip install '{EXTRA}'），或使用本地 .osm/.pbf 文件",
        ) from exc
    return osmnx, requests


def default_cache_dir() -> Path:
    return Path(os.environ.get("RIDERMAP_CACHE", Path.home() / ".cache" / "ridermap"))


def overpass_query(south: float, west: float, north: float, east: float) -> str:
    """Overpass QL for everything ridermap reads inside a bounding box."""
    bbox = f"{south},{west},{north},{east}"
    return (
        f"[out:xml][timeout:{TIMEOUT_S}];\n(\n"
        f'  way["landuse"="residential"]({bbox});\n'
        f'  relation["landuse"="residential"]({bbox});\n'
        f'  way["place"="neighbourhood"]({bbox});\n'
        f'  way["building"]({bbox});\n'
        f'  relation["building"]({bbox});\n'
        f'  way["highway"]({bbox});\n'
        f'  node["entrance"]({bbox});\n'
        f'  node["barrier"]({bbox});\n'
        f'  node["amenity"]({bbox});\n'
        f'  way["amenity"]({bbox});\n'
        ");\n(._;>;);\nout body;\n"
    )


def parse_spec(spec: str) -> tuple[float, float, float, float]:
    """``overpass:bbox=S,W,N,E`` or ``overpass:place=NAME`` -> (S, W, N, E)."""
    body = spec.split(":", 1)[1]
    key, _, value = body.partition("=")
    if key == "bbox":
        try:
            s, w, n, e = (float(v) for v in value.split(","))
        except ValueError:
            raise InputError(f"{spec}: bbox must be S,W,N,E in degrees") from None
        if not (-90 <= s < n <= 90 and -180 <= w < e <= 180):
            raise InputError(f"{spec}: bbox must be S,W,N,E with S<N and W<E")
        return s, w, n, e
    if key == "place":
        return _geocode(spec, value)
    raise InputError(f"{spec}: use overpass:bbox=S,W,N,E or overpass:place=NAME")


@contextmanager
def _osmnx_cache(ox: ModuleType, folder: Path) -> Iterator[None]:
    """Point osmnx's cache at ``folder`` for one call, then restore the caller's setting.

    osmnx keeps its settings process-wide; ridermap changes them only for
    the duration of its own call, so a program using both is not affected.
    """
    before = ox.settings.cache_folder
    ox.settings.cache_folder = str(folder)
    try:
        yield
    finally:
        ox.settings.cache_folder = before


def _geocode(spec: str, place: str) -> tuple[float, float, float, float]:
    """(S, W, N, E) of a place name from Nominatim (through osmnx), errors as one :class:`InputError`.

    Network failures (``requests`` exceptions) become "not reachable"; a
    place Nominatim does not know (osmnx raises ``ValueError`` subclasses or
    ``TypeError``) becomes "place not found"; both name ``spec``.
    """
    ox, requests = online_packages(spec)
    try:
        with _osmnx_cache(ox, default_cache_dir() / "osmnx"):
            gdf = ox.geocode_to_gdf(place)
    except requests.RequestException as exc:
        raise InputError(f"{spec}: Nominatim not reachable ({type(exc).__name__}); use a local .osm/.pbf file") from exc
    except (ValueError, TypeError) as exc:
        raise InputError(f"{spec}: place not found or refused by Nominatim: {_first_line(exc)}") from exc
    w, s, e, n = gdf.total_bounds
    return s, w, n, e


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def fetch_osm(spec: str, *, cache_dir: str | Path | None = None, refresh: bool = False) -> Path:
    """Download (or reuse from cache) the OSM XML for an ``overpass:`` source.

    Raises
    ------
    InputError
        A bad spec, the online extra not installed, Overpass (or Nominatim)
        not reachable or refusing, or the cache not writable; the message
        names ``spec``.
    """
    ox, requests = online_packages(spec)
    s, w, n, e = parse_spec(spec)
    query = overpass_query(s, w, n, e)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / f"overpass-{hashlib.sha256(query.encode()).hexdigest()[:16]}.osm"
    if target.is_file() and not refresh:
        log.info("using cached %s", target)
        return target
    url = ox.settings.overpass_url.rstrip("/") + "/interpreter"
    try:
        response = requests.post(
            url,
            data={"data": query},
            timeout=TIMEOUT_S,
            headers={"User-Agent": "ridermap (+https://github.com/ridermap)"},
        )
    except requests.RequestException as exc:
        raise InputError(f"{spec}: Overpass not reachable ({type(exc).__name__}); use a local .osm/.pbf file") from exc
    if response.status_code != 200 or b"<osm" not in response.content[:500]:
        raise InputError(f"{spec}: Overpass answered HTTP {response.status_code}: {response.text[:80]!r}")
    from ridermap.fileio import write_bytes  # the cache is this reader's own file

    try:
        write_bytes(target, response.content)
    except OSError as exc:
        raise InputError(
            f"{spec}: cannot cache the download in {exc.filename or cache}: {exc.strerror or exc}"
        ) from exc
    return target
