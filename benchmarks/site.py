"""Rider-site build time, page count and sizes for the sample and for BUPT.

    python benchmarks/site.py

For each data set: ingest (not timed), then routes alone and the whole
``write_site`` (routes + rendering + writing) are timed. Prints pages, the
largest and median unit page, the shared assets and the whole site.
Targets: unit page < 30 KB plus shared assets; sample site < 2 MB.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "osm"


def _kb(n: float) -> str:
    return f"{n / 1024:.1f}"


def measure(name: str, bundle, config) -> None:
    from ridermap.analysis.routing import plan_routes
    from ridermap.publish.site import write_site

    t0 = time.perf_counter()
    routed = total = 0
    for cid in bundle.community_ids():
        plan = plan_routes(bundle.community(cid))
        routed += sum(r is not None for r in plan.routes.values())
        total += len(plan.routes)
    t_routes = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        t0 = time.perf_counter()
        files = write_site(bundle, out, config=config)
        t_site = time.perf_counter() - t0
        pages = [f for f in files if f.suffix == ".html"]
        units = [f.stat().st_size for f in files if f.parent.name == "u"]
        assets = sum(f.stat().st_size for f in files if "assets" in f.parts)
        data = sum(f.stat().st_size for f in files if f.parent.name == "d")
        site = sum(f.stat().st_size for f in files)
    print(
        f"{name:10} {len(bundle.communities):>6} {total:>6} {routed:>7} {t_routes:>9.2f} {t_site:>7.2f} "
        f"{len(pages):>6} "
        f"{_kb(max(units) if units else 0):>10} {_kb(statistics.median(units) if units else 0):>10} "
        f"{_kb(data):>8} {_kb(assets):>9} {_kb(site):>9}"
    )


def main() -> None:
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config, bundle_from_sources

    config = load_config(ROOT / "data" / "sample" / "ridermap.toml")
    print(
        f"{'data':10} {'compds':>6} {'units':>6} {'routed':>7} {'routes_s':>9} {'site_s':>7} {'pages':>6} "
        f"{'unit_max_kb':>10} {'unit_med_kb':>10} {'data_kb':>8} {'assets_kb':>9} {'site_kb':>9}"
    )
    measure("sample", bundle_from_config(config), config)
    bupt = SHARED / "beijing_bupt.osm"
    if bupt.is_file():
        measure("bupt", bundle_from_sources([bupt], admin_code="110108"), config)
    else:
        print(f"bupt: {bupt} is absent, skipped")


if __name__ == "__main__":
    main()
