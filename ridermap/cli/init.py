"""``ridermap init``: start a project (ridermap.toml and a survey pack per compound)."""

from __future__ import annotations

from pathlib import Path

import click

from ridermap.cli.boundary import handle_errors


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--from", "sources", multiple=True, required=True, help="SOURCE (OSM file or overpass: spec; repeatable). 数据来源"
)
@click.option(
    "--community", "communities", multiple=True, help="Compound id (repeatable; default: every compound). 小区编码"
)
@click.option(
    "--admin-code", default="000000", show_default=True, help="GB/T 2260 code that prefixes every id. 行政区划代码"
)
@click.option("--name", default="ridermap", show_default=True, help="Project name. 项目名称")
@click.option("--crs", default=None, help="CRS of sources that declare none: wgs84, cgcs2000, gcj02, bd09, EPSG:n.")
@click.option(
    "--paper",
    type=click.Choice(["A4", "A3", "A2", "A1", "A0"], case_sensitive=False),
    default="A3",
    show_default=True,
    help="Survey map paper. 底图纸张",
)
@handle_errors
def init(
    directory: str,
    sources: tuple[str, ...],
    communities: tuple[str, ...],
    admin_code: str,
    name: str,
    crs: str | None,
    paper: str,
) -> None:
    """Start a project: DIRECTORY/ridermap.toml and survey packs in DIRECTORY/survey/ (新建项目与调查包).

    Then fill DIRECTORY/survey/<id>/survey.xlsx and run `ridermap build DIRECTORY/ridermap.toml`.
    """
    from ridermap.ingest import bundle_from_sources
    from ridermap.publish.survey_pack import write_init

    bundle = bundle_from_sources(list(sources), crs=crs, admin_code=admin_code)
    config, packs = write_init(
        directory, bundle, list(sources), communities=communities, admin_code=admin_code, name=name, paper=paper.upper()
    )
    click.echo(
        f"wrote {config} and {len(packs)} survey pack(s) in {Path(directory) / 'survey'}/; "
        f"fill them, then: ridermap build {config}"
    )
