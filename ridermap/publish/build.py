"""``ridermap build``: every output for every compound in a config.

Layout of OUTDIR::

    build.json                    the build report: per compound status, files, seconds, cause
    ridermap.gpkg                 the merged model (all compounds)
    validation.txt / .json        findings
    posters/<community>/...       gate posters + overview        (posters)
    doorplates/<community>/...    plates, sheets, verification   (doorplates)
    site/                         the rider website               (site)
    gaps/                         planner gap reports             (gaps: tables district-wide, pdf/ per compound)
    signs/<community>/...         signage plan, tables and artwork (signs)

**Isolation.** Each compound's posters, doorplates and site pages are built
on their own, through the executor seam (one task per compound), each into
a private scratch folder that is moved into the build only when it is
complete. With ``executor = "dask"`` the scratch folder is on the worker's
own disk and the files come back as bytes, so workers on other machines
need no access to the client's disk. Any exception in one of them is recorded in ``build.json`` with
its cause and, where known, the feature and its ``source`` (survey
file/row or OSM id); every other compound, and the compound's other
outputs, still finish. A poster that fails does not stop the compound's
other posters. District-wide parts are built from what succeeded: the site
index and care map list the compounds whose pages were written; the
GeoPackage, validation and gap reports cover every compound of the model
(a planner's picture must not lose a compound because its poster failed).

**Atomic publish.** Everything is written into a fresh build folder beside
OUTDIR and made current in one step (see
:class:`ridermap.publish.atomic.Publisher`): a build is complete in its own
folder, so a gate or unit that is gone keeps no poster or page. Outputs a
build does not make (``--only``) are carried over from the previous build
(hard links). If no compound at all could be built, the previous build
stays current.

**Incremental.** Each compound part (posters, doorplates, site pages) is
keyed by a hash of the compound's view (its rows of every layer, geometry
as WKB, the streets and facilities near it, the findings about them), the
config fields that shape it and ridermap itself (see
:mod:`ridermap.publish.incremental`); ``build.json`` records the keys. A
rebuild hard-links (or copies) a part whose key is unchanged from the
previous build instead of building it; a compound that failed is always
built again; the district-wide parts (GeoPackage, validation, gap analysis
and tables, site index) are built whenever anything changed. When nothing
changed at all (the same model, config, compounds and ridermap: the
*district key* of :func:`ridermap.publish.incremental.district_key`, also
in ``build.json``) and nothing of the previous build failed or went
missing, the previous build stays current and only its ``build.json`` is
replaced (atomically) by this run's report: no network, validation or gap
analysis runs and no file is written or linked. A compound's gap map is its own
part, drawn from its slice of the district gap analysis and keyed by it
(:func:`ridermap.publish.incremental.gap_digest`). ``force=True``
(``build --force``) builds everything.

Timings are only in ``build.json``, never inside the other outputs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ridermap.analysis.context import Analysis
from ridermap.config import Config
from ridermap.errors import ConfigError, RidermapError
from ridermap.model.bundle import Bundle
from ridermap.publish.alongside import Alongside
from ridermap.publish.atomic import ENVIRONMENT_ERRNOS, Publisher, PublishError, write_bytes, write_text
from ridermap.publish.executor import OnDone, make_executor

log = logging.getLogger(__name__)

PER_COMPOUND = (
    "posters",
    "doorplates",
    "site",
    "gaps",
    "signs",
)  # "gaps": the compound's A3 gap map (gaps/pdf/<id>.pdf)
WORK = ".work"  # scratch folders of running compound tasks, inside the staging folder


@dataclass
class BuildReport:
    """What :func:`build` did.

    ``compounds`` and ``district`` are the records written to
    ``build.json``; :attr:`exit_code` is 0 when everything was built and
    validation found no error, 1 when a compound or district part failed or
    the data have errors.
    """

    outdir: Path
    communities: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    compounds: list[dict] = field(default_factory=list)
    district: dict[str, dict] = field(default_factory=dict)
    published: bool = False
    seconds: float = 0.0
    key: str = ""  # the district key (:func:`ridermap.publish.incremental.district_key`)
    tree_files: int = 0  # every file of the build folder but build.json (carried-over outputs too)

    @property
    def failed(self) -> list[dict]:
        return [c for c in self.compounds if c["status"] == "failed"]

    @property
    def exit_code(self) -> int:
        bad_part = any(p["status"] == "failed" for p in self.district.values())
        bad_compound = any(c["status"] != "ok" for c in self.compounds)
        return 1 if (bad_part or bad_compound or self.errors) else 0


@dataclass(frozen=True)
class _Task:
    bundle: Bundle
    community_id: str
    staging: str
    work: str
    config: Config
    landscape: bool = False
    ship: bool = False  # return the files as bytes: a Dask worker on another machine has no access to staging
    parts: tuple[str, ...] | None = None  # the parts to build (None: every per-compound output of the config)
    gap: object = None  # the compound's GapSlice (its part of the district gap analysis), for the "gaps" part
    analysis: Analysis | None = None  # the compound's sub-network view of the build's one network (site, signs)


def _is_environment(exc: BaseException) -> bool:
    """Disk full, no permission...: the machine cannot take the build, whichever compound hit it."""
    return isinstance(exc, OSError) and not isinstance(exc, RidermapError) and exc.errno in ENVIRONMENT_ERRNOS


def _cause(exc: BaseException) -> str:
    """One line: the message of an error ridermap raised on purpose, else the exception type too."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    if not isinstance(exc, RidermapError):
        line = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return line[:400]


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    here: BaseException | None = exc
    while here is not None and here not in seen and len(seen) < 8:
        seen.append(here)
        here = here.__cause__ or here.__context__
    return seen


_SINGULAR = {
    "communities": "community",
    "gates": "gate",
    "buildings": "building",
    "units": "unit",
    "facilities": "facility",
    "paths": "path",
}


def _feature_source(view: Bundle, feature_id: str) -> str:
    for name, layer in view.layers().items():
        hit = layer[layer["id"].astype(str) == feature_id]
        if not hit.empty:
            return f"{_SINGULAR.get(name, name)} {feature_id} ({hit['source'].iloc[0] or 'no source'})"
    return ""


def _locate(view: Bundle, exc: BaseException) -> str:
    """Where a compound's failure comes from: the feature and its source (survey row or OSM id), if known.

    A label error names its feature (``LabelFitError.request.key``); any
    other message is searched for an id or name of the compound's features.
    """
    for err in _chain(exc):
        key = getattr(getattr(err, "request", None), "key", None)
        if key:
            found = _feature_source(view, str(key))
            if found:
                return found
    message = " ".join(str(e) for e in _chain(exc))
    for column in ("id", "name", "label"):
        candidates = []
        for name, layer in view.layers().items():
            if column in layer and name != "paths":
                candidates += [(str(v), str(i)) for v, i in zip(layer[column], layer["id"]) if len(str(v)) >= 2]
        for value, feature_id in sorted(candidates, key=lambda c: -len(c[0])):
            if value in message:
                return _feature_source(view, feature_id)
    return ""


def _move_into(scratch: Path, staging: Path) -> list[str]:
    """Move every file of ``scratch`` to the same place under ``staging``; return their relative paths."""
    moved = []
    folders: set[Path] = set()
    for path in sorted(p for p in scratch.rglob("*") if p.is_file()):
        rel = path.relative_to(scratch)
        if (staging / rel).parent not in folders:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            folders.add((staging / rel).parent)
        os.replace(path, staging / rel)
        moved.append(rel.as_posix())
    return moved


def _write_part(part: str, task: _Task, scratch: Path) -> tuple[list[str], list[tuple[str, BaseException]]]:
    """Write one per-compound output into ``scratch``; return (warnings, (poster, error) failures); raise on error."""
    cfg, cid, view = task.config, task.community_id, task.bundle
    if part == "posters":
        from ridermap.publish.posters import write_compound_posters

        signs = None
        if cfg.poster_signs:  # the optional layer of sign posts on the gate posters
            signs = (task.analysis or Analysis(view)).sign_plan(view, cid)
        result = write_compound_posters(
            view, cid, scratch / "posters", config=cfg, landscape=task.landscape, signs=signs
        )
        failures = [(stem, exc) for stem, exc in result.failures]
        if failures and not result.files:
            raise failures[0][1]
        return result.warnings, failures
    if part == "doorplates":
        from ridermap.publish.doorplates import write_doorplates

        write_doorplates(view, cid, scratch / "doorplates", config=cfg, verify=True)
    elif part == "site":
        from ridermap.publish.site import write_community_site

        write_community_site(view, scratch / "site", config=cfg, analysis=task.analysis)
    elif part == "signs":
        from ridermap.publish.signs import write_compound_signs

        write_compound_signs(view, cid, scratch / "signs", config=cfg, analysis=task.analysis)
    elif part == "gaps":
        from ridermap.publish.gaps import write_gap_pdf

        if isinstance(task.gap, Exception):
            raise task.gap
        write_gap_pdf(task.gap, scratch / "gaps" / "pdf" / f"{cid}.pdf", config=cfg)
    return [], []


def _collect(scratch: Path) -> dict[str, bytes]:
    """Every file of ``scratch`` as bytes, by path relative to it (what a remote worker sends back)."""
    return {p.relative_to(scratch).as_posix(): p.read_bytes() for p in sorted(scratch.rglob("*")) if p.is_file()}


def _run_part(part: str, task: _Task, record: dict, work: Path) -> None:
    """Run one part of one compound and record it; the compound's other parts run whatever happens here."""
    scratch = work / part
    start = time.perf_counter()
    entry: dict = {"status": "ok", "files": 0, "seconds": 0.0}
    try:
        warnings, failures = _write_part(part, task, scratch)
        if task.ship:
            payload = _collect(scratch)
            record["payload"].update(payload)
            files = list(payload)
        else:
            files = _move_into(scratch, Path(task.staging))
        entry["files"] = len(files)
        record["files"] += files
        record["warnings"] += [f"{part}: {w}" for w in warnings]
        for stem, exc in failures:  # some posters written, these not
            entry["status"] = "failed"
            _fail(record, part, exc, task, prefix=f"{stem}: ")
    except Exception as exc:  # noqa: BLE001 - isolation: any error of one compound is recorded, not raised
        if _is_environment(exc):
            raise
        entry["status"] = "failed"
        _fail(record, part, exc, task)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    entry["seconds"] = round(time.perf_counter() - start, 2)
    record["parts"][part] = entry


def _fail(record: dict, part: str, exc: BaseException, task: _Task, *, prefix: str = "") -> None:
    record["status"] = "failed"
    cause = f"{part}: {prefix}{_cause(exc)}"
    record["causes"].append(cause)
    where = _locate(task.bundle, exc)
    if where and where not in record["where"]:
        record["where"].append(where)
    if not isinstance(exc, RidermapError):  # a bug: keep the traceback for the report
        record["traceback"] = "".join(traceback.format_exception(exc)).strip()[-4000:]
    log.warning("%s %s failed: %s%s", task.community_id, part, cause, f" ({where})" if where else "")


def _community_task(task: _Task) -> dict:
    """Per-compound outputs; runs in a worker process (top-level for pickling). Never raises for bad data."""
    start = time.perf_counter()
    record = _record(task.community_id)
    if task.ship:
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="ridermap-"))  # on the worker's own disk
        record["payload"] = {}
    else:
        work = Path(task.work)
        work.mkdir(parents=True, exist_ok=True)
    try:
        for part in PER_COMPOUND:
            if part in (task.config.outputs if task.parts is None else task.parts):
                _run_part(part, task, record, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record["seconds"] = round(time.perf_counter() - start, 2)
    return record


def _record(cid: str, **fields) -> dict:
    """A compound's record as ``build.json`` lists it, with nothing built yet (``fields`` replace the defaults)."""
    return {
        "community": cid,
        "status": "ok",
        "files": [],
        "parts": {},
        "causes": [],
        "where": [],
        "warnings": [],
        **fields,
    }


def _failed_record(cid: str, exc: BaseException) -> dict:
    return _record(cid, status="failed", causes=[_cause(exc)], seconds=0.0)


def _district_part(report: BuildReport, name: str, fn: Callable[[], list[Path]], staging: Path) -> None:
    """Run a district-wide part; a failure is recorded (exit 1), the other parts still run."""
    start = time.perf_counter()
    entry: dict = {"status": "ok", "files": 0, "seconds": 0.0, "cause": ""}
    try:
        files = [Path(f) for f in fn()]
        entry["files"] = len(files)
        report.files += [report.outdir / f.relative_to(staging) for f in files]
    except Exception as exc:  # noqa: BLE001 - isolation of district parts
        if _is_environment(exc):
            raise
        entry.update(status="failed", cause=_cause(exc))
        log.warning("%s failed: %s", name, entry["cause"])
        if not isinstance(exc, RidermapError):
            log.debug("%s failed", name, exc_info=True)
    entry["seconds"] = round(time.perf_counter() - start, 2)
    report.district[name] = entry


def _errors_by_compound(bundle: Bundle, findings) -> dict[str, int]:
    """Validation errors per compound (from each finding's layer and feature id)."""
    owner: dict[tuple[str, str], str] = {("communities", str(c)): str(c) for c in bundle.communities["id"]}
    for name, layer in bundle.layers().items():
        if name != "communities" and "community_id" in layer:
            owner.update({(name, str(i)): str(c) for i, c in zip(layer["id"], layer["community_id"]) if c})
    counts: dict[str, int] = {}
    for f in findings:
        cid = owner.get((f.layer, str(f.id)))
        if f.severity == "error" and cid:
            counts[cid] = counts.get(cid, 0) + 1
    return counts


def _only(bundle: Bundle, ids: list[str]) -> Bundle:
    """The district restricted to ``ids`` (shared streets and facilities kept)."""
    keep = set(ids)
    layers = {}
    for name, layer in bundle.layers().items():
        if name == "communities":
            layers[name] = layer[layer["id"].isin(keep)]
        else:
            layers[name] = layer[layer["community_id"].isin(keep) | (layer["community_id"] == "")]
    return bundle.replace(**layers)


def build(
    bundle: Bundle,
    outdir: str | Path,
    *,
    config: Config,
    on_done: OnDone | None = None,
    landscape: bool = False,
    force: bool = False,
) -> BuildReport:
    """Write every output of ``config.outputs`` for every compound of ``bundle`` and publish it atomically.

    Parameters
    ----------
    bundle
        The district.
    outdir
        The output folder; becomes a link to the new build folder (see
        :class:`ridermap.publish.atomic.Publisher`).
    config
        What to build (``outputs``, ``communities``, ``paper``: A4...A0 or
        ``auto``, executor and workers).
    on_done
        ``on_done(done, total, record)`` after each compound.
    landscape
        Posters start landscape (they fall back to the other orientation
        and larger paper when labels do not fit, with a warning).
    force
        Build every compound again; by default a compound part whose key
        (its view, the config, ridermap; see
        :mod:`ridermap.publish.incremental`) is the one the previous build
        recorded is hard-linked from it instead (a failed compound is always
        built again).

    Returns
    -------
    BuildReport
        Also written to ``OUTDIR/build.json``.

    Raises
    ------
    ConfigError
        ``config.communities`` names a compound the data do not have.
    PublishError
        OUTDIR is busy (another build), not writable, or the disk is full;
        the previous build stays current.
    """
    report = BuildReport(Path(outdir))
    ids = list(config.communities) or bundle.community_ids()
    unknown = sorted(set(ids) - set(bundle.community_ids()))
    if unknown:
        raise ConfigError(
            f"communities {unknown[:5]} are not in the data (known: {', '.join(bundle.community_ids()[:10])})"
        )
    if "posters" in config.outputs:
        from ridermap.publish.posters import paper_attempts

        paper_attempts(config.paper)  # an unknown paper is a config error for the whole build, not per compound
    report.communities = ids
    start = time.perf_counter()
    with Publisher(outdir) as pub:
        try:
            assert pub.staging is not None  # made on entering the Publisher
            reuse = None if force else pub.previous
            report.key = _district_key(bundle, config, ids=ids, landscape=landscape)
            if reuse is not None and _reuse_whole(reuse, report, config=config):
                _keep_current(reuse, report, config=config, start=start)
                return report
            _carry_over(pub.previous, pub.staging, set(config.outputs))
            _build_into(
                bundle,
                pub.staging,
                report,
                ids=ids,
                config=config,
                on_done=on_done,
                landscape=landscape,
                previous=reuse,
            )
            report.tree_files = len((_tree_files(pub.staging) or ([], []))[0])
            report.seconds = round(time.perf_counter() - start, 2)
            write_text(pub.staging / "build.json", _report_json(report, config))
            if ids and not any(c["status"] != "failed" for c in report.compounds):
                log.error("no compound could be built: %s keeps the previous build", outdir)
            else:
                pub.publish()
                report.published = True
        except OSError as exc:
            if isinstance(exc, RidermapError):
                raise
            path = _display(pub, exc.filename)
            raise PublishError(f"{path}: {exc.strerror or exc}; the previous build of {outdir} is unchanged") from exc
    return report


def _district_key(bundle: Bundle, config: Config, *, ids: list[str], landscape: bool) -> str:
    from ridermap.publish.incremental import district_key

    start = time.perf_counter()
    key = district_key(bundle, config, ids=ids, landscape=landscape)
    log.info("district key in %.2f s", time.perf_counter() - start)
    return key


def _tree_files(root: Path) -> tuple[list[str], list[str]] | None:
    """The files under ``root`` but ``build.json`` and the folders, relative and sorted; None if anything
    there is not a plain file or folder (a link, a socket: such a build is not linked whole).

    One ``scandir`` per folder, no ``stat`` per file (the entry types come with the listing).
    """
    files: list[str] = []
    folders: list[str] = []
    todo = [("", str(root))]
    while todo:
        prefix, folder = todo.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    folders.append(rel)
                    todo.append((rel + "/", entry.path))
                elif entry.is_file(follow_symlinks=False):
                    if rel != "build.json":
                        files.append(rel)
                else:
                    return None
    return sorted(files), sorted(folders)


def _reuse_whole(previous: Path, report: BuildReport, *, config: Config) -> bool:
    """Nothing changed (the previous build has :attr:`BuildReport.key`): take over its records; True if so.

    Only a previous build in which no compound and no district part failed,
    whose files are all still there (as many as it made, every one a plain
    file), is taken whole; otherwise (False) the build runs and reuses
    compound by compound.
    """
    from ridermap.publish.incremental import previous_build

    data = previous_build(previous)
    if data is None or data.get("key") != report.key or not _all_ok(data, report.communities):
        return False
    tree = _tree_files(previous)
    if tree is None or len(tree[0]) != data["totals"].get("tree_files"):
        log.info("the previous build's files changed since it was made: building")
        return False
    files = tree[0]
    report.compounds = [_reused_record(c) for c in data["compounds"]]
    report.district = {name: {**entry, "seconds": 0.0, "reused": True} for name, entry in data["district"].items()}
    report.errors = int(data["totals"]["validation_errors"])
    report.warnings = int(data["totals"]["validation_warnings"])
    built = {name for output in config.outputs for name in OUTPUT_ENTRIES.get(output, ())}
    report.files = [report.outdir / f for f in files if f.split("/", 1)[0] in built]
    report.tree_files = len(files)
    return True


def _keep_current(current: Path, report: BuildReport, *, config: Config, start: float) -> None:
    """Nothing changed: the current build stays current, untouched but its report (replaced atomically)."""
    report.seconds = round(time.perf_counter() - start, 2)
    write_text(current / "build.json", _report_json(report, config))
    report.published = True
    log.info("nothing changed since the previous build: its %d files stay current", report.tree_files)


def _all_ok(data: dict, ids: list[str]) -> bool:
    """The previous build report covers ``ids`` in order, and no compound or district part of it failed."""
    try:
        compounds = data["compounds"]
        return (
            [c["community"] for c in compounds] == ids
            and all(c["status"] != "failed" for c in compounds)
            and all(p["status"] == "ok" for p in data["district"].values())
            and isinstance(data["totals"], dict)
        )
    except (KeyError, TypeError, AttributeError):
        return False


def _reused_record(entry: dict) -> dict:
    """A compound record of the previous ``build.json``, as reused whole by this build."""
    record = {k: v for k, v in entry.items() if k not in ("cause", "where")}
    record["causes"] = [entry["cause"]] if entry.get("cause") else []
    record["where"] = [entry["where"]] if entry.get("where") else []
    record["parts"] = {p: {**e, "reused": True, "seconds": 0.0} for p, e in (entry.get("parts") or {}).items()}
    record.update(reused=True, seconds=0.0)
    return record


def _display(pub: Publisher, filename) -> str:
    """A path in the staging folder as it would be under OUTDIR (a compound's scratch folder left out)."""
    if not filename or pub.staging is None:
        return str(pub.outdir)
    try:
        rel = Path(os.fsdecode(filename)).relative_to(pub.staging)
    except ValueError:
        return os.fsdecode(filename)
    if rel.parts[:1] == (WORK,) and len(rel.parts) > 3:
        rel = Path(*rel.parts[3:])  # .work/<n>/<part>/posters/... -> posters/...
    return str(pub.outdir / rel)


#: What each output is in OUTDIR (top-level names).
OUTPUT_ENTRIES = {
    "gpkg": ("ridermap.gpkg",),
    "validation": ("validation.txt", "validation.json"),
    "posters": ("posters",),
    "doorplates": ("doorplates",),
    "site": ("site",),
    "gaps": ("gaps",),
    "signs": ("signs",),
}


def _link_or_copy(src: str | Path, dst: str | Path, folders: set[str] | None = None) -> None:
    """Hard-link ``src`` to ``dst`` (a copy where the file system refuses links).

    Builds never change a file in place (every write is a new file renamed
    over the old one), so a file shared by two builds stays as it was; a
    ``dst`` already there is unlinked first, never written into. ``folders``:
    the folders already made (a district links hundreds of thousands of files).
    """
    parent = os.path.dirname(dst)
    if folders is None or parent not in folders:
        os.makedirs(parent, exist_ok=True)
        if folders is not None:
            folders.add(parent)
    try:
        os.link(src, dst)
    except FileExistsError:
        os.unlink(dst)
        _link_or_copy(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _carry_over(previous: Path | None, staging: Path, outputs: set[str]) -> None:
    """Bring the outputs this build does not make (``--only``) over from the previous build, hard-linked."""
    if previous is None:
        return
    for output, names in OUTPUT_ENTRIES.items():
        if output in outputs:
            continue
        for name in names:
            src = previous / name
            if src.is_file():
                _link_or_copy(src, staging / name)
            elif src.is_dir():
                for f in (p for p in src.rglob("*") if p.is_file() and not p.is_symlink()):
                    _link_or_copy(f, staging / f.relative_to(previous))
                for d in (p for p in [src, *src.rglob("*")] if p.is_dir()):
                    (staging / d.relative_to(previous)).mkdir(parents=True, exist_ok=True)
    log.info("kept %s from the previous build", ", ".join(sorted(set(OUTPUT_ENTRIES) - outputs)) or "nothing")


def _build_into(
    bundle: Bundle,
    staging: Path,
    report: BuildReport,
    *,
    ids: list[str],
    config: Config,
    on_done: OnDone | None,
    landscape: bool,
    previous: Path | None = None,
) -> None:
    """Every output into ``staging`` (a fresh folder), compounds isolated."""
    outputs = set(config.outputs)
    report.outdir = Path(report.outdir)
    analysis = Analysis(bundle)  # the path network, built once (on first use) for validation, routes, gaps and signs
    gaps = _gap_analysis(bundle, report, staging, config=config, analysis=analysis) if "gaps" in outputs else None
    # the GeoPackage, validation and gap tables need the whole model but nothing a compound makes: with
    # more than one worker they are written by a forked process while the compounds are built
    alongside = config.workers > 1 and bool(ids) and bool(outputs & set(PER_COMPOUND))
    if alongside and "validation" in outputs and outputs & {"site", "signs", "posters"}:
        _network_once(analysis)  # validation and the compounds both need it: built before the fork, not in each
    tables = Alongside(
        lambda: _district_tables(bundle, staging, report.outdir, config=config, analysis=analysis, gaps=gaps),
        enabled=alongside,
    )
    try:
        if outputs & set(PER_COMPOUND) and ids:
            _build_compounds(
                bundle,
                staging,
                report,
                ids=ids,
                config=config,
                on_done=on_done,
                landscape=landscape,
                previous=previous,
                gaps=gaps,
                analysis=analysis,
            )
        else:
            report.compounds = [_record(cid, seconds=0.0) for cid in ids]
        side, errors_by_compound = tables.result()
    finally:
        tables.close()  # nothing left to stop once its result is in
    report.district.update(side.district)
    report.files += side.files
    report.errors, report.warnings = side.errors, side.warnings
    for record in report.compounds:
        record["validation_errors"] = errors_by_compound.get(record["community"], 0)
        if record["status"] == "ok" and record["validation_errors"]:
            record["status"] = "data_errors"
            record["causes"].append(f"validation: {record['validation_errors']} errors (validation.txt)")
        report.files += [report.outdir / f for f in record["files"]]
    shutil.rmtree(staging / WORK, ignore_errors=True)
    _district_outputs(bundle, staging, report, config=config)
    report.district = {k: report.district[k] for k in sorted(report.district, key=DISTRICT_PARTS.index)}


#: the district-wide parts in the order build.json lists them
DISTRICT_PARTS = ("gpkg", "validation", "gap analysis", "site assets", "site index", "gaps")


def _district_tables(
    bundle: Bundle, staging: Path, outdir: Path, *, config: Config, analysis: Analysis, gaps
) -> tuple[BuildReport, dict[str, int]]:
    """The GeoPackage, validation and gap tables: their records (on a report of their own) and errors per compound."""
    outputs = set(config.outputs)
    side = BuildReport(outdir)
    errors_by_compound: dict[str, int] = {}
    if "gpkg" in outputs:
        from ridermap.publish.gpkg import write_gpkg

        _district_part(
            side, "gpkg", lambda: [write_gpkg(bundle, staging / "ridermap.gpkg", data_date=config.data_date)], staging
        )
    if "validation" in outputs:

        def _validation() -> list[Path]:
            from ridermap.analysis.validate import format_text, validate

            findings = validate(bundle, analysis=analysis)
            side.errors = sum(f.severity == "error" for f in findings)
            side.warnings = len(findings) - side.errors
            errors_by_compound.update(_errors_by_compound(bundle, findings))
            return [
                write_text(staging / "validation.txt", format_text(findings, language=config.language)),
                write_text(
                    staging / "validation.json",
                    json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=1),
                ),
            ]

        _district_part(side, "validation", _validation, staging)
    if gaps is not None:
        from ridermap.publish.gaps import write_gap_tables

        (staging / "gaps").mkdir(mode=0o755, exist_ok=True)
        _district_part(side, "gaps", lambda: write_gap_tables(gaps, bundle, staging / "gaps", config=config), staging)
    return side, errors_by_compound


def _gap_analysis(bundle: Bundle, report: BuildReport, staging: Path, *, config: Config, analysis: Analysis):
    """The district's gap analysis (its tables are written after the compounds, its maps with them), or None."""
    from ridermap.publish.gaps import analyse_gaps

    found = []

    def analyse() -> list[Path]:
        found.append(analyse_gaps(bundle, config=config, analysis=analysis))
        return []  # no file: the tables come after the compounds

    _district_part(report, "gap analysis", analyse, staging)
    return found[0] if found else None


def _network_once(analysis: Analysis) -> None:
    """Build the path topology now (an error stays with ``analysis``: the parts that need it meet and record it)."""
    try:
        analysis.topology  # noqa: B018 - built on first use
    except Exception as exc:  # noqa: BLE001
        if _is_environment(exc):
            raise


def _compound_analysis(analysis: Analysis | None, view: Bundle, todo: tuple[str, ...]) -> Analysis | None:
    """The compound's sub-network view for its task (the site and signs need one; a network error is theirs)."""
    if analysis is None or not {"site", "signs", "posters"} & set(todo):
        return None
    try:
        return analysis.for_compound(view)
    except Exception as exc:  # noqa: BLE001 - no district network: the part meets (and records) it on its own
        if _is_environment(exc):
            raise
        return None


class _GapParts:
    """Each compound's part of the district gap analysis: its rows' positions and key first, the slice on demand."""

    def __init__(self, bundle: Bundle, gaps) -> None:
        from ridermap.publish.incremental import GapDigests
        from ridermap.render.gapmap import GapMapLayers

        self.gaps = gaps
        self.layers = GapMapLayers(gaps.report, bundle)
        self.digests = GapDigests(self.layers, gaps.sites)

    def where(self, cid: str):
        """``(positions, digest)``, or ``(exception, "")`` if the compound's gap map cannot be made."""
        try:
            where = self.layers.positions(cid, sites=self.gaps.sites)
            return where, self.digests.digest(where)
        except Exception as exc:  # noqa: BLE001 - one compound's gap map fails on its own
            if _is_environment(exc):
                raise
            return exc, ""

    def slice(self, where):
        """The :class:`~ridermap.render.gapmap.GapSlice` a worker draws (or the exception, passed on)."""
        if isinstance(where, Exception):
            return where
        try:
            return self.layers.make(where, sites=self.gaps.sites)
        except Exception as exc:  # noqa: BLE001
            if _is_environment(exc):
                raise
            return exc


class _Plan:
    """Each compound's keys, and what is reused or built: tasks made one by one as the workers take them."""

    def __init__(self, bundle: Bundle, staging: Path, *, ids, config, landscape, previous, gaps, analysis, on_done):
        from ridermap.publish.incremental import DistrictDigests, FindingIndex, KeyMaker, previous_compounds

        self.bundle, self.staging, self.ids, self.config, self.landscape = bundle, staging, ids, config, landscape
        self.previous, self.analysis, self.on_done = previous, analysis, on_done
        self.parts = tuple(p for p in PER_COMPOUND if p in config.outputs and (p != "gaps" or gaps is not None))
        self.gap_parts = _GapParts(bundle, gaps) if "gaps" in self.parts else None
        self.keymaker = KeyMaker(config, landscape=landscape)
        self.digests = DistrictDigests(bundle, FindingIndex(bundle.findings))
        self.before = previous_compounds(previous)
        self.records: dict[str, dict] = {}  # failed early, or (partly) reused
        self.keys: dict[str, dict[str, str]] = {}
        self.decided = 0  # compounds reused whole or failed before building: they count as done at once

    def progress(self, done: int, _total: int, result) -> None:
        if self.on_done:
            self.on_done(self.decided + done, len(self.ids), result)

    def _planned(self, record: dict) -> None:
        """Record a reused or early-failed compound; it is counted done at the next report (none is made from
        here: a progress bar's thread must not start before the executor forks its workers)."""
        self.records[record["community"]] = record
        if record.get("reused") or record["status"] == "failed":
            self.decided += 1

    def tasks(self) -> Iterator[_Task]:
        bulk = _all_positions(self.bundle, self.ids)
        for i, cid in enumerate(self.ids):
            try:  # keys from row positions: a compound's view is made only if something of it is built
                positions = bulk.get(cid) or self.bundle.community_positions(cid)
                digest = self.digests.view(positions)
                light = self.bundle.view_of(cid, positions, only=("communities", "gates", "paths"))  # a sub-network's
            except Exception as exc:  # noqa: BLE001 - a compound whose view cannot be made is one failed compound
                if _is_environment(exc):
                    raise
                self._planned(_failed_record(cid, exc))
                continue
            task = self._task(i, cid, positions, digest, light)
            if task is not None:
                yield task

    def _task(self, i: int, cid: str, positions: dict, digest: str, light: Bundle) -> _Task | None:
        """Key the compound, link what is unchanged; its task if anything is left to build."""
        parts, config = self.parts, self.config
        keys = self.keys[cid] = {"view": digest, **self.keymaker.keys(digest, [p for p in parts if p != "gaps"])}
        gap_where = None
        if self.gap_parts is not None:
            gap_where, gap_digest = self.gap_parts.where(cid)
            keys["gaps"] = self.keymaker.keys(gap_digest, ["gaps"])["gaps"]
        sub = _compound_analysis(self.analysis, light, parts)
        if sub is not None:  # routes (pages, signs) depend on the network around the view too
            for part in ({"site", "signs"} | ({"posters"} if config.poster_signs else set())) & set(parts):
                keys[part] = hashlib.sha256(f"{keys[part]}\n{sub.digest()}".encode()).hexdigest()
        record = _reuse(cid, self.before.get(cid), keys, parts, self.previous, self.staging)
        if record is not None:
            self._planned(record)
        todo = tuple(p for p in parts if record is None or p not in record["parts"])
        if not todo:
            return None
        return _Task(
            self.bundle.view_of(cid, positions),
            cid,
            str(self.staging),
            str(self.staging / WORK / f"{i:06d}"),
            config,
            self.landscape,
            ship=config.executor == "dask",
            parts=todo,
            gap=self.gap_parts.slice(gap_where) if self.gap_parts is not None and "gaps" in todo else None,
            analysis=sub if {"site", "signs", "posters"} & set(todo) else None,
        )


def _build_compounds(
    bundle: Bundle,
    staging: Path,
    report: BuildReport,
    *,
    ids: list[str],
    config: Config,
    on_done: OnDone | None,
    landscape: bool,
    previous: Path | None = None,
    gaps=None,
    analysis: Analysis | None = None,
) -> None:
    """Build (or reuse from ``previous``) every compound's parts; one record per compound in ``ids`` order."""
    start = time.perf_counter()
    plan = _Plan(
        bundle,
        staging,
        ids=ids,
        config=config,
        landscape=landscape,
        previous=previous,
        gaps=gaps,
        analysis=analysis,
        on_done=on_done,
    )
    made = plan.tasks()
    first = next(made, None)  # no executor (nor Dask cluster) is started when every compound is reused
    results = []
    if first is not None:
        with make_executor(config.executor, workers=config.workers, address=config.dask_address) as executor:
            results = executor.map(_community_task, itertools.chain([first], made), on_done=plan.progress)
    if results or plan.decided:
        plan.progress(len(results), len(ids), None)  # the count at the end, reused compounds included
    records, keys, parts = plan.records, plan.keys, plan.parts
    log.info(
        "%d of %d compounds reused whole, %d built (in %.2f s)",
        sum(1 for r in records.values() if r.get("reused")),
        len(ids),
        len(results),
        time.perf_counter() - start,
    )
    for record in results:  # files a remote worker sent back as bytes
        for rel, data in (record.pop("payload", None) or {}).items():
            write_bytes(staging / rel, data)
        cid = record["community"]
        records[cid] = _merge_reused(record, records[cid]) if cid in records else record
    for cid, record in records.items():
        _stamp_keys(record, keys.get(cid), parts)
    report.compounds = [records[cid] for cid in ids]


def _all_positions(bundle: Bundle, ids: list[str]) -> dict[str, dict]:
    """Every compound's row positions at once (:meth:`Bundle.all_community_positions`); ``{}`` if that fails,
    and each compound then finds (or fails to find) its own."""
    try:
        return bundle.all_community_positions(ids)
    except Exception as exc:  # noqa: BLE001 - the compounds' own lookups record what is wrong
        if _is_environment(exc):
            raise
        log.debug("positions in bulk failed; one compound at a time", exc_info=True)
        return {}


def _reuse(
    cid: str, before: dict | None, keys: dict[str, str], parts: tuple[str, ...], previous: Path | None, staging: Path
) -> dict | None:
    """Hard-link the parts of ``cid`` whose key is unchanged from ``previous``; their record, or None if none."""
    from ridermap.publish.incremental import reusable

    found = {p: files for p in parts if (files := reusable(before, p, keys[p], previous)) is not None}
    if not found or previous is None or before is None:
        return None
    start = time.perf_counter()
    record = _record(cid)
    folders: set[str] = set()
    src_root, dst_root = str(previous), str(staging)
    for part, files in found.items():
        for rel in files:  # strings, not Paths: a district links hundreds of thousands of files
            _link_or_copy(f"{src_root}/{rel}", f"{dst_root}/{rel}", folders)
        record["files"] += files
        record["parts"][part] = {**before["parts"][part], "reused": True, "seconds": 0.0}
        record["warnings"] += [w for w in before.get("warnings", []) if str(w).startswith(f"{part}: ")]
    record["reused"] = len(found) == len(parts)
    record["seconds"] = round(time.perf_counter() - start, 2)
    return record


def _merge_reused(built: dict, reused: dict) -> dict:
    """A compound some of whose parts were built now and the others reused."""
    built["files"] = reused["files"] + built["files"]
    built["warnings"] = reused["warnings"] + built["warnings"]
    built["parts"] = {
        p: (built["parts"].get(p) or reused["parts"][p])
        for p in PER_COMPOUND
        if p in built["parts"] or p in reused["parts"]
    }
    built["seconds"] = round(built["seconds"] + reused["seconds"], 2)
    return built


def _stamp_keys(record: dict, keys: dict[str, str] | None, parts: tuple[str, ...]) -> None:
    """Record the compound's key and each part's key and whether it was reused (for the next build)."""
    record["key"] = (keys or {}).get("view", "")
    for part in parts:
        entry = record["parts"].get(part)
        if entry is None:
            continue
        entry["reused"] = bool(entry.get("reused"))
        if keys and entry.get("status") == "ok":
            entry["key"] = keys[part]
        else:
            entry.pop("key", None)  # a failed part is never reused
    record["reused"] = bool(record["parts"]) and all(record["parts"].get(p, {}).get("reused") for p in parts)


def _district_outputs(bundle: Bundle, staging: Path, report: BuildReport, *, config: Config) -> None:
    """Site assets and index, of the compounds whose pages were written."""
    if "site" in config.outputs:
        from ridermap.publish.site import copy_site_assets, write_site_index

        ok = [c["community"] for c in report.compounds if c.get("parts", {}).get("site", {}).get("status") == "ok"]
        _district_part(report, "site assets", lambda: copy_site_assets(staging / "site"), staging)
        _district_part(
            report, "site index", lambda: write_site_index(_only(bundle, ok), staging / "site", config=config), staging
        )


def _report_json(report: BuildReport, config: Config) -> str:
    """``build.json``: per compound status, files, seconds, cause; district parts; totals."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ridermap_version = version("ridermap")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        ridermap_version = "unknown"
    compounds = []
    for c in report.compounds:
        entry = {
            "community": c["community"],
            "status": c["status"],
            "reused": bool(c.get("reused")),
            "key": c.get("key", ""),
            "cause": "; ".join(c["causes"]),
            "where": "; ".join(c["where"]),
            "seconds": c["seconds"],
            "files": sorted(c["files"]),
            "parts": c["parts"],
            "warnings": c["warnings"],
            "validation_errors": c.get("validation_errors", 0),
        }
        if "traceback" in c:
            entry["traceback"] = c["traceback"]
        compounds.append(entry)
    statuses = [c["status"] for c in report.compounds]
    totals = {
        "compounds": len(statuses),
        "ok": statuses.count("ok"),
        "failed": statuses.count("failed"),
        "data_errors": statuses.count("data_errors"),
        "reused": sum(bool(c.get("reused")) for c in report.compounds),
        "files": len(report.files),
        "validation_errors": report.errors,
        "validation_warnings": report.warnings,
        "tree_files": report.tree_files,
        "seconds": report.seconds,
        "exit_code": report.exit_code,
    }
    data = {
        "ridermap": ridermap_version,
        "name": config.name,
        "key": report.key,
        "data_date": config.data_date,
        "outputs": list(config.outputs),
        "paper": config.paper,
        "totals": totals,
        "district": report.district,
        "compounds": compounds,
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"
