"""Online OSM download, tested against a recorded Overpass response (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from ridermap.errors import InputError
from ridermap.ingest import bundle_from_sources
from ridermap.ingest.online import fetch_osm, overpass_query, parse_spec

RECORDED = Path(__file__).parent / "data" / "overpass_response.osm"
SPEC = "overpass:bbox=30.650,104.085,30.656,104.092"


@pytest.fixture
def overpass():
    import osmnx as ox

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.POST,
            ox.settings.overpass_url.rstrip("/") + "/interpreter",
            body=RECORDED.read_bytes(),
            status=200,
            content_type="application/osm3s+xml",
        )
        yield mock


def test_download_is_cached_and_read_like_a_file(tmp_path, overpass):
    bundle = bundle_from_sources([SPEC], admin_code="510104", cache_dir=str(tmp_path))
    assert len(bundle.buildings) == 12 and "锦华苑" in set(bundle.communities["name"])
    assert len(overpass.calls) == 1
    from urllib.parse import parse_qs

    body = overpass.calls[0].request.body
    query = parse_qs(body if isinstance(body, str) else body.decode())["data"][0]
    assert "(30.65,104.085,30.656,104.092)" in query
    cached = list(tmp_path.glob("overpass-*.osm"))
    assert len(cached) == 1
    again = bundle_from_sources([SPEC], admin_code="510104", cache_dir=str(tmp_path))  # from the cache
    assert len(overpass.calls) == 1 and len(again.buildings) == 12


def test_overpass_error_is_one_clear_line(tmp_path):
    import osmnx as ox

    with responses.RequestsMock() as mock:
        mock.add(responses.POST, ox.settings.overpass_url.rstrip("/") + "/interpreter", body="rate limited", status=429)
        with pytest.raises(InputError, match="HTTP 429"):
            fetch_osm(SPEC, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.osm"))


def test_unreachable_overpass_says_use_a_local_file(tmp_path):
    with responses.RequestsMock():  # no route registered: connection refused
        with pytest.raises(InputError, match="use a local .osm/.pbf file"):
            fetch_osm(SPEC, cache_dir=tmp_path)


@pytest.mark.parametrize("spec", ["overpass:bbox=1,2,3", "overpass:bbox=31,104,30,105", "overpass:nothing"])
def test_bad_specs(spec):
    with pytest.raises(InputError):
        parse_spec(spec)


def test_query_keeps_private_paths_and_entrances():
    q = overpass_query(1, 2, 3, 4)
    assert 'way["highway"]' in q and 'node["entrance"]' in q and "[out:xml]" in q


def test_without_the_online_extra_an_overpass_source_says_what_to_install(tmp_path, monkeypatch):
    import sys

    from click.testing import CliRunner

    from cli import main

    monkeypatch.setitem(sys.modules, "osmnx", None)  # as if `pip install ridermap` without [online]
    with pytest.raises(InputError, match=r"optional package osmnx: install ridermap\[online\]"):
        fetch_osm(SPEC, cache_dir=tmp_path)
    result = CliRunner().invoke(main, ["ingest", SPEC, "-o", str(tmp_path / "x.gpkg")])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"ridermap: error: {SPEC}: online sources need the optional package osmnx: "
        "install ridermap[online] (pip install 'ridermap[online]') or use a local .osm/.pbf file\n"
    )
    zh = CliRunner().invoke(main, ["validate", SPEC])
    assert zh.exit_code == 2 and "请安装 ridermap[online]" in zh.output and len(zh.output.splitlines()) == 1
    offline = CliRunner().invoke(main, ["ingest", str(RECORDED), "-o", str(tmp_path / "ok.gpkg")])  # files still work
    assert offline.exit_code == 0, offline.output


def test_only_the_online_reader_imports_osmnx_and_requests_and_nothing_networkx():
    import ast

    root = Path(__file__).resolve().parent.parent / "ridermap"
    users: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top in ("osmnx", "requests", "networkx"):
                    users.setdefault(top, set()).add(path.relative_to(root).as_posix())
    assert users == {"osmnx": {"ingest/online.py"}, "requests": {"ingest/online.py"}}


def test_unknown_place_is_one_line_and_osmnx_settings_are_restored(tmp_path, monkeypatch):
    import re

    import osmnx as ox
    from click.testing import CliRunner

    from cli import main

    monkeypatch.setenv("RIDERMAP_CACHE", str(tmp_path / "rc"))
    monkeypatch.chdir(tmp_path)
    before = ox.settings.cache_folder
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, re.compile(re.escape(ox.settings.nominatim_url.rstrip("/")) + "/search.*"), json=[])
        result = CliRunner().invoke(main, ["validate", "--lang", "en", "overpass:place=没有这个地方"])
        assert len(mock.calls) == 1
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        "ridermap: error: overpass:place=没有这个地方: place not found or refused by Nominatim: "
    )
    assert len(result.output.splitlines()) == 1
    assert ox.settings.cache_folder == before
    assert len(list((tmp_path / "rc" / "osmnx").glob("*.json"))) == 1, (
        "osmnx cached in ridermap's folder during the call"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["rc"], "and not in its default ./cache"
