"""``ridermap export``: the data back to delivery platforms (GeoJSON) and to OpenStreetMap (osmChange)."""

from __future__ import annotations

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import config_option, crs_option, folder_option, load_bundle, sources_argument


@click.command()
@sources_argument
@crs_option
@config_option
@click.option(
    "--to",
    "target",
    type=click.Choice(["platform", "osm"]),
    required=True,
    help="platform: one GeoJSON per compound (schema beside it); osm: an osmChange (.osc) of the survey.",
)
@click.option("--community", "communities", multiple=True, help="Only this compound (repeatable; default: all).")
@folder_option("export", "Output folder.")
@handle_errors
def export(
    sources: tuple[str, ...],
    crs: str | None,
    config_path: str | None,
    target: str,
    communities: tuple[str, ...],
    output: str,
) -> None:
    """Give the data back: a documented GeoJSON for delivery platforms, or an osmChange for a mapper to review in JOSM
    (ridermap never uploads)."""
    from pathlib import Path

    from ridermap.config import Config
    from ridermap.errors import ConfigError
    from ridermap.publish.export import write_osm_change, write_platform

    bundle, config = load_bundle(sources, crs, config_path)
    config = config or Config()
    ids = list(communities) or list(config.communities) or bundle.community_ids()
    unknown = sorted(set(ids) - set(bundle.community_ids()))
    if unknown:
        raise ConfigError(
            f"--community {unknown[0]!r} is not in the data (known: {', '.join(bundle.community_ids()[:10])})"
        )
    if target == "platform":
        files = write_platform(bundle, output, ids=ids, data_date=config.data_date)
        click.echo(f"wrote {len(files)} files to {output}/ (one GeoJSON per compound, platform-export.schema.json)")
        return
    osm = [s.path for s in config.sources if Path(s.path).suffix.lower() in (".osm", ".pbf", ".bz2", ".xml")]
    osm += [s for s in sources if Path(s).suffix.lower() in (".osm", ".pbf", ".bz2", ".xml")]
    if not osm:
        raise ConfigError("export --to osm needs the OSM file the data were read from (an .osm/.pbf source)")
    path = write_osm_change(bundle, osm, Path(output) / "changes.osc", ids=ids)
    click.echo(f"wrote {path} (review in JOSM; ridermap never uploads)")
