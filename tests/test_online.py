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
        mock.add(responses.POST, ox.settings.overpass_url.rstrip("/") + "/interpreter",
                 body=RECORDED.read_bytes(), status=200, content_type="application/osm3s+xml")
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
