"""ridermap command-line interface (installed as ``ridermap``).

Thin by design: parse options, call one library function, report. Every
:class:`ridermap.errors.RidermapError` becomes one line on stderr and a
non-zero exit (2 for unreadable input or bad usage), never a traceback.
"""
from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from ridermap.errors import RidermapError

log = logging.getLogger("ridermap")

SAMPLE_CONFIG = Path(__file__).resolve().parent / "data" / "sample" / "ridermap.toml"
EXIT_DATA_ERRORS = 1
EXIT_BAD_INPUT = 2


EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Print ``ridermap: error: <one line>`` on stderr and exit with ``code``."""
    line = " ".join(str(message).split()) or "unknown error"  # one line whatever the message holds
    click.echo(f"ridermap: error: {line}", err=True)
    sys.exit(code)


def _network_error(exc: BaseException) -> str | None:
    """One line for a network failure (requests or osmnx) that reached the boundary, else ``None``."""
    module = type(exc).__module__ or ""
    if not (module.startswith(("requests", "urllib3", "osmnx")) or isinstance(exc, (ConnectionError, TimeoutError))):
        return None
    url = getattr(getattr(exc, "request", None), "url", None)
    where = f" ({url})" if url else ""
    return f"network error{where}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; " \
           "use local .osm/.pbf files or retry when online"


def report_error(exc: BaseException) -> None:
    """The shared error boundary: one line on stderr and the exit code, never a traceback.

    2 bad input, usage, config, unwritable output or network; 3 a bug
    (the traceback is logged at ``-vv``); 130 interrupted.
    """
    if isinstance(exc, RidermapError):
        _fail(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    if isinstance(exc, KeyboardInterrupt):
        _fail("interrupted", code=EXIT_INTERRUPTED)
    network = _network_error(exc)
    if network:
        _fail(network)
    if isinstance(exc, OSError) and (exc.filename or exc.strerror):
        _fail(f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}")
    log.debug("internal error", exc_info=exc)
    _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for the traceback)", code=EXIT_INTERNAL)


_PASS_THROUGH = (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit)


def handle_errors(fn):
    """Run ``fn`` inside the error boundary (:func:`report_error`); every command gets it through :class:`_Group`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except BaseException as exc:  # noqa: BLE001 - the boundary
            report_error(exc)

    return wrapper


class _Group(click.Group):
    """The ``ridermap`` group: every subcommand, present and future, runs inside the error boundary."""

    def invoke(self, ctx: click.Context):
        return handle_errors(super().invoke)(ctx)


def _sample_config() -> Path:
    """The sample config from a checkout, or from the installed data files."""
    if SAMPLE_CONFIG.is_file():
        return SAMPLE_CONFIG
    installed = Path(sys.prefix) / "share" / "ridermap" / "data" / "sample" / "ridermap.toml"
    if installed.is_file():
        return installed
    raise click.UsageError("no CONFIG given and the sample data/sample/ridermap.toml is not found")


def load_bundle(sources: tuple[str, ...], crs: str | None, config_path: str | None = None):
    """Read SOURCE... (and/or the config's sources) into one Bundle."""
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_sources

    config = load_config(config_path) if config_path else None
    if not sources and config is None:
        raise click.UsageError("give at least one SOURCE (or --config)")
    all_sources = list(config.sources if config else []) + list(sources)
    admin = config.admin_code if config else "000000"
    return bundle_from_sources(all_sources, crs=crs, admin_code=admin), config


sources_argument = click.argument("sources", nargs=-1, type=click.Path(dir_okay=False))
crs_option = click.option("--crs", default=None, help="CRS of sources that declare none: wgs84, cgcs2000, gcj02, bd09, EPSG:n.")
config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help="ridermap.toml (base URL, admin code, language, sources).")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(package_name="ridermap")
def main(verbose: int, quiet: bool) -> None:
    """Rider-friendly maps of residential compounds (骑手友好型社区地图)."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("fontTools").setLevel(max(level, logging.WARNING))  # subsetting chatter at -v


# --- ingest / validate / build: lead ---------------------------------------
@main.command()
@sources_argument
@crs_option
@config_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="GeoPackage to write (six layers).")
@handle_errors
def ingest(sources, crs, config_path, output):
    """Read OSM and survey SOURCE... into one GeoPackage."""
    from ridermap.publish.gpkg import write_gpkg

    bundle, config = load_bundle(sources, crs, config_path)
    write_gpkg(bundle, output, data_date=config.data_date if config else "")
    counts = ", ".join(f"{len(v)} {k}" for k, v in bundle.layers().items())
    click.echo(f"wrote {output}: {counts}")


_VALIDATE_HELP = {
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
_VALIDATE_TEXT = {
    "zh": {"usage": "用法：", "options": "选项", "no_source": "请至少给出一个 SOURCE（或 --config）",
           "need_output": "--format xlsx 需要 -o 文件名", "wrote": "已写入 {path}：{errors} 个错误，{warnings} 个警告"},
    "en": {"usage": "Usage: ", "options": "Options", "no_source": "give at least one SOURCE (or --config)",
           "need_output": "--format xlsx needs -o FILE", "wrote": "wrote {path}: {errors} errors, {warnings} warnings"},
}


def _argv_language(args: list[str]) -> str | None:
    """``en``/``zh`` from ``--lang en`` or ``--lang=en`` among ``args``, else None."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1] if args[i + 1] in ("zh", "en") else None
        if arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
            return value if value in ("zh", "en") else None
    return None


class _LanguageCommand(click.Command):
    """A command whose help is Chinese by default and English with ``--lang en``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["ridermap.lang"] = _argv_language(args) or "zh"
        return super().parse_args(ctx, args)

    def _texts(self, ctx: click.Context) -> tuple[str, dict]:
        lang = ctx.meta.get("ridermap.lang", "zh")
        return lang, _VALIDATE_HELP[lang]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _, texts = self._texts(ctx)
        saved, self.help = self.help, texts[None]
        try:
            super().format_help(ctx, formatter)
        finally:
            self.help = saved

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang, _ = self._texts(ctx)
        pieces = self.collect_usage_pieces(ctx)
        if lang == "zh":
            pieces = [p.replace("[OPTIONS]", "[选项]") for p in pieces]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_VALIDATE_TEXT[lang]["usage"])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang, texts = self._texts(ctx)
        records = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            key = "help" if param is self.get_help_option(ctx) else param.name
            saved, param.help = param.help, texts.get(key, param.help)
            try:
                record = param.get_help_record(ctx)
            finally:
                param.help = saved
            if record is not None:
                records.append(record)
        with formatter.section(_VALIDATE_TEXT[lang]["options"]):
            formatter.write_dl(records)


def _validate_fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """``ridermap: error: <message in the chosen language>`` on stderr (the prefix stays, for scripts)."""
    _fail(message, code)


def _validate_sources(sources: tuple[str, ...], crs: str | None, config_path: str | None, language: str):
    """Bundle and config of ``validate``; a usage error in ``language``."""
    if not sources and not config_path:
        _validate_fail(_VALIDATE_TEXT[language]["no_source"])
    quiet = logging.getLogger("ridermap.ingest")  # its "rows not used" summary: validate lists them
    saved = quiet.level
    if not log.isEnabledFor(logging.INFO):
        quiet.setLevel(logging.ERROR)
    try:
        return load_bundle(sources, crs, config_path)
    finally:
        quiet.setLevel(saved)


@main.command(cls=_LanguageCommand)
@sources_argument
@crs_option
@config_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "xlsx"]), default="text",
              help="Output: text (default), json, or xlsx (a workbook marking the bad cells; needs -o).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Message language (default: config, else zh).")
@click.option("--no-routes", is_flag=True, help="Skip the reachability check along paths.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file (required with --format xlsx).")
def validate(sources, crs, config_path, fmt, lang, no_routes, output):
    """Check SOURCE... and list every problem at once (exit 0 clean, 1 data errors, 2 unreadable input)."""
    import json

    from ridermap.analysis.validate import format_text, has_errors
    from ridermap.analysis.validate import validate as run_validate

    language = lang or "zh"
    if fmt == "xlsx" and not output:
        _validate_fail(_VALIDATE_TEXT[language]["need_output"])
    try:
        bundle, config = _validate_sources(sources, crs, config_path, language)
        language = lang or (config.language if config else "zh")
        findings = run_validate(bundle, check_routes=not no_routes)
        if fmt == "xlsx":
            from ridermap.publish.findings_xlsx import write_findings_xlsx

            all_sources = list(config.sources if config else []) + list(sources)
            write_findings_xlsx(findings, output, sources=all_sources, language=language)
            n_err = sum(f.severity == "error" for f in findings)
            click.echo(_VALIDATE_TEXT[language]["wrote"].format(path=output, errors=n_err, warnings=len(findings) - n_err))
        else:
            text = (json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=1) + "\n" if fmt == "json"
                    else format_text(findings, language=language))
            if output:
                from ridermap.publish.atomic import write_text

                write_text(output, text)
            else:
                click.echo(text, nl=False)
    except RidermapError as exc:  # anything else goes to the shared error boundary (network, disk, bugs)
        _validate_fail(exc.message(language))
    sys.exit(EXIT_DATA_ERRORS if has_errors(findings) else 0)


@main.command()
@click.argument("config_file", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", default="out", show_default=True, type=click.Path(file_okay=False),
              help="Output folder: a link to the current build in .OUTPUT.builds/ (switched atomically).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: config, 2).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default=None, help="Where per-compound work runs.")
@click.option("--only", "outputs", multiple=True, type=click.Choice(["gpkg", "validation", "posters", "doorplates", "site", "gaps"]), help="Build only these outputs (repeatable).")
@click.option("--paper", type=click.Choice(["A4", "A3", "A2", "A1", "A0", "auto"], case_sensitive=False), default=None,
              help="Poster paper (default: config, else A2); a poster whose labels do not fit goes landscape, "
                   "then to larger paper up to A0 (a warning). auto: the smallest that fits.")
@click.option("--landscape", is_flag=True, help="Posters start landscape.")
@click.option("--force", is_flag=True,
              help="Build every compound again (default: reuse the previous build's files of compounds "
                   "whose data, config and ridermap are unchanged).")
@handle_errors
def build(config_file, output, workers, executor, outputs, paper, landscape, force):
    """Build every output for every compound in CONFIG (default: the sample).

    Exit 0 when every compound was built and validation found no error, 1
    when a compound failed or the data have errors (see OUTPUT/build.json),
    2 on unusable input or config, or when OUTPUT cannot be written.
    """
    import dataclasses

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config
    from ridermap.publish.build import build as run_build

    path = Path(config_file) if config_file else _sample_config()
    config = load_config(path)
    changes = {k: v for k, v in (("workers", workers), ("executor", executor), ("outputs", tuple(outputs) or None),
                                 ("paper", paper.upper() if paper and paper.lower() != "auto" else paper)) if v}
    config = dataclasses.replace(config, **changes)
    click.echo(f"ridermap build {path} -> {output}/", err=True)
    bundle = bundle_from_config(config)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        disable=log.getEffectiveLevel() > logging.WARNING, transient=False)
    bar: list = []

    def on_done(done: int, total: int, _record) -> None:
        if not bar:  # started at the first compound, so an early error stays the only line
            progress.start()
            bar.append(progress.add_task("compounds", total=total))
        progress.update(bar[0], completed=done, total=total)

    try:
        report = run_build(bundle, output, config=config, landscape=landscape, on_done=on_done, force=force)
    finally:
        if bar:
            progress.stop()
    _print_build_summary(report, output, every=log.getEffectiveLevel() <= logging.INFO)
    sys.exit(report.exit_code)


def _print_build_summary(report, output: str, *, every: bool = False, limit: int = 30) -> None:
    """The summary table (compound, status, files, seconds, cause) and a totals line.

    Every compound when there are at most ``limit`` (or ``every``), else
    only those not ok; build.json has them all.
    """
    rows = report.compounds if every or len(report.compounds) <= limit else \
        [c for c in report.compounds if c["status"] != "ok"]
    rows += [{"community": f"({name})", "status": p["status"], "files": [None] * p["files"], "seconds": p["seconds"],
              "causes": [p["cause"]] if p["cause"] else []}
             for name, p in report.district.items() if p["status"] != "ok"]
    if rows:
        width = max(len("compound"), *(len(str(r["community"])) for r in rows))
        click.echo(f"{'compound':<{width}}  {'status':<11}  {'files':>5}  {'seconds':>7}  cause")
        for r in rows:
            cause = " ".join("; ".join(r["causes"] + r.get("where", [])).split())
            click.echo(f"{str(r['community']):<{width}}  {r['status']:<11}  {len(r['files']):>5}  {r['seconds']:>7.1f}  {cause}")
    hidden = len(report.compounds) - sum(1 for r in rows if r in report.compounds)
    if hidden:
        click.echo(f"... and {hidden} compounds ok (all in {output}/build.json)")
    failed = sum(c["status"] == "failed" for c in report.compounds)
    kept = "" if report.published else f"; nothing built, {output}/ keeps the previous build"
    reused = sum(bool(c.get("reused")) for c in report.compounds)
    unchanged = f", {reused} unchanged and reused" if reused else ""
    click.echo(f"{len(report.compounds)} compounds ({failed} failed{unchanged}), {len(report.files)} files in {output}/ "
               f"in {report.seconds:.1f} s; validation: {report.errors} errors, {report.warnings} warnings "
               f"({output}/validation.txt){kept}; report: {output}/build.json")


# --- poster: helper (issue 3) ----------------------------------------------
@main.command()
@sources_argument
@crs_option
@config_option
@click.option("--community", required=True, help="Compound id (see `ridermap validate`).")
@click.option("--gate", default=None, help="Gate id or exact name; omit for the north-up overview.")
@click.option("--paper", type=click.Choice(["A4", "A3", "A2", "A1", "A0"], case_sensitive=False), default=None,
              help="Paper size (default: config, else A2).")
@click.option("--landscape", is_flag=True, help="Long side horizontal.")
@click.option("--dpi", type=click.IntRange(50, 1200), default=300, show_default=True, help="PNG resolution.")
@click.option("--bleed", "bleed_mm", type=click.FloatRange(0, 20), default=0.0, show_default=True, help="Bleed in mm.")
@click.option("--crop-marks", is_flag=True, help="Crop marks at the trim corners.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="poster.pdf, .svg or .png")
@handle_errors
def poster(sources, crs, config_path, community, gate, paper, landscape, dpi, bleed_mm, crop_marks, output):
    """Print-ready guide poster of one gate (or the overview) of a compound."""
    from ridermap.config import Config
    from ridermap.publish.posters import poster_format, write_poster

    poster_format(output)
    bundle, config = load_bundle(sources, crs, config_path)
    path = write_poster(bundle, community, output, gate=gate, config=config or Config(),
                        paper=paper.upper() if paper else None, landscape=landscape, bleed_mm=bleed_mm,
                        crop_marks=crop_marks, dpi=dpi)
    click.echo(f"wrote {path}")


# --- doorplates: helper (issue 4) ------------------------------------------
@main.command()
@sources_argument
@crs_option
@config_option
@click.option("--community", "communities", multiple=True, help="Compound id (repeatable; default: every compound).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["unit", "building", "gate"]), help="Plate kind (repeatable; default: all).")
@click.option("--size", type=click.Choice(["small", "medium", "large"]), default=None, help="150×90, 270×170 or 570×370 mm (default: config, else small).")
@click.option("--sheet", type=click.Choice(["A4", "A3", "fit"]), default=None, help="Print sheet (default: A4 small, A3 medium, fit = one per page for large).")
@click.option("-o", "--output", required=True, type=click.Path(), help="plates.pdf (imposed sheets only) or a folder (sheets, one PDF + SVG per plate, index.csv).")
@click.option("--verify", is_flag=True, help="Rasterise the PDF at 150 dpi and decode every plate (needs pdftoppm).")
@handle_errors
def doorplates(sources, crs, config_path, communities, kinds, size, sheet, output, verify):
    """QR doorplates for the units, buildings and gates of SOURCE...."""
    from ridermap.config import Config
    from ridermap.publish.doorplates import write_doorplate_sheets, write_doorplates
    from ridermap.render.doorplate import KINDS, plates_for_community

    bundle, config = load_bundle(sources, crs, config_path)
    config = config or Config()
    ids = list(communities) or list(config.communities) or bundle.community_ids()
    kinds = tuple(kinds) or KINDS
    size = size or config.plate_size
    if output.lower().endswith(".pdf"):
        plates = [p for cid in ids for p in plates_for_community(bundle, cid, config=config, kinds=kinds)]
        if not plates:
            raise click.UsageError(f"no {'/'.join(kinds)} found in {len(ids)} compound(s): no doorplates to make")
        files = write_doorplate_sheets(plates, output, size=size, sheet=sheet, verify=verify,
                                       title=f"ridermap doorplates: {', '.join(ids[:3])}")
    else:
        files = [f for cid in ids for f in write_doorplates(bundle, cid, output, config=config, kinds=kinds,
                                                             size=size, sheet=sheet, verify=verify)]
        if not files:
            raise click.UsageError(f"no {'/'.join(kinds)} found in {len(ids)} compound(s): no doorplates to make")
    for summary in (f for f in files if f.name.endswith("verification.txt")):
        click.echo(summary.read_text(encoding="utf-8").splitlines()[0])
    click.echo(f"wrote {len(files)} file(s) for {len(ids)} compound(s) to {output}")


# --- site: helper (issue 5) ------------------------------------------------
@main.command()
@sources_argument
@crs_option
@config_option
@click.option("-o", "--output", default="site", show_default=True, type=click.Path(file_okay=False), help="Site folder (entry page index.html).")
@click.option("--basemap", type=click.Choice(["osm", "amap", "tencent", "tianditu"]), default=None,
              help="Background tiles (default: none, nothing loaded from the network). amap/tencent are GCJ-02: overlays are shifted to match.")
@click.option("--tianditu-key", envvar="TIANDITU_KEY", default="", help="Your Tianditu key (for --basemap tianditu; or TIANDITU_KEY).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Default page language (default: config, else zh).")
@handle_errors
def site(sources, crs, config_path, output, basemap, tianditu_key, lang):
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
    click.echo(f"wrote {output}/: {len(bundle.communities)} compounds, {pages} pages, {len(files)} files; open {output}/index.html")


# --- gaps: helper (issue 6) ------------------------------------------------
def _read_candidates(path: str, crs: str | None):
    """Candidate sites: points in any vector file, or a CSV with lon/lat (经度/纬度) columns."""
    import geopandas as gpd
    import pandas as pd

    from ridermap.errors import InputError
    from ridermap.crs import normalise_crs, to_wgs84

    declared = normalise_crs(crs) if crs else None
    try:
        if path.lower().endswith(".csv"):
            df = pd.read_csv(path, encoding="utf-8-sig")
            cols = {c.strip().lower(): c for c in df.columns}
            lon = next((cols[c] for c in ("lon", "lng", "longitude", "x", "经度") if c in cols), None)
            lat = next((cols[c] for c in ("lat", "latitude", "y", "纬度") if c in cols), None)
            if lon is None or lat is None:
                raise InputError(f"{path}: candidate CSV needs lon and lat columns (or 经度/纬度), got {list(df.columns)}")
            x, y = pd.to_numeric(df[lon], errors="coerce"), pd.to_numeric(df[lat], errors="coerce")
            if x.isna().any() or y.isna().any():
                row = int((x.isna() | y.isna()).to_numpy().argmax()) + 2
                raise InputError(f"{path}: row {row}: lon/lat is not a number")
            gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=None)
        else:
            gdf = gpd.read_file(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: cannot read candidate sites: {exc}") from exc
    if gdf.empty or not (gdf.geom_type == "Point").all():
        raise InputError(f"{path}: candidate sites must be points (got {sorted(set(gdf.geom_type.dropna())) or 'nothing'})")
    source_crs = declared or (str(gdf.crs) if gdf.crs is not None else "EPSG:4326")
    lon, lat = to_wgs84(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), source_crs)
    out = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    if "id" in out:
        out["id"] = "user:" + out["id"].astype(str)
    return out


@main.command()
@sources_argument
@crs_option
@config_option
@click.option("-o", "--output", default="gaps", show_default=True, type=click.Path(file_okay=False), help="Output folder (replaced whole).")
@click.option("--candidates", type=click.Path(dir_okay=False), default=None, help="Extra candidate sites: points (GeoJSON, GPKG, SHP, or CSV with lon,lat).")
@click.option("-k", "--sites", "k", type=click.IntRange(min=0), default=3, show_default=True, help="New sites to propose per facility kind.")
@click.option("--no-pdf", is_flag=True, help="Skip the per-compound A3 PDF maps.")
@handle_errors
def gaps(sources, crs, config_path, output, candidates, k, no_pdf):
    """Distances from every unit door to each kind of rider facility, gaps and new-site proposals."""
    from ridermap.config import Config
    from ridermap.publish.gaps import write_gaps

    bundle, config = load_bundle(sources, crs, config_path)
    extra = _read_candidates(candidates, crs) if candidates else None
    files = write_gaps(bundle, output, config=config or Config(), candidates=extra, k=k, pdf=not no_pdf)
    click.echo(f"wrote {len(files)} files to {output}/ (units.csv, summary.json, gaps.html, ...)")



# --- survey packs and init: helper h3 (issue 9) ------------------------------
@main.command()
@sources_argument
@crs_option
@config_option
@click.option("--community", "communities", multiple=True, help="Compound id (repeatable; default: every compound). 小区编码")
@click.option("--paper", type=click.Choice(["A4", "A3", "A2", "A1", "A0"], case_sensitive=False), default="A3",
              show_default=True, help="Survey map paper. 底图纸张")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder: one <id>/survey.xlsx + survey-map.pdf per compound. 输出目录")
@handle_errors
def survey(sources, crs, config_path, communities, paper, output):
    """Survey packs: a pre-filled workbook and a survey map per compound (调查包：预填调查表与调查底图)."""
    from ridermap.publish.survey_pack import write_survey_packs

    bundle, config = load_bundle(sources, crs, config_path)
    chosen = list(communities) or list(config.communities if config else [])
    packs = write_survey_packs(bundle, output, communities=chosen, paper=paper.upper())
    click.echo(f"wrote {len(packs)} survey pack(s) to {output}/ (<id>/survey.xlsx, <id>/survey-map.pdf)")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--from", "sources", multiple=True, required=True, help="SOURCE (OSM file or overpass: spec; repeatable). 数据来源")
@click.option("--community", "communities", multiple=True, help="Compound id (repeatable; default: every compound). 小区编码")
@click.option("--admin-code", default="000000", show_default=True, help="GB/T 2260 code that prefixes every id. 行政区划代码")
@click.option("--name", default="ridermap", show_default=True, help="Project name. 项目名称")
@click.option("--crs", default=None, help="CRS of sources that declare none: wgs84, cgcs2000, gcj02, bd09, EPSG:n.")
@click.option("--paper", type=click.Choice(["A4", "A3", "A2", "A1", "A0"], case_sensitive=False), default="A3",
              show_default=True, help="Survey map paper. 底图纸张")
@handle_errors
def init(directory, sources, communities, admin_code, name, crs, paper):
    """Start a project: DIRECTORY/ridermap.toml and survey packs in DIRECTORY/survey/ (新建项目与调查包).

    Then fill DIRECTORY/survey/<id>/survey.xlsx and run `ridermap build DIRECTORY/ridermap.toml`.
    """
    from ridermap.ingest import bundle_from_sources
    from ridermap.publish.survey_pack import write_init

    bundle = bundle_from_sources(list(sources), crs=crs, admin_code=admin_code)
    config, packs = write_init(directory, bundle, list(sources), communities=communities, admin_code=admin_code,
                               name=name, paper=paper.upper())
    click.echo(f"wrote {config} and {len(packs)} survey pack(s) in {Path(directory) / 'survey'}/; "
               f"fill them, then: ridermap build {config}")



if __name__ == "__main__":
    main()
