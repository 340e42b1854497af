"""Time survey packs (workbook + A3 survey map) for every compound of the xueyuanlu extract.

    python benchmarks/survey.py [--workers N]

Reads ``../shared/data/osm/beijing_xueyuanlu.osm`` (10 compounds) once, warms up
imports and fonts on one pack, then writes every compound's pack (survey.xlsx
and survey-map.pdf) into a temporary folder, in ``--workers`` processes
(default 2, one per core of the target machine). Prints::

    compounds: 10
    seconds: <wall seconds for all packs>
    seconds_per_pack: <wall seconds / compounds>

plus ``cpu_seconds_per_pack`` (CPU time inside the workers: what the packs
cost on a machine shared with other work) and one line per compound. Target:
at most 1.5 s per compound on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
XUEYUANLU = ROOT.parent / "shared" / "data" / "osm" / "beijing_xueyuanlu.osm"

_BUNDLE = None


def _init(bundle, warm_cid: str = "") -> None:
    """Worker set-up: the bundle, then one pack thrown away (imports, font caches)."""
    global _BUNDLE
    _BUNDLE = bundle
    if warm_cid:
        with tempfile.TemporaryDirectory() as tmp:
            _pack((warm_cid, tmp))


def _pack(args: tuple[str, str]) -> tuple[str, float, float, int]:
    from ridermap.publish.survey_pack import write_survey_pack

    cid, out = args
    t0, c0 = time.perf_counter(), time.process_time()
    files = write_survey_pack(_BUNDLE, cid, out)
    return cid, time.perf_counter() - t0, time.process_time() - c0, len(files.keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    opts = parser.parse_args()
    if not XUEYUANLU.is_file():
        sys.exit(f"{XUEYUANLU} is absent (../shared/data/osm/ not checked out)")
    from ridermap.ingest import bundle_from_sources

    bundle = bundle_from_sources([XUEYUANLU], admin_code="110108")
    cids = bundle.community_ids()
    warm = min(cids, key=lambda c: len(bundle.buildings[bundle.buildings["community_id"] == c]))
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(cid, str(Path(tmp) / "out")) for cid in cids]
        if opts.workers > 1:
            with ProcessPoolExecutor(opts.workers, initializer=_init, initargs=(bundle, warm)) as pool:
                list(pool.map(time.sleep, [0.2] * opts.workers))  # every worker started and warmed
                t0 = time.perf_counter()
                results = list(pool.map(_pack, jobs))
                wall = time.perf_counter() - t0
        else:
            _init(bundle, warm)
            t0 = time.perf_counter()
            results = [_pack(job) for job in jobs]
            wall = time.perf_counter() - t0
    for cid, seconds, cpu, keys in results:
        print(f"  {cid:22} {seconds:6.2f} s wall {cpu:6.2f} s cpu  {keys:3d} keys")
    print(f"compounds: {len(cids)}")
    print(f"seconds: {wall:.2f}")
    print(f"seconds_per_pack: {wall / len(cids):.2f}")
    print(f"cpu_seconds_per_pack: {sum(r[2] for r in results) / len(cids):.2f}")


if __name__ == "__main__":
    main()
