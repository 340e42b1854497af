"""Options and arguments shared by the commands, and reading SOURCE.../--config into a Bundle."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ridermap.config import Config
    from ridermap.model import Bundle

sources_argument = click.argument("sources", nargs=-1, type=click.Path(dir_okay=False))
crs_option = click.option(
    "--crs", default=None, help="CRS of sources that declare none: wgs84, cgcs2000, gcj02, bd09, EPSG:n."
)
config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="ridermap.toml (base URL, admin code, language, sources).",
)


def folder_option(default: str, help: str):
    """``-o/--output`` for a command that writes a folder (``default`` shown in the help)."""
    return click.option(
        "-o", "--output", default=default, show_default=True, type=click.Path(file_okay=False), help=help
    )


def load_bundle(
    sources: tuple[str, ...], crs: str | None, config_path: str | None = None
) -> tuple[Bundle, Config | None]:
    """Read SOURCE... (after the config's sources, if ``config_path``) into one Bundle.

    Returns
    -------
    tuple
        The bundle and the loaded config (``None`` without ``config_path``).

    Raises
    ------
    click.UsageError
        Neither a SOURCE nor a config was given.
    """
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_sources

    config = load_config(config_path) if config_path else None
    if not sources and config is None:
        raise click.UsageError("give at least one SOURCE (or --config)")
    all_sources = list(config.sources if config else []) + list(sources)
    admin = config.admin_code if config else "000000"
    return bundle_from_sources(all_sources, crs=crs, admin_code=admin), config
