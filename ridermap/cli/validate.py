"""``ridermap validate``: every finding at once, in Chinese (default) or English."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ridermap import i18n
from ridermap.cli.boundary import EXIT_DATA_ERRORS, fail
from ridermap.cli.lang import LanguageCommand
from ridermap.cli.options import config_option, crs_option, load_bundle, sources_argument
from ridermap.errors import RidermapError

log = logging.getLogger(__name__)


def _load(sources: tuple[str, ...], crs: str | None, config_path: str | None, language: str) -> tuple[Any, Any]:
    """Bundle and config of ``validate``; a usage error in ``language``."""
    if not sources and not config_path:
        fail(i18n.t("validate.no_source", language))
    quiet = logging.getLogger("ridermap.ingest")  # its "rows not used" summary: validate lists them
    saved = quiet.level
    if not log.isEnabledFor(logging.INFO):
        quiet.setLevel(logging.ERROR)
    try:
        return load_bundle(sources, crs, config_path)
    finally:
        quiet.setLevel(saved)


@click.command(cls=LanguageCommand, help_space="validate_help")
@sources_argument
@crs_option
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "xlsx"]),
    default="text",
    help="Output: text (default), json, or xlsx (a workbook marking the bad cells; needs -o).",
)
@click.option(
    "--lang", type=click.Choice(["zh", "en"]), default=None, help="Message language (default: config, else zh)."
)
@click.option("--no-routes", is_flag=True, help="Skip the reachability check along paths.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to this file (required with --format xlsx).",
)
def validate(
    sources: tuple[str, ...],
    crs: str | None,
    config_path: str | None,
    fmt: str,
    lang: str | None,
    no_routes: bool,
    output: str | None,
) -> None:
    """Check SOURCE... and list every problem at once (exit 0 clean, 1 data errors, 2 unreadable input)."""
    from ridermap.analysis.validate import has_errors
    from ridermap.analysis.validate import validate as run_validate

    language = lang or "zh"
    if fmt == "xlsx" and not output:
        fail(i18n.t("validate.need_output", language))
    try:
        bundle, config = _load(sources, crs, config_path, language)
        language = lang or (config.language if config else "zh")
        findings = run_validate(bundle, check_routes=not no_routes)
        if fmt == "xlsx":
            _write_xlsx(
                findings, output, sources=list(config.sources if config else []) + list(sources), language=language
            )
        else:
            _write_text(findings, output, fmt=fmt, language=language)
    except RidermapError as exc:  # anything else goes to the shared error boundary (network, disk, bugs)
        fail(exc.message(language))
    sys.exit(EXIT_DATA_ERRORS if has_errors(findings) else 0)


def _write_xlsx(findings: list, output: str | None, *, sources: list, language: str) -> None:
    """The findings workbook (bad cells marked) and a one-line summary."""
    from ridermap.publish.findings_xlsx import write_findings_xlsx

    if not output:
        fail(i18n.t("validate.need_output", language))
    write_findings_xlsx(findings, output, sources=sources, language=language)
    n_err = sum(f.severity == "error" for f in findings)
    click.echo(i18n.t("validate.wrote", language, path=output, errors=n_err, warnings=len(findings) - n_err))


def _write_text(findings: list, output: str | None, *, fmt: str, language: str) -> None:
    """The findings as text or JSON, to ``output`` (atomically) or stdout."""
    import json

    from ridermap.analysis.validate import format_text

    text = (
        json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=1) + "\n"
        if fmt == "json"
        else format_text(findings, language=language)
    )
    if output:
        from ridermap.publish.atomic import write_text

        write_text(output, text)
    else:
        click.echo(text, nl=False)
