"""Reproducible builds: the same inputs, config and ridermap version give byte-identical outputs.

Builds the sample with ``ridermap build`` into separate folders and compares
the sha256 of every file. The only dates in outputs come from the config's
``data_date`` or ``SOURCE_DATE_EPOCH``; element ids in HTML are numbered,
not random; timings stay out of outputs.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_CONFIG, SAMPLE_ID

from ridermap.errors import ConfigError
from ridermap.publish.gpkg import fixed_timestamp

EPOCH = 1700000000  # 2023-11-14T22:13:20Z
#: the build report holds the run's timings by design (issue 10: "timings go to the build report")
REPORTS = {"build.json"}
#: outputs that carry a date (from SOURCE_DATE_EPOCH when set, else from data_date)
DATED = {"ridermap.gpkg", "gaps/gaps.gpkg", f"gaps/pdf/{SAMPLE_ID}.pdf", f"signs/{SAMPLE_ID}/sign-plan.pdf"}


def _build(out: Path, *, epoch: int | None, only: tuple[str, ...] = ()) -> dict[str, str]:
    from cli import main

    args = ["-q", "build", str(SAMPLE_CONFIG), "-o", str(out)]
    for o in only:
        args += ["--only", o]
    result = CliRunner().invoke(main, args, env={"SOURCE_DATE_EPOCH": None if epoch is None else str(epoch)})
    assert result.exit_code == 0, result.output
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.relative_to(out).as_posix() not in REPORTS
    }


def _last_changes(gpkg: Path) -> set[str]:
    con = sqlite3.connect(str(gpkg))
    try:
        return {row[0] for row in con.execute("SELECT last_change FROM gpkg_contents")}
    finally:
        con.close()


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("repro") / "a"
    return out, _build(out, epoch=None)


def test_two_builds_of_the_sample_are_byte_identical(first, tmp_path):
    out_a, a = first
    b = _build(tmp_path / "b", epoch=None)
    assert len(a) >= 140
    assert sorted(a) == sorted(b)
    differ = sorted(name for name in a if a[name] != b[name])
    assert differ == []
    # no date of today anywhere it could hide: the GeoPackage stamps are the start of data_date (2026-11)
    assert _last_changes(out_a / "ridermap.gpkg") | _last_changes(out_a / "gaps" / "gaps.gpkg") <= {
        "2026-11-01T00:00:00.000Z",
        "1970-01-01T00:00:00.000Z",
    }  # build.py passes data_date (or not yet)
    assert b"D:2026" in (out_a / "gaps" / "pdf" / f"{SAMPLE_ID}.pdf").read_bytes()
    html = (out_a / "gaps" / "gaps.html").read_text(encoding="utf-8")
    assert not re.search(r"[0-9a-f]{32}", html)  # folium's random element ids


def test_source_date_epoch_sets_every_date_and_nothing_else(first, tmp_path):
    _, a = first
    c = _build(tmp_path / "c", epoch=EPOCH)
    assert sorted(c) == sorted(a)
    assert sorted(name for name in a if a[name] != c[name]) == sorted(DATED)
    stamp = "2023-11-14T22:13:20.000Z"
    assert _last_changes(tmp_path / "c" / "ridermap.gpkg") == {stamp}
    assert _last_changes(tmp_path / "c" / "gaps" / "gaps.gpkg") == {stamp}
    assert b"D:20231114221320Z" in (tmp_path / "c" / "gaps" / "pdf" / f"{SAMPLE_ID}.pdf").read_bytes()
    # and again with the same epoch: the same bytes
    d = _build(tmp_path / "d", epoch=EPOCH, only=("gpkg", "gaps"))
    assert d and all(c[name] == d[name] for name in d), [name for name in d if c[name] != d[name]]


@pytest.mark.parametrize(
    ("data_date", "expected"),
    [
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-05", datetime(2026, 11, 5, tzinfo=UTC)),
        ("2026", datetime(2026, 1, 1, tzinfo=UTC)),
        ("", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2026-13", datetime(1970, 1, 1, tzinfo=UTC)),
        ("soon", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_fixed_timestamp_from_data_date(monkeypatch, data_date, expected):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert fixed_timestamp(data_date) == expected


def test_source_date_epoch_wins_and_must_be_a_number(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    assert fixed_timestamp("2026-11") == datetime.fromtimestamp(EPOCH, tz=UTC)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        fixed_timestamp("2026-11")


def test_stable_ids_are_numbered_per_block_and_random_outside():
    import folium

    from ridermap.render.site_maps import stable_ids

    with stable_ids("t"):
        a = folium.Map(tiles=None).get_root().render()
    with stable_ids("t"):
        b = folium.Map(tiles=None).get_root().render()
    assert a == b and "map_t" in a
    assert folium.Map(tiles=None).get_name() != folium.Map(tiles=None).get_name()


def test_gpkg_header_counters_do_not_count_the_writes(tmp_path, sample_bundle, monkeypatch):
    """GDAL's number of write transactions varies with timing; the header's counters must not carry it."""
    import sqlite3

    import ridermap.publish.gpkg as gpkg

    quick = gpkg.write_gpkg(sample_bundle, tmp_path / "m.gpkg", data_date="2026-11")
    real = gpkg.fix_timestamps

    def after_more_writes(path, *, data_date=""):  # as a slower GDAL might commit more often
        for _ in range(3):
            with sqlite3.connect(path) as con:
                con.execute("UPDATE gpkg_contents SET last_change = last_change")
        real(path, data_date=data_date)

    monkeypatch.setattr(gpkg, "fix_timestamps", after_more_writes)
    slow = gpkg.write_gpkg(sample_bundle, tmp_path / "n.gpkg", data_date="2026-11")
    head = quick.read_bytes()[:100]
    assert head[24:28] == head[92:96] == (1).to_bytes(4, "big")
    assert quick.read_bytes() == slow.read_bytes()
    with sqlite3.connect(quick) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
