"""``ridermap build``: every output for every compound in a config.

Layout of OUTDIR::

    ridermap.gpkg                 the merged model (all compounds)
    validation.txt / .json        findings
    posters/<community>/...       gate posters + overview        (posters)
    doorplates/<community>/...    plates, sheets, verification   (doorplates)
    site/                         the rider website               (site)
    gaps/                         planner gap reports             (gaps)

District-wide steps (model, validation, site index, gaps) run once; the
per-compound steps run through the executor seam, one task per compound.
A rebuild removes what an earlier build wrote for the same compounds but this
one did not (a gate or unit that is gone must not keep its poster or page);
other compounds' files are left alone.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ridermap.config import Config
from ridermap.model.bundle import Bundle
from ridermap.publish.atomic import write_text
from ridermap.publish.executor import OnDone, make_executor

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    outdir: Path
    communities: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0


@dataclass(frozen=True)
class _Task:
    bundle: Bundle
    community_id: str
    outdir: str
    config: Config


def _community_task(task: _Task) -> list[str]:
    """Per-compound outputs; runs in a worker process (top-level for pickling)."""
    outdir = Path(task.outdir)
    cfg = task.config
    files: list[Path] = []
    if "posters" in cfg.outputs:
        from ridermap.publish.posters import write_posters

        files += write_posters(task.bundle, task.community_id, outdir / "posters", config=cfg)
    if "doorplates" in cfg.outputs:
        from ridermap.publish.doorplates import write_doorplates

        files += write_doorplates(task.bundle, task.community_id, outdir / "doorplates", config=cfg, verify=True)
    if "site" in cfg.outputs:
        from ridermap.publish.site import write_community_site

        files += write_community_site(task.bundle, outdir / "site", config=cfg)
    return [str(f) for f in files]


def build(bundle: Bundle, outdir: str | Path, *, config: Config, on_done: OnDone | None = None) -> BuildReport:
    """Write every output of ``config.outputs`` for every compound of ``bundle``."""
    from ridermap.model.validate import format_text, validate

    outdir = Path(outdir)
    report = BuildReport(outdir)
    ids = list(config.communities) or bundle.community_ids()
    report.communities = ids
    if "gpkg" in config.outputs:
        from ridermap.publish.gpkg import write_gpkg

        report.files.append(write_gpkg(bundle, outdir / "ridermap.gpkg"))
    if "validation" in config.outputs:
        findings = validate(bundle)
        report.errors = sum(f.severity == "error" for f in findings)
        report.warnings = len(findings) - report.errors
        report.files.append(write_text(outdir / "validation.txt", format_text(findings, language=config.language)))
        report.files.append(write_text(outdir / "validation.json", json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=1)))
    per_compound = {"posters", "doorplates", "site"} & set(config.outputs)
    if per_compound and ids:
        tasks = [_Task(bundle.community(cid), cid, str(outdir), config) for cid in ids]
        executor = make_executor(config.executor, workers=config.workers, address=config.dask_address)
        for files in executor.map(_community_task, tasks, on_done=on_done):
            report.files += [Path(f) for f in files]
    if "site" in config.outputs:
        from ridermap.publish.site import copy_site_assets, write_site_index

        report.files += copy_site_assets(outdir / "site")
        report.files += write_site_index(bundle, outdir / "site", config=config)
    if "gaps" in config.outputs:
        from ridermap.publish.gaps import write_gaps

        report.files += write_gaps(bundle, outdir / "gaps", config=config)
    _prune(outdir, ids, report.files, set(config.outputs))
    return report


def _owned_by(name: str, ids: list[str]) -> bool:
    """Whether a file name (``<cid>.html``, ``<cid>-b7-u2.html``) belongs to one of ``ids``."""
    stem = name.split(".", 1)[0]
    return any(stem == cid or stem.startswith(cid + "-") for cid in ids)


def _prune(outdir: Path, ids: list[str], written: list[Path], outputs: set[str]) -> None:
    """Delete stale files of the built compounds that this build did not write."""
    keep = {Path(f).resolve() for f in written}
    stale: list[Path] = []
    if "posters" in outputs:  # doorplates and gaps replace their folders whole already
        for cid in ids:
            folder = outdir / "posters" / cid
            if folder.is_dir():
                stale += [f for f in folder.rglob("*") if f.is_file() and f.resolve() not in keep]
    if "site" in outputs:
        for sub in ("c", "d", "u"):
            folder = outdir / "site" / sub
            if folder.is_dir():
                stale += [f for f in folder.iterdir()
                          if f.is_file() and _owned_by(f.name, ids) and f.resolve() not in keep]
    for f in stale:
        f.unlink()
    if stale:
        log.info("removed %d stale files of an earlier build", len(stale))
