"""Signage plan benchmark: seconds per compound of :func:`ridermap.analysis.signs.sign_plan`.

    python benchmarks/signs.py [--repeat 5]

Reads the sample (data/sample) once, then plans its signs ``--repeat`` times
(the compound's view and network built each time, as ``build`` does per
compound) and prints ``name: value`` lines. Target (issue 13): <= 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from ridermap.analysis.signs import follow_signs, sign_plan
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config

    bundle = bundle_from_config(load_config(ROOT / "data" / "sample" / "ridermap.toml"))
    cid = bundle.community_ids()[0]
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        plan = sign_plan(bundle.community(cid), cid)
        times.append(time.perf_counter() - t0)
    ok = sum(follow_signs(plan, r) == r.edges for r in plan.routes)
    print(f"compound: {cid}")
    print(f"seconds_per_compound: {statistics.median(times):.3f}")
    print(f"routes: {len(plan.routes)}")
    print(f"routes_followed: {ok}")
    print(f"junction_signs: {len(plan.junctions)}")
    print(f"sign_faces: {sum(len(s.faces) for s in plan.junctions)}")
    print(f"building_numbers: {len(plan.buildings)}")


if __name__ == "__main__":
    main()
