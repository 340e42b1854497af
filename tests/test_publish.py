"""Atomic publish of a build (OUTDIR link, lock, leftovers, disk errors) and compound isolation."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_CONFIG, SAMPLE_ID
from shapely import affinity

from ridermap.errors import RenderError
from ridermap.model.bundle import Bundle, concat_bundles

RIDERMAP = Path(sys.executable).parent / "ridermap"
OTHER = "510104-tst"  # the compound of test_poster.make_bundle


def _manifest(out: Path) -> dict[str, str]:
    """sha256 of every file under ``out`` (through the link), by relative path."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def _leftovers(parent: Path, name: str = "out") -> list[str]:
    """Anything beside and inside the build folders that a finished build should not leave."""
    builds = parent / f".{name}.builds"
    left = [p.name for p in parent.iterdir() if p.name not in (name, f".{name}.builds", f".{name}.lock")]
    current = os.readlink(parent / name).split("/")[-1]
    left += [p.name for p in builds.iterdir() if p.name != current]
    left += [str(p) for p in (parent / name).rglob(".*")]
    return left


def _other_compound(units_per_building: int) -> Bundle:
    """test_poster's 160 m x 120 m compound, moved 3 km east of the sample."""
    from test_poster import make_bundle

    b = make_bundle(units_per_building=units_per_building)
    return b.replace(
        **{
            name: layer.set_geometry(layer.geometry.map(lambda g: affinity.translate(g, xoff=0.03)))
            for name, layer in b.layers().items()
        }
    )


def _district_config(tmp_path: Path, bundle: Bundle, *, extra: str = "") -> Path:
    from ridermap.publish.gpkg import write_gpkg

    write_gpkg(bundle, tmp_path / "district.gpkg")
    cfg = tmp_path / "ridermap.toml"
    cfg.write_text(
        '[project]\nadmin_code = "510104"\ndata_date = "2026-11"\n\n[[sources]]\npath = "district.gpkg"\n\n'
        f"[build]\nworkers = 1\n{extra}",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture(scope="module")
def good_build(tmp_path_factory):
    """A complete sample build in ``<tmp>/out`` (module-wide; tests copy it before changing anything)."""
    parent = tmp_path_factory.mktemp("good")
    done = subprocess.run(
        [str(RIDERMAP), "-q", "build", str(SAMPLE_CONFIG), "-o", "out", "--workers", "1"],
        cwd=parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return parent


def _copy_build(src_parent: Path, dst_parent: Path) -> Path:
    """Copy an OUTDIR link and its build folder (links kept as links)."""
    import shutil

    shutil.copytree(src_parent / ".out.builds", dst_parent / ".out.builds", symlinks=True)
    os.symlink(os.readlink(src_parent / "out"), dst_parent / "out")
    return dst_parent / "out"


def test_outdir_is_a_link_to_a_complete_build_with_public_modes(good_build):
    out = good_build / "out"
    assert out.is_symlink() and not os.path.isabs(os.readlink(out))
    assert Path(os.readlink(out)).parent.name == ".out.builds"
    report = json.loads((out / "build.json").read_text(encoding="utf-8"))
    assert report["totals"]["exit_code"] == 0 and report["compounds"][0]["status"] == "ok"
    per_compound = set(report["compounds"][0]["files"])
    assert {
        f"posters/{SAMPLE_ID}/{SAMPLE_ID}-overview.pdf",
        f"site/c/{SAMPLE_ID}.html",
        f"doorplates/{SAMPLE_ID}/verification.json",
    } <= per_compound
    assert all((out / f).is_file() for f in per_compound)
    from ridermap.publish.atomic import current_umask

    umask = current_umask()  # the build subprocess inherited it
    for p in [out.resolve(), *out.resolve().rglob("*")]:
        want = (0o777 if p.is_dir() else 0o666) & ~umask
        assert p.stat().st_mode & 0o777 == want, p
    assert _leftovers(good_build) == []


def test_a_second_build_is_refused_while_one_holds_the_lock(tmp_path):
    from cli import main

    lock = tmp_path / ".out.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = CliRunner().invoke(main, ["build", str(SAMPLE_CONFIG), "-o", str(tmp_path / "out"), "--only", "gpkg"])
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if x.startswith("ridermap: error")]
    assert len(lines) == 1 and "another ridermap build is writing here" in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES])
def test_disk_full_or_no_permission_is_one_line_naming_the_file_and_keeps_the_previous_build(
    good_build, tmp_path, monkeypatch, err
):
    from cli import main

    out = _copy_build(good_build, tmp_path)
    before = _manifest(out)
    real_replace = os.replace

    def failing_replace(src, dst, *a, **kw):
        if str(dst).endswith(".pdf"):
            raise OSError(err, os.strerror(err), str(dst))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", failing_replace)
    result = CliRunner().invoke(
        main, ["build", str(SAMPLE_CONFIG), "-o", str(out), "--workers", "1", "--only", "posters", "--force"]
    )  # unchanged posters would be reused
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    error = [x for x in result.output.splitlines() if x.startswith("ridermap: error")]
    assert len(error) == 1 and os.strerror(err) in error[0] and f"{out}/posters/{SAMPLE_ID}/" in error[0]
    assert "previous build" in error[0] and "Traceback" not in result.output
    assert _manifest(out) == before
    assert _leftovers(tmp_path) == []


def test_an_older_real_outdir_is_migrated_and_a_foreign_folder_refused(tmp_path):
    from cli import main

    out = tmp_path / "out"
    (out / "posters" / SAMPLE_ID).mkdir(parents=True)
    (out / "posters" / SAMPLE_ID / f"{SAMPLE_ID}-gone.pdf").write_text("old", encoding="utf-8")
    (out / "validation.txt").write_text("old", encoding="utf-8")
    result = CliRunner().invoke(main, ["-q", "build", str(SAMPLE_CONFIG), "-o", str(out), "--only", "validation"])
    assert result.exit_code == 0, result.output
    assert out.is_symlink() and (out / "validation.txt").read_text(encoding="utf-8") != "old"
    assert not (out / "posters").exists(), "the legacy folder is not carried into the new build"
    assert _leftovers(tmp_path) == []

    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.docx").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(SAMPLE_CONFIG), "-o", str(mine), "--only", "validation"])
    assert result.exit_code == 2 and "holds files ridermap did not write (thesis.docx)" in result.output
    assert (mine / "thesis.docx").read_text(encoding="utf-8") == "mine" and not mine.is_symlink()


def test_leftovers_of_interrupted_runs_are_cleaned(good_build, tmp_path):
    from cli import main

    out = _copy_build(good_build, tmp_path)
    builds = tmp_path / ".out.builds"
    (builds / "20260101T000000-dead").mkdir()
    (builds / "20260101T000000-dead" / "half.pdf").write_text("x", encoding="utf-8")
    os.symlink(".out.builds/20260101T000000-dead", tmp_path / ".out.swap")
    result = CliRunner().invoke(main, ["-q", "build", str(SAMPLE_CONFIG), "-o", str(out), "--only", "validation"])
    assert result.exit_code == 0, result.output
    assert _leftovers(tmp_path) == []
    assert (out / "posters" / SAMPLE_ID).is_dir(), "outputs not rebuilt are carried over"


def test_atomic_dir_cleans_dead_temp_folders_and_restores_an_interrupted_swap(tmp_path):
    from ridermap.publish.atomic import atomic_dir, current_umask

    target = tmp_path / "510104-jhy"
    dead = tmp_path / ".510104-jhy.tmp999999999-abc"  # no such pid
    dead.mkdir()
    old = tmp_path / ".510104-jhy.old"  # died between the two renames: the old folder is the only copy
    old.mkdir()
    (old / "plate.pdf").write_text("old plate", encoding="utf-8")
    with atomic_dir(target) as tmp:
        assert (target / "plate.pdf").read_text(encoding="utf-8") == "old plate"
        assert tmp.stat().st_mode & 0o777 == 0o777 & ~current_umask()
        (tmp / "plate.pdf").write_text("new plate", encoding="utf-8")
    assert (target / "plate.pdf").read_text(encoding="utf-8") == "new plate"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["510104-jhy"]


def _kill_during_build(parent: Path, after_s: float) -> None:
    proc = subprocess.Popen(  # --force: a build that writes a new folder (unchanged, the current one would stay)
        [str(RIDERMAP), "-q", "build", str(SAMPLE_CONFIG), "-o", "out", "--force"],
        cwd=parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(after_s)
    os.kill(proc.pid, signal.SIGKILL)  # the build process only, as `kill -9 PID` would
    proc.wait(timeout=30)
    time.sleep(0.3)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # orphaned pool workers of this test: do not leave them running
    except ProcessLookupError:
        pass


def test_kill_9_at_any_moment_leaves_one_complete_build(good_build, tmp_path):
    out = _copy_build(good_build, tmp_path)
    before = _manifest(out)
    mid_build = 0  # kills that hit while a new build folder was being written
    for after_s in (0.5, 2.0, 4.0, 6.0, 8.0):
        _kill_during_build(tmp_path, after_s)
        mid_build += len(list((tmp_path / ".out.builds").iterdir())) > 1
        now = _manifest(out)
        if now != before:  # the kill came after the switch: then it must be the whole new build
            assert sorted(now) == sorted(before), f"mixed build after kill at {after_s} s"
            report = json.loads((out / "build.json").read_text(encoding="utf-8"))
            assert report["totals"]["exit_code"] == 0
            before = now
    assert mid_build, "no kill hit a build in progress: the test proved nothing"
    done = subprocess.run(
        [str(RIDERMAP), "-q", "build", str(SAMPLE_CONFIG), "-o", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(_manifest(out)) == sorted(before)
    assert _leftovers(tmp_path) == []


def test_one_failing_compound_does_not_stop_the_district(sample_bundle, tmp_path, monkeypatch):
    """A compound whose posters cannot be drawn at all beside the sample.

    Labels that fit no paper no longer fail (they are listed beside the map:
    test_poster_fit); what still can fail is the last resort itself, as here.
    """
    import ridermap.publish.posters as posters
    from cli import main
    from ridermap.render.poster_labels import LabelFitError, LabelRequest

    real = posters.render_poster

    def last_resort_fails(view, cid, **kw):
        if cid == OTHER:  # on every paper, and as the last resort too
            request = LabelRequest(f"{OTHER}-b1-u2", "unit", "2", 1.0, 1.0, (0.0, 0.0), np.empty((0, 2)))
            raise RenderError(
                f"no room for the unit label '2' ({OTHER}-b1-u2) on A0 landscape: labels do not fit"
            ) from LabelFitError("no room", request)
        return real(view, cid, **kw)

    monkeypatch.setattr(posters, "render_poster", last_resort_fails)
    district = concat_bundles([sample_bundle, _other_compound(2)])
    cfg = _district_config(tmp_path, district)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["build", str(cfg), "-o", str(out), "--paper", "A0", "--only", "posters", "--only", "site"]
    )
    assert result.exit_code == 1, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("510104-")}
    assert rows[SAMPLE_ID].split()[1] == "ok"
    assert rows[OTHER].split()[1] == "failed" and "no room for the unit label" in rows[OTHER]
    assert "A0 landscape" in rows[OTHER] and "survey.xlsx:units:2" in rows[OTHER]
    report = json.loads((out / "build.json").read_text(encoding="utf-8"))
    by_id = {c["community"]: c for c in report["compounds"]}
    assert by_id[OTHER]["parts"]["posters"]["status"] == "failed" and by_id[OTHER]["parts"]["site"]["status"] == "ok"
    assert by_id[OTHER]["where"].startswith(f"unit {OTHER}-b") and report["totals"]["failed"] == 1
    gates = sorted(sample_bundle.gates["id"])
    assert sorted(p.stem for p in (out / "posters" / SAMPLE_ID).glob("*.pdf")) == gates + [f"{SAMPLE_ID}-overview"]
    index = (out / "site" / "index.html").read_text(encoding="utf-8")
    assert SAMPLE_ID in index and OTHER in index and (out / "site" / "assets").is_dir()


def test_a_bug_in_one_compound_is_recorded_and_the_index_lists_what_was_built(sample_bundle, tmp_path, monkeypatch):
    import ridermap.publish.site as site_module
    from cli import main

    district = concat_bundles([sample_bundle, _other_compound(2)])
    cfg = _district_config(tmp_path, district)
    real = site_module.write_community_site

    def buggy(view, site_dir, **kw):
        if view.community_ids() == [OTHER]:
            (Path(site_dir) / "c").mkdir(parents=True, exist_ok=True)
            (Path(site_dir) / "c" / f"{OTHER}.html").write_text("half", encoding="utf-8")
            raise ZeroDivisionError("division by zero in 测试苑")
        return real(view, site_dir, **kw)

    monkeypatch.setattr(site_module, "write_community_site", buggy)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(cfg), "-o", str(out), "--only", "site"])
    assert result.exit_code == 1, result.output
    assert "ZeroDivisionError: division by zero in 测试苑" in result.output and "Traceback" not in result.output
    report = json.loads((out / "build.json").read_text(encoding="utf-8"))
    other = next(c for c in report["compounds"] if c["community"] == OTHER)
    assert other["status"] == "failed" and "ZeroDivisionError" in other["traceback"]
    assert other["where"] == f"community {OTHER} (osm:way/9)"  # the name in the message points at the compound
    assert not (out / "site" / "c" / f"{OTHER}.html").exists(), "a failed part leaves no half output"
    index = (out / "site" / "index.html").read_text(encoding="utf-8")
    assert SAMPLE_ID in index and OTHER not in index


def test_paper_falls_back_to_landscape_then_larger_with_a_warning(tmp_path):
    from test_poster import CONFIG, make_bundle

    from ridermap.publish.posters import paper_attempts, render_fitting_poster, write_compound_posters

    assert paper_attempts("A2") == [
        ("A2", False),
        ("A2", True),
        ("A1", False),
        ("A1", True),
        ("A0", False),
        ("A0", True),
    ]
    assert paper_attempts("auto")[0] == ("A4", False)
    crowded = make_bundle(units_per_building=20)  # not even with callouts on A4 (checked just below)
    from ridermap.errors import RenderError
    from ridermap.render.poster import render_poster

    with pytest.raises(RenderError):
        render_poster(crowded, OTHER, gate=None, config=CONFIG, paper="A4")
    poster, warning = render_fitting_poster(crowded.community(OTHER), OTHER, gate=None, config=CONFIG, paper="A4")
    assert warning and warning.startswith("labels did not fit on A4: printed on A")
    assert poster.page_mm != (210.0, 297.0)
    poster.figure.clear()
    _, quiet = render_fitting_poster(crowded.community(OTHER), OTHER, gate=None, config=CONFIG, paper="auto")
    assert quiet is None
    result = write_compound_posters(crowded, OTHER, tmp_path, config=CONFIG, paper="A4")
    assert len(result.files) == 4 and not result.failures and len(result.warnings) >= 1


def test_a_compound_with_data_errors_is_built_marked_and_exits_1(sample_bundle, tmp_path):
    from shapely import affinity as aff

    from cli import main

    other = _other_compound(2)
    units = other.units.copy()
    units.loc[0, "geometry"] = aff.translate(units.geometry.iloc[0], yoff=0.0005)  # a door 55 m off its building
    cfg = _district_config(tmp_path, concat_bundles([sample_bundle, other.replace(units=units)]))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(cfg), "-o", str(out), "--only", "validation", "--only", "site"])
    assert result.exit_code == 1, result.output
    report = json.loads((out / "build.json").read_text(encoding="utf-8"))
    by_id = {c["community"]: c for c in report["compounds"]}
    assert by_id[OTHER]["status"] == "data_errors" and by_id[OTHER]["validation_errors"] == 1
    assert by_id[SAMPLE_ID]["status"] == "ok" and report["totals"]["data_errors"] == 1
    assert (out / "site" / "c" / f"{OTHER}.html").is_file(), "data errors do not stop the compound's outputs"
    row = next(line for line in result.output.splitlines() if line.startswith(OTHER))
    assert "data_errors" in row and "validation: 1 errors" in row
