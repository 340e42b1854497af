"""``ridermap site``: the offline rider website."""

from __future__ import annotations

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import config_option, crs_option, folder_option, load_bundle, sources_argument


@click.command()
@sources_argument
@crs_option
@config_option
@folder_option("site", "Site folder (entry page index.html).")
@click.option(
    "--basemap",
    type=click.Choice(["osm", "amap", "tencent", "tianditu"]),
    default=None,
    help="Background tiles (default: none, nothing loaded from the network). amap/tencent are GCJ-02: overlays are "
    "shifted to match.",
)
@click.option(
    "--tianditu-key",
    envvar="TIANDITU_KEY",
    default="",
    help="Your Tianditu key (for --basemap tianditu; or TIANDITU_KEY).",
)
@click.option(
    "--lang", type=click.Choice(["zh", "en"]), default=None, help="Default page language (default: config, else zh)."
)
@handle_errors
def site(
    sources: tuple[str, ...],
    crs: str | None,
    config_path: str | None,
    output: str,
    basemap: str | None,
    tianditu_key: str,
    lang: str | None,
) -> None:
    """Write the offline rider website for SOURCE... (open OUTPUT/index.html)."""
    import dataclasses

    from ridermap.config import Config
    from ridermap.publish.site import write_site

    bundle, config = load_bundle(sources, crs, config_path)
    config = config or Config()
    if lang:
        config = dataclasses.replace(config, language=lang)
    files = write_site(bundle, output, config=config, basemap=basemap, tianditu_key=tianditu_key)
    pages = sum(f.suffix == ".html" for f in files)
    click.echo(
        f"wrote {output}/: {len(bundle.communities)} compounds, {pages} pages, {len(files)} files; open "
        f"{output}/index.html"
    )
