"""``ridermap survey``: survey packs (a pre-filled workbook and a survey map per compound)."""

from __future__ import annotations

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import config_option, crs_option, load_bundle, sources_argument


@click.command()
@sources_argument
@crs_option
@config_option
@click.option(
    "--community", "communities", multiple=True, help="Compound id (repeatable; default: every compound). 小区编码"
)
@click.option(
    "--paper",
    type=click.Choice(["A4", "A3", "A2", "A1", "A0"], case_sensitive=False),
    default="A3",
    show_default=True,
    help="Survey map paper. 底图纸张",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder: one <id>/survey.xlsx + survey-map.pdf per compound. 输出目录",
)
@handle_errors
def survey(
    sources: tuple[str, ...],
    crs: str | None,
    config_path: str | None,
    communities: tuple[str, ...],
    paper: str,
    output: str,
) -> None:
    """Survey packs: a pre-filled workbook and a survey map per compound (调查包：预填调查表与调查底图)."""
    from ridermap.publish.survey_pack import write_survey_packs

    bundle, config = load_bundle(sources, crs, config_path)
    chosen = list(communities) or list(config.communities if config else [])
    packs = write_survey_packs(bundle, output, communities=chosen, paper=paper.upper())
    click.echo(f"wrote {len(packs)} survey pack(s) to {output}/ (<id>/survey.xlsx, <id>/survey-map.pdf)")
