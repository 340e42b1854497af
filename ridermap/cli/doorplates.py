"""``ridermap doorplates``: QR doorplates for units, buildings and gates."""

from __future__ import annotations

from pathlib import Path

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import config_option, crs_option, load_bundle, sources_argument


@click.command()
@sources_argument
@crs_option
@config_option
@click.option("--community", "communities", multiple=True, help="Compound id (repeatable; default: every compound).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(["unit", "building", "gate"]),
    help="Plate kind (repeatable; default: all).",
)
@click.option(
    "--size",
    type=click.Choice(["small", "medium", "large"]),
    default=None,
    help="150×90, 270×170 or 570×370 mm (default: config, else small).",
)
@click.option(
    "--sheet",
    type=click.Choice(["A4", "A3", "fit"]),
    default=None,
    help="Print sheet (default: A4 small, A3 medium, fit = one per page for large).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="plates.pdf (imposed sheets only) or a folder (sheets, one PDF + SVG per plate, index.csv).",
)
@click.option("--verify", is_flag=True, help="Rasterise the PDF at 150 dpi and decode every plate (needs pdftoppm).")
@handle_errors
def doorplates(
    sources: tuple[str, ...],
    crs: str | None,
    config_path: str | None,
    communities: tuple[str, ...],
    kinds: tuple[str, ...],
    size: str | None,
    sheet: str | None,
    output: str,
    verify: bool,
) -> None:
    """QR doorplates for the units, buildings and gates of SOURCE...."""
    from ridermap.config import Config
    from ridermap.render.doorplate import KINDS

    bundle, config = load_bundle(sources, crs, config_path)
    config = config or Config()
    ids = list(communities) or list(config.communities) or bundle.community_ids()
    kinds = tuple(kinds) or KINDS
    write = _imposed_sheets if output.lower().endswith(".pdf") else _plate_folder
    files = write(
        bundle, ids, output, config=config, kinds=kinds, size=size or config.plate_size, sheet=sheet, verify=verify
    )
    for summary in (f for f in files if f.name.endswith("verification.txt")):
        click.echo(summary.read_text(encoding="utf-8").splitlines()[0])
    click.echo(f"wrote {len(files)} file(s) for {len(ids)} compound(s) to {output}")


def _nothing_to_make(kinds: tuple[str, ...], ids: list[str]) -> click.UsageError:
    return click.UsageError(f"no {'/'.join(kinds)} found in {len(ids)} compound(s): no doorplates to make")


def _imposed_sheets(
    bundle, ids: list[str], output: str, *, config, kinds: tuple[str, ...], size: str, sheet: str | None, verify: bool
) -> list[Path]:
    """``-o plates.pdf``: every plate of every compound imposed on sheets, in one PDF."""
    from ridermap.publish.doorplates import write_doorplate_sheets
    from ridermap.render.doorplate import plates_for_community

    plates = [p for cid in ids for p in plates_for_community(bundle, cid, config=config, kinds=kinds)]
    if not plates:
        raise _nothing_to_make(kinds, ids)
    return write_doorplate_sheets(
        plates, output, size=size, sheet=sheet, verify=verify, title=f"ridermap doorplates: {', '.join(ids[:3])}"
    )


def _plate_folder(
    bundle, ids: list[str], output: str, *, config, kinds: tuple[str, ...], size: str, sheet: str | None, verify: bool
) -> list[Path]:
    """``-o DIR``: per compound the imposed sheets, one PDF + SVG per plate and index.csv."""
    from ridermap.publish.doorplates import write_doorplates

    files = [
        f
        for cid in ids
        for f in write_doorplates(
            bundle, cid, output, config=config, kinds=kinds, size=size, sheet=sheet, verify=verify
        )
    ]
    if not files:
        raise _nothing_to_make(kinds, ids)
    return files
