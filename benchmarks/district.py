"""District build benchmark: N copies of the sample compound on one street grid.

    python benchmarks/district.py --n 10 --n 100 [--n 1000] [--workers 2]
    python benchmarks/district.py --n 400 --keep /tmp/district-400   # keep it, reuse it next time

The sample compound (data/sample, read once with its survey) is tiled into a
square grid of N compounds, each re-keyed (``510104-jhy0007``…) and shifted
east/north with public streets between the tiles. The district is written as
a ridermap GeoPackage with a config beside it, then built three times with the
real CLI in a fresh process (``ridermap build CONFIG -o OUT``):

1. the first build (all outputs),
2. a rebuild with nothing changed,
3. a rebuild after one compound changed (a building label edited).

For each N it prints ``name: value`` lines:

    compounds: 100
    seconds: ...                 first build, wall clock, whole process
    seconds_per_compound: ...
    peak_mb: ...                 largest single process (the CLI or a worker)
    rebuild_nochange_s: ...
    rebuild_one_changed_s: ...
    files: ...

``--keep DIR`` keeps the district and its build in DIR (one N only). A
later run with the same DIR skips what DIR already holds: the GeoPackage
(``district.gpkg`` + ``ridermap.toml``) is not generated again and, when
``out/`` is there, the first build is skipped too (``seconds`` then prints
``skipped``): the two rebuilds run against the kept build, so rebuilds at
large N can be profiled without a long first build each time. The kept
district keeps every change made by earlier runs (each run edits the same
building label again). A kept build made by another ridermap (another code
fingerprint) is rebuilt whole by the first rebuild.

Figures are one run each (a district build is long); use several N to see
how the time grows. Targets (issue 10, 2 cores): 1,000 compounds <= 600 s,
peak <= 2 GB, no-change rebuild of 1,000 <= 30 s.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE_CONFIG = ROOT / "data" / "sample" / "ridermap.toml"
SAMPLE_ID = "510104-jhy"
GAP_M = 120.0  # street block between two tiles


def _shift_ids(values, old: str, new: str) -> list[str]:
    return [new + v[len(old) :] if v == old or v.startswith(old + "-") else v for v in values]


def _tile(bundle, n: int):
    """Return a Bundle of ``n`` shifted, re-keyed copies of ``bundle`` plus a street grid."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    from shapely import affinity

    from ridermap.model.bundle import Bundle, concat_bundles

    comm = bundle.communities
    minx, miny, maxx, maxy = comm.total_bounds
    lat0 = (miny + maxy) / 2
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = m_per_deg_lat * math.cos(math.radians(lat0))
    step_x = (maxx - minx) + GAP_M / m_per_deg_lon
    step_y = (maxy - miny) + GAP_M / m_per_deg_lat
    cols = math.ceil(math.sqrt(n))
    tiles = []
    for i in range(n):
        dx, dy = (i % cols) * step_x, (i // cols) * step_y
        new = f"{SAMPLE_ID}{i:04d}"
        layers = {}
        for name, gdf in bundle.layers().items():
            g = gdf.copy()
            g["geometry"] = [affinity.translate(geom, dx, dy) if geom is not None else None for geom in g.geometry]
            for col in ("id", "community_id", "building_id"):
                if col in g:
                    g[col] = _shift_ids(g[col], SAMPLE_ID, new)
            if name in ("facilities", "paths"):
                g["id"] = [f"{v}-t{i:04d}" for v in g["id"]]
            layers[name] = g
        tiles.append(Bundle.from_layers(layers))
    district = concat_bundles(tiles)
    rows = math.ceil(n / cols)
    streets = []
    half_x, half_y = GAP_M / 2 / m_per_deg_lon, GAP_M / 2 / m_per_deg_lat
    x_lo, x_hi = minx - half_x, minx + cols * step_x - half_x
    y_lo, y_hi = miny - half_y, miny + rows * step_y - half_y
    for c in range(cols + 1):
        x = minx - half_x + c * step_x
        streets.append(shapely.LineString([(x, y_lo), (x, y_hi)]))
    for r in range(rows + 1):
        y = miny - half_y + r * step_y
        streets.append(shapely.LineString([(x_lo, y), (x_hi, y)]))
    grid = gpd.GeoDataFrame(
        {
            "id": [f"p-grid{k}" for k in range(len(streets))],
            "community_id": "",
            "kind": "residential",
            "access": "",
            "rideable": True,
            "source": "benchmark:grid",
        },
        geometry=streets,
        crs="EPSG:4326",
    )
    paths = gpd.GeoDataFrame(pd.concat([district.paths, grid], ignore_index=True), crs="EPSG:4326")
    return district.replace(paths=paths)


def _write_district(n: int, folder: Path) -> Path:
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config
    from ridermap.publish.gpkg import write_gpkg

    bundle = bundle_from_config(load_config(SAMPLE_CONFIG))
    sample = bundle.community(SAMPLE_ID)
    write_gpkg(_tile(sample, n), folder / "district.gpkg")
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    head = text.split("[[sources]]", 1)[0]
    tail = text.split("[build]", 1)[1]
    config = folder / "ridermap.toml"
    config.write_text(f'{head}[[sources]]\npath = "district.gpkg"\n\n[build]{tail}', encoding="utf-8")
    return config


def _run(config: Path, out: Path, workers: int) -> tuple[float, float]:
    """Wall seconds and peak MB (largest child) of one ``ridermap build``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "-q", "build", str(config), "-o", str(out), "--workers", str(workers)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"district benchmark: build failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return seconds, peak / 1024.0


def _change_one(folder: Path) -> None:
    """Edit one compound in the district GeoPackage (a building label)."""
    import pyogrio

    path = folder / "district.gpkg"
    layers = {name: pyogrio.read_dataframe(path, layer=name) for name, _ in pyogrio.list_layers(path)}
    b = layers["buildings"]
    first = b.index[b["community_id"] == f"{SAMPLE_ID}0000"][0]
    b.loc[first, "label"] = b.loc[first, "label"] + "（改）"
    tmp = folder / "district.tmp.gpkg"
    for name, gdf in layers.items():
        pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG")
    os.replace(tmp, path)


def _district(n: int, folder: Path) -> Path:
    """The district's config in ``folder``: the kept one if ``folder`` holds it, else a new one."""
    config, stamp = folder / "ridermap.toml", folder / "compounds.txt"
    if config.is_file() and (folder / "district.gpkg").is_file() and stamp.is_file():
        kept = int(stamp.read_text().strip())
        if kept != n:
            sys.exit(f"district benchmark: {folder} holds a district of {kept} compounds, not {n}")
        return config
    config = _write_district(n, folder)
    stamp.write_text(f"{n}\n")
    return config


def _bench_in(n: int, folder: Path, workers: int) -> None:
    config = _district(n, folder)
    out = folder / "out"
    first: tuple[float, float] | None = None
    if not out.exists():
        first = _run(config, out, workers)
    files = sum(1 for f in out.rglob("*") if f.is_file())
    again, peak_again = _run(config, out, workers)
    _change_one(folder)
    changed, peak_changed = _run(config, out, workers)
    print(f"compounds: {n}")
    if first is not None:
        seconds, peak = first
        print(f"seconds: {seconds:.1f}")
        print(f"seconds_per_compound: {seconds / n:.3f}")
    else:
        peak = max(peak_again, peak_changed)
        print("seconds: skipped")
        print("seconds_per_compound: skipped")
    print(f"peak_mb: {peak:.0f}")
    print(f"rebuild_nochange_s: {again:.1f}")
    print(f"rebuild_one_changed_s: {changed:.1f}")
    print(f"files: {files}")
    sys.stdout.flush()


def bench(n: int, workers: int, *, keep: Path | None = None) -> None:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        _bench_in(n, keep, workers)
        return
    with tempfile.TemporaryDirectory(prefix=f"ridermap-district-{n}-") as tmp:
        _bench_in(n, Path(tmp), workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="compounds (repeatable; default 10 and 100)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the district and its build in DIR; reuse them if DIR has them (one --n only)",
    )
    args = parser.parse_args()
    ns = args.n or [10, 100]
    if args.keep is not None and len(ns) != 1:
        parser.error("--keep takes one --n")
    for n in ns:
        bench(n, args.workers, keep=args.keep)


if __name__ == "__main__":
    main()
