"""Shared fixtures and helpers: the sample compound, the real OSM extracts in ../shared, the browser.

The one place for anything two test files share. Test files import it as ``conftest``
(pytest puts tests/ on ``sys.path``), never as ``tests.conftest``: that would load a second
copy of this module with its own constants and caches.
"""

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
SAMPLE_BASE = ROOT / "data" / "sample" / "base.osm"
SAMPLE_SURVEY = ROOT / "data" / "sample" / "survey.xlsx"

#: Hand-drawn test districts are drawn in metres around (0, 0), moved to this origin in UTM 48N
#: (near Chengdu) and handed over in WGS84, so expected distances can be added up by hand.
UTM_48N = "EPSG:32648"
X0, Y0 = 400_000.0, 3_390_000.0


def local_gdf(rows: list[dict]):
    """A WGS84 GeoDataFrame of ``rows`` whose ``geometry`` is drawn in metres around (0, 0)."""
    import geopandas as gpd
    import shapely

    rows = [dict(r) for r in rows]
    geoms = [shapely.affinity.translate(r.pop("geometry"), X0, Y0) for r in rows]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=UTM_48N).to_crs("EPSG:4326")


def edit_layer(bundle, layer: str, fn):
    """``bundle`` with ``layer`` replaced by ``fn(copy of layer)``."""
    return bundle.replace(**{layer: fn(getattr(bundle, layer).copy())})


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
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


def gap_table_ids(table):
    """A gap table written with Chinese headers (the default), with its column ids back (``headers`` inverted)."""
    import pandas as pd

    from ridermap import i18n
    from ridermap.model.schema import FACILITY_KINDS
    from ridermap.publish.gaps import headers

    plain = [k.split(".", 1)[1] for k in i18n.MESSAGES if k.startswith("gapcsv.") and not k.startswith("gapcsv.kind_")]
    ids = plain + [
        f"{k}_{s}" for k in FACILITY_KINDS for s in ("m", "gap", "status", "gaps", "coverage_pct", "target_m", "mode")
    ]
    back = dict(zip(headers(pd.DataFrame(columns=ids), FACILITY_KINDS, "zh").columns, ids))
    assert set(table.columns) <= set(back), set(table.columns) - set(back)
    return table.rename(columns=back)
