"""``ridermap build``: every output for every compound of a config (default: the sample)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from ridermap.cli.boundary import handle_errors
from ridermap.cli.options import folder_option
from ridermap.config import OUTPUTS

log = logging.getLogger(__name__)


@click.command()
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@folder_option("out", "Output folder: a link to the current build in .OUTPUT.builds/ (switched atomically).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: config, 2).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default=None, help="Where per-compound work runs.")
@click.option(
    "--only", "outputs", multiple=True, type=click.Choice(list(OUTPUTS)), help="Build only these outputs (repeatable)."
)
@click.option(
    "--paper",
    type=click.Choice(["A4", "A3", "A2", "A1", "A0", "auto"], case_sensitive=False),
    default=None,
    help="Poster paper (default: config, else A2); a poster whose labels do not fit goes landscape, "
    "then to larger paper up to A0 (a warning). auto: the smallest that fits.",
)
@click.option("--landscape", is_flag=True, help="Posters start landscape.")
@click.option(
    "--force",
    is_flag=True,
    help="Build every compound again (default: reuse the previous build's files of compounds "
    "whose data, config and ridermap are unchanged).",
)
@handle_errors
def build(
    config_file: str | None,
    output: str,
    workers: int | None,
    executor: str | None,
    outputs: tuple[str, ...],
    paper: str | None,
    landscape: bool,
    force: bool,
) -> None:
    """Build every output for every compound in CONFIG (default: the sample).

    Exit 0 when every compound was built and validation found no error, 1
    when a compound failed or the data have errors (see OUTPUT/build.json),
    2 on unusable input or config, or when OUTPUT cannot be written.
    """
    import dataclasses

    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config
    from ridermap.publish.build import build as run_build
    from ridermap.resources import sample_config

    path = Path(config_file) if config_file else sample_config()
    config = load_config(path)
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("workers", workers),
            ("executor", executor),
            ("outputs", tuple(outputs) or None),
            ("paper", paper.upper() if paper and paper.lower() != "auto" else paper),
        )
        if v
    }
    config = dataclasses.replace(config, **changes)
    click.echo(f"ridermap build {path} -> {output}/", err=True)
    bundle = bundle_from_config(config)
    with _ProgressBar(disable=log.getEffectiveLevel() > logging.WARNING) as bar:
        report = run_build(bundle, output, config=config, landscape=landscape, on_done=bar.on_done, force=force)
    _print_build_summary(report, output, every=log.getEffectiveLevel() <= logging.INFO)
    sys.exit(report.exit_code)


class _ProgressBar:
    """A compounds progress bar on stderr, started at the first compound (so an early error stays the only line)."""

    def __init__(self, *, disable: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=disable,
            transient=False,
        )
        self._task: Any = None

    def on_done(self, done: int, total: int, _record: object) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task("compounds", total=total)
        self._progress.update(self._task, completed=done, total=total)

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._progress.stop()


def _print_build_summary(report: Any, output: str, *, every: bool = False, limit: int = 30) -> None:
    """The summary table (compound, status, files, seconds, cause) and a totals line.

    Every compound when there are at most ``limit`` (or ``every``), else
    only those not ok; build.json has them all.
    """
    rows = (
        list(report.compounds)
        if every or len(report.compounds) <= limit
        else [c for c in report.compounds if c["status"] != "ok"]
    )  # a copy: the district rows below are not compounds
    rows += [
        {
            "community": f"({name})",
            "status": p["status"],
            "files": [None] * p["files"],
            "seconds": p["seconds"],
            "causes": [p["cause"]] if p["cause"] else [],
        }
        for name, p in report.district.items()
        if p["status"] != "ok"
    ]
    if rows:
        width = max(len("compound"), *(len(str(r["community"])) for r in rows))
        click.echo(f"{'compound':<{width}}  {'status':<11}  {'files':>5}  {'seconds':>7}  cause")
        for r in rows:
            cause = " ".join("; ".join(r["causes"] + r.get("where", [])).split())
            click.echo(
                f"{str(r['community']):<{width}}  {r['status']:<11}  {len(r['files']):>5}  {r['seconds']:>7.1f}  "
                f"{cause}"
            )
    hidden = len(report.compounds) - sum(1 for r in rows if r in report.compounds)
    if hidden:
        click.echo(f"... and {hidden} compounds ok (all in {output}/build.json)")
    failed = sum(c["status"] == "failed" for c in report.compounds)
    kept = "" if report.published else f"; nothing built, {output}/ keeps the previous build"
    reused = sum(bool(c.get("reused")) for c in report.compounds)
    unchanged = f", {reused} unchanged and reused" if reused else ""
    click.echo(
        f"{len(report.compounds)} compounds ({failed} failed{unchanged}), {len(report.files)} files in {output}/ "
        f"in {report.seconds:.1f} s; validation: {report.errors} errors, {report.warnings} warnings "
        f"({output}/validation.txt){kept}; report: {output}/build.json"
    )
