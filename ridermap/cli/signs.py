"""``ridermap signs``: the signage plan of each compound (junction signs, building numbers, artwork)."""

from __future__ import annotations

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import config_option, crs_option, folder_option, load_bundle, sources_argument


@click.command()
@sources_argument
@crs_option
@config_option
@click.option("--community", "communities", multiple=True, help="Only this compound (repeatable; default: all).")
@folder_option("signs", "Output folder: <community>/signs.csv, signs.geojson, sign-plan.pdf, art/<sign>.pdf.")
@handle_errors
def signs(
    sources: tuple[str, ...], crs: str | None, config_path: str | None, communities: tuple[str, ...], output: str
) -> None:
    """Where every junction direction sign and building number goes, what it says, and its print-ready artwork."""
    from ridermap.config import Config
    from ridermap.errors import ConfigError
    from ridermap.publish.signs import write_compound_signs

    bundle, config = load_bundle(sources, crs, config_path)
    config = config or Config()
    ids = list(communities) or list(config.communities) or bundle.community_ids()
    unknown = sorted(set(ids) - set(bundle.community_ids()))
    if unknown:
        raise ConfigError(
            f"--community {unknown[0]!r} is not in the data (known: {', '.join(bundle.community_ids()[:10])})"
        )
    written = []
    for cid in ids:
        written += write_compound_signs(bundle.community(cid), cid, output, config=config)
    click.echo(f"wrote {len(written)} files for {len(ids)} compounds to {output}/ (signs.csv, sign-plan.pdf, art/...)")
