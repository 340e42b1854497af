"""``ridermap validate``: every finding at once, in Chinese (default) or English."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ridermap.cli.boundary import EXIT_DATA_ERRORS, fail
from ridermap.cli.lang import LanguageCommand
from ridermap.cli.options import (
    config_option,
    crs_option,
    load_bundle,
    sources_argument,
)
from ridermap.errors import RidermapError

log = logging.getLogger(__name__)

HELP = {
    "zh": {
        None: "检查 SOURCE…（OSM、调查表、GeoPackage），一次列出所有问题：文件、工作表、行、列、值和应填内容。\n\n"
        "退出码：0 没有问题或只有警告，1 有数据错误，2 文件无法读取或用法错误。",
        "crs": "未声明坐标系的数据源的坐标系：wgs84、cgcs2000、gcj02、bd09、EPSG:n。",
        "config_path": "ridermap.toml（网址、行政区划代码、语言、数据源）。",
        "fmt": "输出格式：text 文本（默认）、json，或 xlsx（标出问题单元格的工作簿，需 -o）。",
        "lang": "信息语言：zh（默认，或配置文件中的语言）或 en。",
        "no_routes": "跳过沿道路的可达性检查。",
        "output": "写入此文件（--format xlsx 时必填）。",
        "help": "显示此帮助并退出。",
    },
    "en": {
        None: "Check SOURCE... (OSM, survey sheets, GeoPackage) and list every problem at once: file, sheet, row, "
        "column, value and what is expected.\n\nExit 0 when clean or only warnings, 1 on data errors, 2 when a "
        "file cannot be read at all or on bad usage.",
        "crs": "CRS of sources that declare none: wgs84, cgcs2000, gcj02, bd09, EPSG:n.",
        "config_path": "ridermap.toml (base URL, admin code, language, sources).",
        "fmt": "Output: text (default), json, or xlsx (a workbook marking the bad cells; needs -o).",
        "lang": "Message language: zh (default, or the config's) or en.",
        "no_routes": "Skip the reachability check along paths.",
        "output": "Write to this file (required with --format xlsx).",
        "help": "Show this message and exit.",
    },
}
TEXT = {
    "zh": {
        "no_source": "请至少给出一个 SOURCE（或 --config）",
        "need_output": "--format xlsx 需要 -o 文件名",
        "wrote": "已写入 {path}：{errors} 个错误，{warnings} 个警告",
    },
    "en": {
        "no_source": "give at least one SOURCE (or --config)",
        "need_output": "--format xlsx needs -o FILE",
        "wrote": "wrote {path}: {errors} errors, {warnings} warnings",
    },
}


def _load(sources: tuple[str, ...], crs: str | None, config_path: str | None, language: str) -> tuple[Any, Any]:
    """Bundle and config of ``validate``; a usage error in ``language``."""
    if not sources and not config_path:
        fail(TEXT[language]["no_source"])
    quiet = logging.getLogger("ridermap.ingest")  # its "rows not used" summary: validate lists them
    saved = quiet.level
    if not log.isEnabledFor(logging.INFO):
        quiet.setLevel(logging.ERROR)
    try:
        return load_bundle(sources, crs, config_path)
    finally:
        quiet.setLevel(saved)


@click.command(cls=LanguageCommand, help_texts=HELP)
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
        fail(TEXT[language]["need_output"])
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
        fail(TEXT[language]["need_output"])
    write_findings_xlsx(findings, output, sources=sources, language=language)
    n_err = sum(f.severity == "error" for f in findings)
    click.echo(TEXT[language]["wrote"].format(path=output, errors=n_err, warnings=len(findings) - n_err))


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
