"""Shared fixtures: the sample compound, the real OSM extracts in ../shared."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_OSM = ROOT.parent / "shared" / "data" / "osm"
SAMPLE_CONFIG = ROOT / "data" / "sample" / "ridermap.toml"
SAMPLE_ID = "510104-jhy"
BUPT_ID = "110108-w1376112785"
MINSK_ID = "000000-w501362928"


def shared_osm(name: str) -> Path:
    path = SHARED_OSM / name
    if not path.is_file():
        pytest.skip(f"real OSM extract {path} is absent (../shared/data/osm/ not checked out)")
    return path


@pytest.fixture(scope="session")
def sample_config():
    from ridermap.config import load_config

    return load_config(SAMPLE_CONFIG)


@pytest.fixture(scope="session")
def sample_bundle(sample_config):
    from ridermap.ingest import bundle_from_config

    return bundle_from_config(sample_config)


@pytest.fixture(scope="session")
def bupt_bundle():
    from ridermap.ingest import bundle_from_sources

    return bundle_from_sources([shared_osm("beijing_bupt.osm")], admin_code="110108")


@pytest.fixture(scope="session")
def minsk_bundle():
    from ridermap.ingest import bundle_from_sources

    return bundle_from_sources([shared_osm("minsk_nemiga.osm")], admin_code="000000")


def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not path:
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    return path


#: Debian chromium, headless, talking to nothing but the pages under test
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    pw = sync_api.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 - any launch failure means: no usable browser here
        pw.stop()
        pytest.skip(f"chromium at {executable} does not start under Playwright: {exc}")
    yield b
    b.close()
    pw.stop()
