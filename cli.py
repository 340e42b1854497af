"""ridermap command-line interface (installed as ``ridermap``).

Thin by design: parse options, call one library function, report. Every
:class:`ridermap.errors.RidermapError` becomes one line on stderr and a
non-zero exit (2 for unreadable input or bad usage), never a traceback.
"""
from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from ridermap.errors import RidermapError

log = logging.getLogger("ridermap")

SAMPLE_CONFIG = Path(__file__).resolve().parent / "data" / "sample" / "ridermap.toml"
EXIT_DATA_ERRORS = 1
EXIT_BAD_INPUT = 2


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    click.echo(f"ridermap: error: {message}", err=True)
    sys.exit(code)


def handle_errors(fn):
    """Turn RidermapError (and unreadable files) into one line and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RidermapError as exc:
            _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            _fail(f"{exc.filename}: {exc.strerror}")

    return wrapper


def _sample_config() -> Path:
    """The sample config from a checkout, or from the installed data files."""
    if SAMPLE_CONFIG.is_file():
        return SAMPLE_CONFIG
    installed = Path(sys.prefix) / "share" / "ridermap" / "data" / "sample" / "ridermap.toml"
    if installed.is_file():
        return installed
    raise click.UsageError("no CONFIG given and the sample data/sample/ridermap.toml is not found")


def load_bundle(sources: tuple[str, ...], crs: str | None, config_path: str | None = None):
    """Read SOURCE... (and/or the config's sources) into one Bundle."""
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_sources

    config = load_config(config_path) if config_path else None
    if not sources and config is None:
        raise click.UsageError("give at least one SOURCE (or --config)")
    all_sources = list(config.sources if config else []) + list(sources)
    admin = config.admin_code if config else "000000"
    return bundle_from_sources(all_sources, crs=crs, admin_code=admin), config


sources_argument = click.argument("sources", nargs=-1, type=click.Path(dir_okay=False))
crs_option = click.option("--crs", default=None, help="CRS of sources that declare none: wgs84, cgcs2000, gcj02, bd09, EPSG:n.")
config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help="ridermap.toml (base URL, admin code, language, sources).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(package_name="ridermap")
def main(verbose: int, quiet: bool) -> None:
    """Rider-friendly maps of residential compounds (骑手友好型社区地图)."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# --- ingest / validate / build: lead ---------------------------------------
# (commands added below)

# --- poster: helper (issue 3) ----------------------------------------------

# --- doorplates: helper (issue 4) ------------------------------------------

# --- site: helper (issue 5) ------------------------------------------------

# --- gaps: helper (issue 6) ------------------------------------------------


if __name__ == "__main__":
    main()
