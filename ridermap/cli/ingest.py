"""``ridermap ingest``: read and merge SOURCE... into one GeoPackage (six layers)."""

from __future__ import annotations

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import config_option, crs_option, load_bundle, sources_argument


@click.command()
@sources_argument
@crs_option
@config_option
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="GeoPackage to write (six layers)."
)
@handle_errors
def ingest(sources: tuple[str, ...], crs: str | None, config_path: str | None, output: str) -> None:
    """Read OSM and survey SOURCE... into one GeoPackage."""
    from ridermap.publish.gpkg import write_gpkg

    bundle, config = load_bundle(sources, crs, config_path)
    write_gpkg(bundle, output, data_date=config.data_date if config else "")
    counts = ", ".join(f"{len(v)} {k}" for k, v in bundle.layers().items())
    click.echo(f"wrote {output}: {counts}")
