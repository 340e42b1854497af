"""``ridermap gaps``: planner gap reports and new-site proposals."""

from __future__ import annotations

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import config_option, crs_option, folder_option, load_bundle, sources_argument


@click.command()
@sources_argument
@crs_option
@config_option
@folder_option("gaps", "Output folder (replaced whole).")
@click.option(
    "--candidates",
    type=click.Path(dir_okay=False),
    default=None,
    help="Extra candidate sites: points (GeoJSON, GPKG, SHP, or CSV with lon,lat).",
)
@click.option(
    "-k",
    "--sites",
    "k",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="New sites to propose per facility kind.",
)
@click.option("--no-pdf", is_flag=True, help="Skip the per-compound A3 PDF maps.")
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default=None,
    help="Language of the maps and of the CSV headers (en: the column ids); default: the config's.",
)
@handle_errors
def gaps(
    sources: tuple[str, ...],
    crs: str | None,
    config_path: str | None,
    output: str,
    candidates: str | None,
    k: int,
    no_pdf: bool,
    lang: str | None,
) -> None:
    """Distances from every unit door to each kind of rider facility, gaps and new-site proposals."""
    import dataclasses

    from ridermap.config import Config
    from ridermap.ingest.candidates import read_candidates
    from ridermap.publish.gaps import write_gaps

    bundle, config = load_bundle(sources, crs, config_path)
    config = config or Config()
    if lang:
        config = dataclasses.replace(config, language=lang)
    extra = read_candidates(candidates, crs=crs) if candidates else None
    files = write_gaps(bundle, output, config=config, candidates=extra, k=k, pdf=not no_pdf)
    click.echo(f"wrote {len(files)} files to {output}/ (units.csv, summary.json, gaps.html, ...)")
