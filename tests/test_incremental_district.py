"""Incremental builds, district-wide: a rebuild with nothing changed links the previous build whole; any change
that reaches a district-wide output builds it again, and the result is the fresh build's, file by file.

The district key (:func:`ridermap.publish.incremental.district_key`) covers the whole model, the config, the
compounds and ridermap; the unit test below changes each of them in turn. The build test uses a two-compound
district tiled from the sample (as ``benchmarks/district.py`` makes it) with the district-wide outputs and the
site (the per-compound parts of posters, doorplates and signs are covered by ``test_incremental.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import shapely
from click.testing import CliRunner
from conftest import SAMPLE_ID, edit_layer
from test_incremental import _compound, _tile_ids, _two_compounds

import ridermap.publish.incremental as incremental
from ridermap.model.findings import Finding

ONLY = ("--only", "gpkg", "--only", "validation", "--only", "gaps", "--only", "site")


def _key(bundle, config, **options):
    from ridermap.publish.incremental import district_key

    return district_key(bundle, config, ids=options.pop("ids", bundle.community_ids()), **options)


def test_the_district_key_changes_with_everything_an_output_depends_on(sample_bundle, sample_config, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    base = _key(sample_bundle, sample_config)
    assert len(base) == 64 and _key(sample_bundle, sample_config) == base

    def moved(f):
        f.loc[0, "geometry"] = shapely.affinity.translate(f.geometry.iloc[0], 0.0002, 0.0)
        return f

    def opened(g):
        g.loc[g["rider_access"] == "walk", "rider_access"] = "ride"
        return g

    changed = {
        "a facility moved": _key(edit_layer(sample_bundle, "facilities", moved), sample_config),
        "a gate's access": _key(edit_layer(sample_bundle, "gates", opened), sample_config),
        "a finding": _key(
            sample_bundle.with_findings([Finding("info", "x", "gates", "g", "t", "中", "e")]), sample_config
        ),
        "the row order": _key(edit_layer(sample_bundle, "buildings", lambda b: b.iloc[::-1]), sample_config),
        "a gap target": _key(
            sample_bundle, dataclasses.replace(sample_config, targets_m={**sample_config.targets_m, "charger": 250.0})
        ),
        "the language": _key(sample_bundle, dataclasses.replace(sample_config, language="en")),
        "the outputs": _key(sample_bundle, dataclasses.replace(sample_config, outputs=("gpkg",))),
        "the compounds": _key(sample_bundle, sample_config, ids=[]),
        "landscape": _key(sample_bundle, sample_config, landscape=True),
    }
    # how and where the build runs changes no output
    same = dataclasses.replace(sample_config, workers=7, executor="dask", dask_address="tcp://x:1", cache_dir="/c")
    assert _key(sample_bundle, same) == base
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    changed["SOURCE_DATE_EPOCH"] = _key(sample_bundle, sample_config)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    monkeypatch.setattr(incremental, "code_fingerprint", lambda: "another ridermap")
    changed["the code"] = _key(sample_bundle, sample_config)
    assert {what: key for what, key in changed.items() if key == base} == {}
    assert len(set(changed.values())) == len(changed)


def _hashes(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.relative_to(out).as_posix() != "build.json"
    }


def _inodes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_ino for p in out.rglob("*") if p.is_file()}


def _build(config: Path, out: Path, code: int = 0) -> dict:
    from cli import main

    result = CliRunner().invoke(main, ["-q", "build", str(config), "-o", str(out), "--workers", "1", *ONLY])
    assert result.exit_code == code, result.output
    return json.loads((out / "build.json").read_text(encoding="utf-8"))


def _fresh_equals(config: Path, out: Path, tmp: Path) -> None:
    """``out`` holds, file by file, what a fresh build of ``config`` makes."""
    fresh = tmp / f"fresh{len(list(tmp.glob('fresh*')))}"
    _build(config, fresh)
    a, b = _hashes(out), _hashes(fresh)
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []


def _move_facility(gpkg: Path, cid: str) -> None:
    import pyogrio

    layers = {name: pyogrio.read_dataframe(gpkg, layer=name) for name, _ in pyogrio.list_layers(gpkg)}
    f = layers["facilities"]
    row = f.index[(f["community_id"] == cid) & (f["kind"] == "charger")][0]
    f.loc[row, "geometry"] = shapely.affinity.translate(f.geometry.loc[row], 0.0008, 0.0004)
    tmp = gpkg.with_name("tmp.gpkg")
    for name, gdf in layers.items():
        pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG")
    os.replace(tmp, gpkg)


def test_a_district_rebuild_reuses_what_it_can_and_equals_a_fresh_build(tmp_path, sample_bundle, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    config = _two_compounds(tmp_path, sample_bundle)
    out = tmp_path / "out"
    a, b = sorted(set(_tile_ids(tmp_path)))
    first = _build(config, out)
    assert len(first["key"]) == 64 and first["totals"]["tree_files"] == len(_hashes(out))

    # nothing changed: the previous build stays current, every file the very same file, its report taken over
    inodes, current = _inodes(out), out.resolve()
    again = _build(config, out)
    assert out.resolve() == current
    assert again["key"] == first["key"] and again["totals"]["reused"] == 2
    assert all(p.get("reused") for p in again["district"].values())
    assert {f: i for f, i in _inodes(out).items() if f != "build.json"} == {
        f: i for f, i in inodes.items() if f != "build.json"
    }
    assert again["totals"]["files"] == first["totals"]["files"]
    assert [c["files"] for c in again["compounds"]] == [c["files"] for c in first["compounds"]]

    # a facility of compound a moved: the district-wide outputs are built again, compound b's page is reused
    _move_facility(tmp_path / "district.gpkg", a)
    moved = _build(config, out)
    assert moved["key"] != first["key"] and not any(p.get("reused") for p in moved["district"].values())
    assert _compound(moved, a)["parts"]["site"]["reused"] is False
    assert _compound(moved, b)["parts"]["site"]["reused"] is True
    assert _inodes(out)["gaps/gaps.gpkg"] != inodes["gaps/gaps.gpkg"]
    _fresh_equals(config, out, tmp_path)

    # a gap target changed in the config: the compounds' pages are reused, the gap reports follow the new target
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("charger = 300", "charger = 150"), encoding="utf-8")
    retargeted = _build(config, out)
    assert retargeted["key"] != moved["key"]
    assert all(_compound(retargeted, c)["parts"]["site"]["reused"] for c in (a, b))
    summary = json.loads((out / "gaps" / "summary.json").read_text(encoding="utf-8"))
    assert summary["targets_m"]["charger"] == 150
    _fresh_equals(config, out, tmp_path)

    # a file of the current build went missing: the build is not linked whole, and the file is back
    (out / "validation.txt").unlink()
    repaired = _build(config, out)
    assert repaired["key"] == retargeted["key"] and (out / "validation.txt").is_file()
    assert not any(p.get("reused") for p in repaired["district"].values())


def test_a_previous_build_with_a_failure_is_never_linked_whole(tmp_path):
    from ridermap.config import Config
    from ridermap.publish.build import BuildReport, _reuse_whole

    status = "failed"
    previous = tmp_path / "prev"
    previous.mkdir()
    (previous / "validation.txt").write_text("v", encoding="utf-8")
    record = {"community": SAMPLE_ID, "status": "ok", "files": [], "parts": {}, "cause": "", "where": ""}
    data = {
        "key": "k",
        "district": {"validation": {"status": "ok", "files": 1}},
        "compounds": [record],
        "totals": {"tree_files": 1, "validation_errors": 0, "validation_warnings": 0},
    }

    def reuse(d: dict, key: str = "k") -> bool:
        (previous / "build.json").write_text(json.dumps(d), encoding="utf-8")
        report = BuildReport(tmp_path / "out", communities=[SAMPLE_ID], key=key)
        return _reuse_whole(previous, report, config=Config(outputs=("validation",)))

    assert reuse(data) is True
    assert reuse(data, key="other") is False
    assert reuse({**data, "compounds": [{**record, "status": status}]}) is False
    assert reuse({**data, "district": {"validation": {"status": status, "files": 0}}}) is False
    assert reuse({**data, "compounds": []}) is False  # another set of compounds
    assert reuse({**data, "totals": {**data["totals"], "tree_files": 2}}) is False  # a file went missing
    os.symlink(previous / "validation.txt", previous / "link.txt")
    assert reuse({**data, "totals": {**data["totals"], "tree_files": 2}}) is False  # a link is never followed
