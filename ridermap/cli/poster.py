"""``ridermap poster``: one print-ready gate guide poster (or the overview) of a compound."""

from __future__ import annotations

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import config_option, crs_option, load_bundle, sources_argument


@click.command()
@sources_argument
@crs_option
@config_option
@click.option("--community", required=True, help="Compound id (see `ridermap validate`).")
@click.option("--gate", default=None, help="Gate id or exact name; omit for the north-up overview.")
@click.option(
    "--paper",
    type=click.Choice(["A4", "A3", "A2", "A1", "A0"], case_sensitive=False),
    default=None,
    help="Paper size (default: config, else A2).",
)
@click.option("--landscape", is_flag=True, help="Long side horizontal.")
@click.option("--dpi", type=click.IntRange(50, 1200), default=300, show_default=True, help="PNG resolution.")
@click.option("--bleed", "bleed_mm", type=click.FloatRange(0, 20), default=0.0, show_default=True, help="Bleed in mm.")
@click.option("--crop-marks", is_flag=True, help="Crop marks at the trim corners.")
@click.option("--signs", "with_signs", is_flag=True, help="Draw the junction sign posts of the signage plan (J1…).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="poster.pdf, .svg or .png")
@handle_errors
def poster(
    sources: tuple[str, ...],
    crs: str | None,
    config_path: str | None,
    community: str,
    gate: str | None,
    paper: str | None,
    landscape: bool,
    dpi: int,
    bleed_mm: float,
    crop_marks: bool,
    with_signs: bool,
    output: str,
) -> None:
    """Print-ready guide poster of one gate (or the overview) of a compound."""
    from ridermap.config import Config
    from ridermap.publish.posters import poster_format, write_poster

    poster_format(output)
    bundle, config = load_bundle(sources, crs, config_path)
    signs = None
    if with_signs or (config is not None and config.poster_signs):
        from ridermap.analysis.signs import sign_plan

        signs = sign_plan(bundle.community(community), community)
    path = write_poster(
        bundle,
        community,
        output,
        gate=gate,
        config=config or Config(),
        paper=paper.upper() if paper else None,
        landscape=landscape,
        bleed_mm=bleed_mm,
        crop_marks=crop_marks,
        dpi=dpi,
        signs=signs,
    )
    click.echo(f"wrote {path}")
