"""Ingest time and peak memory for each shared OSM extract and a PBF of one.

    python benchmarks/ingest.py

Each file is read in a fresh process (imports warmed up first), so the
peak RSS is that file's own. Target: beijing_xueyuanlu.osm under 3 s.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "osm"


def _run(path: str, queue) -> None:
    from ridermap.crs import in_mainland_china
    from ridermap.ingest import bundle_from_sources

    in_mainland_china([104.0], [30.6])  # load the geocoder outside the timing
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    bundle = bundle_from_sources([path], admin_code="000000")
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts = {k: len(v) for k, v in bundle.layers().items()}
    queue.put((elapsed, peak / 1024, (peak - base) / 1024, counts))


def measure(path: Path) -> tuple[float, float, float, dict]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(str(path), queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    import osmium

    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: nothing to measure")
    files = sorted(SHARED.glob("*.osm"))
    with tempfile.TemporaryDirectory() as tmp:
        pbf = Path(tmp) / "beijing_xueyuanlu.osm.pbf"
        with osmium.SimpleWriter(str(pbf)) as writer:
            for obj in osmium.FileProcessor(str(SHARED / "beijing_xueyuanlu.osm")):
                writer.add(obj)
        print(f"{'file':32} {'MB':>6} {'ingest_s':>9} {'peak_rss_mb':>12} {'delta_mb':>9}  layers")
        for path in files + [pbf]:
            elapsed, peak, delta, counts = measure(path)
            size = path.stat().st_size / 1e6
            layers = " ".join(f"{k}={v}" for k, v in counts.items())
            print(f"{path.name:32} {size:6.2f} {elapsed:9.2f} {peak:12.0f} {delta:9.0f}  {layers}")


if __name__ == "__main__":
    main()
