"""Incremental builds: a rebuild reuses (hard-links) the parts of compounds whose key is unchanged.

Builds the sample (and a two-compound district made by tiling it, as
``benchmarks/district.py`` does) with ``ridermap build`` in-process, then
builds again after changing nothing, a survey label, ``base_url``, or one
compound of two, and checks which compounds were built again (``build.json``)
and that reused files are the very files of the previous build (same inode).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLE_CONFIG, SAMPLE_ID

PARTS = ("posters", "doorplates", "site", "gaps", "signs")


def _build(config: Path, out: Path, *extra: str, code: int = 0) -> dict:
    from cli import main

    result = CliRunner().invoke(main, ["-q", "build", str(config), "-o", str(out), "--workers", "1", *extra])
    assert result.exit_code == code, result.output
    return json.loads((out / "build.json").read_text(encoding="utf-8"))


def _compound(report: dict, cid: str) -> dict:
    return next(c for c in report["compounds"] if c["community"] == cid)


def _inodes(out: Path, files: list[str]) -> dict[str, int]:
    return {f: os.stat(out / f).st_ino for f in files}


def _sample_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE_CONFIG.parent, folder)
    return folder / SAMPLE_CONFIG.name


def _edit_survey_label(config: Path, old: str, new: str) -> None:
    import openpyxl

    path = config.parent / "survey.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["buildings"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == old]
    assert len(cells) == 1
    cells[0].value = new
    book.save(path)


def test_rebuild_reuses_unchanged_and_rebuilds_what_changed(tmp_path):
    config = _sample_copy(tmp_path)
    out = tmp_path / "out"
    first = _compound(_build(config, out), SAMPLE_ID)
    assert first["status"] == "ok" and first["reused"] is False and len(first["key"]) == 64
    assert {p: first["parts"][p]["reused"] for p in PARTS} == dict.fromkeys(PARTS, False)
    files = first["files"]
    assert {f.split("/")[0] for f in files} == set(PARTS) and len(files) > 100
    before = _inodes(out, files)
    before_bytes = {f: (out / f).read_bytes() for f in files}
    gpkg_inode = os.stat(out / "ridermap.gpkg").st_ino

    # nothing changed: every file is the previous build's file, the district-wide ones too (the build is linked
    # whole: test_incremental_district.py)
    again = _build(config, out)
    second = _compound(again, SAMPLE_ID)
    assert second["reused"] is True and second["key"] == first["key"]
    assert all(second["parts"][p]["reused"] and second["parts"][p]["key"] == first["parts"][p]["key"] for p in PARTS)
    assert sorted(second["files"]) == sorted(files)
    assert _inodes(out, files) == before
    assert {f: (out / f).read_bytes() for f in files} == before_bytes
    assert os.stat(out / "ridermap.gpkg").st_ino == gpkg_inode
    assert again["totals"]["reused"] == 1 and again["district"]["site index"]["status"] == "ok"
    assert (out / "site" / "index.html").is_file()

    # a survey label changed: the compound is built again and its outputs show the new label
    _edit_survey_label(config, "10号楼", "10号楼东")
    third = _compound(_build(config, out), SAMPLE_ID)
    assert third["key"] != first["key"] and third["reused"] is False
    assert not any(third["parts"][p]["reused"] for p in PARTS)
    assert all(os.stat(out / f).st_ino != before[f] for f in files if (out / f).exists())
    pages = "".join(p.read_text(encoding="utf-8") for p in (out / "site").rglob("*.html"))
    assert "10号楼东" in pages

    # --force builds everything although nothing changed
    forced = _compound(_build(config, out, "--force"), SAMPLE_ID)
    assert forced["reused"] is False and forced["key"] == third["key"]


def test_a_new_base_url_rebuilds_the_compound(tmp_path):
    config = _sample_copy(tmp_path)
    out = tmp_path / "out"
    only = ("--only", "doorplates")
    first = _compound(_build(config, out, *only), SAMPLE_ID)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("https://rider.example.cn/", "https://maps.example.org/jj/"), encoding="utf-8")
    second = _compound(_build(config, out, *only), SAMPLE_ID)
    assert second["key"] == first["key"], "the data did not change"
    assert second["parts"]["doorplates"]["key"] != first["parts"]["doorplates"]["key"] and second["reused"] is False
    index = (out / "doorplates" / SAMPLE_ID / "index.csv").read_text(encoding="utf-8")
    assert "maps.example.org/jj/" in index and "rider.example.cn" not in index  # the QR payloads


def _two_compounds(folder: Path, sample_bundle) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from district import _tile
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from ridermap.publish.gpkg import write_gpkg

    write_gpkg(_tile(sample_bundle.community(SAMPLE_ID), 2), folder / "district.gpkg")
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    head, tail = text.split("[[sources]]", 1)[0], text.split("[build]", 1)[1]
    config = folder / "ridermap.toml"
    config.write_text(f'{head}[[sources]]\npath = "district.gpkg"\n\n[build]{tail}', encoding="utf-8")
    return config


def _relabel(gpkg: Path, cid: str) -> str:
    import pyogrio

    layers = {name: pyogrio.read_dataframe(gpkg, layer=name) for name, _ in pyogrio.list_layers(gpkg)}
    b = layers["buildings"]
    first = b.index[b["community_id"] == cid][0]
    b.loc[first, "label"] = b.loc[first, "label"] + "改"
    tmp = gpkg.with_name("tmp.gpkg")
    for name, gdf in layers.items():
        pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG")
    os.replace(tmp, gpkg)
    return b.loc[first, "label"]


def test_a_failed_compound_is_built_again_and_only_the_changed_one_of_two(tmp_path, sample_bundle, monkeypatch):
    import ridermap.publish.site as site

    config = _two_compounds(tmp_path, sample_bundle)
    out = tmp_path / "out"
    only = ("--only", "site")
    a, b = sorted(set(_tile_ids(tmp_path)))
    real = site.write_community_site

    def broken_for_a(view, *args, **kwargs):
        if view.community_ids() == [a]:
            raise RuntimeError("disk gremlin")
        return real(view, *args, **kwargs)

    monkeypatch.setattr(site, "write_community_site", broken_for_a)
    first = _build(config, out, *only, code=1)
    assert _compound(first, a)["status"] == "failed" and "disk gremlin" in _compound(first, a)["cause"]
    assert "key" not in _compound(first, a)["parts"]["site"] and _compound(first, b)["status"] == "ok"
    monkeypatch.setattr(site, "write_community_site", real)

    # a failed compound is built again although its data did not change; the other one is reused
    second = _build(config, out, *only)
    assert _compound(second, a)["status"] == "ok" and _compound(second, a)["reused"] is False
    assert _compound(second, a)["key"] == _compound(first, a)["key"]
    assert (out / "site" / "c" / f"{a}.html").is_file()
    keep = _inodes(out, _compound(first, b)["files"])
    assert _compound(second, b)["reused"] is True and _inodes(out, _compound(second, b)["files"]) == keep

    # one of two compounds changed: only that one is built again
    label = _relabel(tmp_path / "district.gpkg", a)
    third = _build(config, out, *only)
    changed, same = _compound(third, a), _compound(third, b)
    assert changed["reused"] is False and changed["key"] != _compound(second, a)["key"]
    assert same["reused"] is True and same["key"] == _compound(first, b)["key"]
    assert _inodes(out, same["files"]) == keep
    assert label in (out / "site" / "c" / f"{a}.html").read_text(encoding="utf-8")
    assert label not in (out / "site" / "c" / f"{b}.html").read_text(encoding="utf-8")
    assert third["totals"]["reused"] == 1 and third["district"]["site index"]["status"] == "ok"


def _tile_ids(folder: Path) -> list[str]:
    import pyogrio

    return [str(c) for c in pyogrio.read_dataframe(folder / "district.gpkg", layer="communities")["id"]]


def test_view_digest_is_deterministic_and_order_free(sample_bundle):
    """(How cheap it is shows in benchmarks/district.py's no-change rebuild, not in a timed test.)"""
    from ridermap.publish.incremental import FindingIndex, view_digest

    view = sample_bundle.community(SAMPLE_ID)
    index = FindingIndex(sample_bundle.findings)
    digest = view_digest(view, index)
    shuffled = view.replace(**{name: layer.iloc[::-1] for name, layer in view.layers().items()})
    assert view_digest(shuffled, index) == digest
    moved = view.buildings.copy()
    moved.loc[0, "geometry"] = moved.geometry.iloc[0].buffer(1e-7)
    assert view_digest(view.replace(buildings=moved), index) != digest
    from ridermap.model.findings import Finding

    finding = Finding("warning", "x", "buildings", str(view.buildings["id"].iloc[0]), "t", "中", "en")
    assert view_digest(view, FindingIndex([finding])) != digest
    assert (
        view_digest(view, FindingIndex([Finding("warning", "x", "buildings", "elsewhere", "t", "中", "en")])) == digest
    )
    # the same in another process with another hash seed
    code = (
        f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}]\n"
        "from conftest import SAMPLE_ID\n"
        "from ridermap.config import load_config\nfrom ridermap.ingest import bundle_from_config\n"
        "from ridermap.publish.incremental import view_digest\n"
        "from conftest import SAMPLE_CONFIG\n"
        "print(view_digest(bundle_from_config(load_config(SAMPLE_CONFIG)).community(SAMPLE_ID)))\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert other.stdout.strip() == digest


@pytest.mark.parametrize("field,value", [("paper", "A3"), ("plate_size", "medium")])
def test_a_part_only_field_changes_only_that_part(field, value, sample_config):
    import dataclasses

    from ridermap.publish.incremental import KeyMaker

    base = KeyMaker(sample_config).keys("d" * 64, PARTS)
    other = KeyMaker(dataclasses.replace(sample_config, **{field: value})).keys("d" * 64, PARTS)
    changed = {p for p in PARTS if base[p] != other[p]}
    assert changed == {"posters" if field == "paper" else "doorplates"}
    assert KeyMaker(sample_config, landscape=True).keys("d" * 64, PARTS)["posters"] != base["posters"]
    workers = KeyMaker(dataclasses.replace(sample_config, workers=7, executor="dask")).keys("d" * 64, PARTS)
    assert workers == base


def test_reusable_needs_the_same_key_an_ok_compound_and_every_file(tmp_path):
    from ridermap.publish.incremental import previous_compounds, reusable

    (tmp_path / "site" / "c").mkdir(parents=True)
    (tmp_path / "site" / "c" / "x.html").write_text("x", encoding="utf-8")
    (tmp_path / "secret").write_text("s", encoding="utf-8")
    record = {
        "community": "x",
        "status": "ok",
        "files": ["site/c/x.html"],
        "parts": {"site": {"status": "ok", "files": 1, "key": "k"}},
    }
    assert reusable(record, "site", "k", tmp_path) == ["site/c/x.html"]
    assert reusable({**record, "status": "data_errors"}, "site", "k", tmp_path) == ["site/c/x.html"]
    assert reusable(record, "site", "other", tmp_path) is None
    assert reusable({**record, "status": "failed"}, "site", "k", tmp_path) is None
    assert reusable(record, "posters", "k", tmp_path) is None
    assert reusable(record, "site", "k", None) is None
    assert reusable({**record, "files": ["site/../secret"]}, "site", "k", tmp_path) is None
    assert (
        reusable(
            {
                **record,
                "files": ["site/c/x.html", "site/c/gone.html"],
                "parts": {"site": {"status": "ok", "files": 2, "key": "k"}},
            },
            "site",
            "k",
            tmp_path,
        )
        is None
    )
    (tmp_path / "build.json").write_text("{not json", encoding="utf-8")
    assert previous_compounds(tmp_path) == {}
    (tmp_path / "build.json").write_text(json.dumps({"compounds": [record]}), encoding="utf-8")
    assert previous_compounds(tmp_path) == {"x": record}


def test_gap_maps_are_per_compound_drawn_from_slices_and_reused(tmp_path, sample_bundle):
    """A compound's gap map is its own part: drawn from its slice of the district analysis, byte for byte
    what the district-wide ``ridermap gaps`` draws, and rebuilt only when its slice changed."""
    config = _two_compounds(tmp_path, sample_bundle)
    out = tmp_path / "out"
    only = ("--only", "gaps")
    a, b = sorted(set(_tile_ids(tmp_path)))
    first = _build(config, out, *only)
    assert [_compound(first, c)["parts"]["gaps"]["files"] for c in (a, b)] == [1, 1]
    assert first["district"]["gap analysis"]["status"] == "ok" and first["district"]["gaps"]["files"] > 5
    whole = tmp_path / "whole"
    from cli import main

    result = CliRunner().invoke(main, ["-q", "gaps", "--config", str(config), "-o", str(whole)])
    assert result.exit_code == 0, result.output
    for cid in (a, b):
        assert (out / "gaps" / "pdf" / f"{cid}.pdf").read_bytes() == (whole / "pdf" / f"{cid}.pdf").read_bytes()
    keep = _inodes(out, [f"gaps/pdf/{b}.pdf"])
    _relabel(tmp_path / "district.gpkg", a)
    second = _build(config, out, *only)
    assert _compound(second, a)["parts"]["gaps"]["reused"] is False
    assert _compound(second, b)["parts"]["gaps"]["reused"] is True
    assert _inodes(out, [f"gaps/pdf/{b}.pdf"]) == keep


# --- keys from row positions (no view or gap slice made for an unchanged compound) -----------------------------
def _xueyuanlu():
    from conftest import shared_osm

    from ridermap.ingest import bundle_from_sources

    return bundle_from_sources([shared_osm("beijing_xueyuanlu.osm")], admin_code="110108")


@pytest.mark.parametrize("which", ["sample", "bupt", "xueyuanlu"])
def test_keys_from_positions_equal_the_keys_of_views_and_slices(which, request, sample_config):
    """The build keys compounds from row positions; they must be the digests of the views and slices it draws."""
    from ridermap.publish.gaps import analyse_gaps
    from ridermap.publish.incremental import DistrictDigests, GapDigests, gap_digest, view_digest
    from ridermap.render.gapmap import GapMapLayers

    bundle = {"sample": lambda: request.getfixturevalue("sample_bundle"),
              "bupt": lambda: request.getfixturevalue("bupt_bundle"), "xueyuanlu": _xueyuanlu}[which]()  # fmt: skip
    if which == "sample":  # findings about features count in the key: give the sample one
        from ridermap.model.findings import Finding

        gate = str(bundle.gates["id"].iloc[0])
        bundle = bundle.with_findings([Finding("warning", "test", "gates", gate, "osm:node/1", "门", "gate")])
    digests = DistrictDigests(bundle)
    gaps = analyse_gaps(bundle, config=sample_config)
    layers = GapMapLayers(gaps.report, bundle)
    gap_digests = GapDigests(layers, gaps.sites)
    for cid in bundle.community_ids():
        positions = bundle.community_positions(cid)
        assert digests.view(positions) == view_digest(bundle.community(cid))
        where = layers.positions(cid, sites=gaps.sites)
        assert gap_digests.digest(where) == gap_digest(layers.subset(cid, sites=gaps.sites))
    # and a view made of the positions is the compound's view
    cid = bundle.community_ids()[-1]
    made = bundle.view_of(cid, bundle.community_positions(cid))
    for name, layer in bundle.community(cid).layers().items():
        assert made.layers()[name].equals(layer), name


@pytest.mark.parametrize("which", ["sample", "bupt", "xueyuanlu"])
def test_positions_in_bulk_are_each_compounds_positions(which, request):
    """A build finds every compound's rows at once; they must be what each compound finds on its own."""
    bundle = {"sample": lambda: request.getfixturevalue("sample_bundle"),
              "bupt": lambda: request.getfixturevalue("bupt_bundle"), "xueyuanlu": _xueyuanlu}[which]()  # fmt: skip
    ids = bundle.community_ids()
    bulk = bundle.all_community_positions(ids + ["no-such-compound"])
    assert sorted(bulk) == sorted(ids)  # an unknown id is left to community_positions (and its error)
    for cid in ids:
        one = bundle.community_positions(cid)
        assert bulk[cid].keys() == one.keys()
        for name, pos in one.items():
            assert np.array_equal(bulk[cid][name], pos) and bulk[cid][name].dtype == pos.dtype, (cid, name)
    assert any(len(bulk[c]["paths"]) > len(bundle.paths[bundle.paths["community_id"] == c]) for c in ids)  # streets
