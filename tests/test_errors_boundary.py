"""Every command goes through one error boundary: one line, the right exit code, never a traceback."""

from __future__ import annotations

import pytest
import responses
from click.testing import CliRunner
from conftest import SAMPLE_CONFIG


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """Every HTTP request fails to connect (responses with no route); osmnx's cache in tmp_path."""
    monkeypatch.setenv("RIDERMAP_CACHE", str(tmp_path / "cache"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "overpass:place=锦江区"],
        ["site", "overpass:place=锦江区", "-o", "SITE"],
        ["ingest", "overpass:bbox=30.65,104.08,30.66,104.09", "-o", "x.gpkg"],
        ["gaps", "overpass:bbox=30.65,104.08,30.66,104.09", "-o", "GAPS"],
    ],
)
def test_network_failure_is_one_line_naming_the_source_exit_2(offline, tmp_path, command):
    from cli import main

    command = [c.replace("SITE", str(tmp_path / "site")).replace("GAPS", str(tmp_path / "gaps")) for c in command]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    lines = _error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith(f"ridermap: error: {command[1]}: ")
    assert "not reachable (ConnectionError)" in lines[0] and "Traceback" not in result.output
    assert offline.calls, "the command did try the network (through the mock)"


def test_osmnx_global_settings_are_left_as_they_were(offline):
    import osmnx as ox

    from cli import main

    before = ox.settings.cache_folder
    CliRunner().invoke(main, ["validate", "overpass:place=锦江区"])
    assert ox.settings.cache_folder == before


def test_a_bug_anywhere_is_one_line_exit_3(monkeypatch, tmp_path):
    import ridermap.ingest as ingest_module
    from cli import main

    def broken(*a, **kw):
        raise KeyError("boom\nsecond line")

    monkeypatch.setattr(ingest_module, "bundle_from_sources", broken)
    for command in (
        ["validate", str(tmp_path / "x.osm")],
        ["ingest", str(tmp_path / "x.osm"), "-o", str(tmp_path / "x.gpkg")],
    ):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 3, result.output
        lines = _error_lines(result.output)
        assert len(lines) == 1 and lines[0].startswith("ridermap: error: internal error: KeyError")


def test_a_raw_network_error_reaching_the_boundary_is_still_one_line(monkeypatch):
    import requests

    import ridermap.ingest as ingest_module
    from cli import main

    def unreachable(*a, **kw):
        raise requests.ConnectionError("Max retries exceeded with url: /search")

    monkeypatch.setattr(ingest_module, "bundle_from_sources", unreachable)
    result = CliRunner().invoke(main, ["validate", "whatever.osm"])
    assert result.exit_code == 2, result.output
    lines = _error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith("ridermap: error: network error") and "ConnectionError" in lines[0]


def test_unwritable_output_is_one_line_naming_the_path(tmp_path, monkeypatch):
    import errno
    import os

    from cli import main

    real = os.replace

    def full(src, dst, *a, **kw):
        if str(dst).endswith(".gpkg"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", full)
    target = tmp_path / "model.gpkg"
    result = CliRunner().invoke(main, ["ingest", "--config", str(SAMPLE_CONFIG), "-o", str(target)])
    assert result.exit_code == 2, result.output
    lines = _error_lines(result.output)
    assert lines == [f"ridermap: error: {target}: No space left on device"]
