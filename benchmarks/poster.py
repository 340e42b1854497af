"""Time and peak memory per A2 PDF poster, for the sample compound and for BUPT.

    python benchmarks/poster.py

Every poster of a compound (overview + one per gate) is rendered and saved as
an A2 PDF. Times come from a plain run (fonts and imports warmed up first);
peak memory is the tracemalloc peak of a second, traced run of the same
poster (Python and NumPy allocations), plus the process's peak RSS.
Target: under 2 s per poster.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BUPT = ROOT.parent / "shared" / "data" / "osm" / "beijing_bupt.osm"


def _one(bundle, cid: str, gate: str | None, out: Path, config) -> tuple[float, float, float]:
    from ridermap.publish.posters import save_poster
    from ridermap.render.poster import render_poster

    t0 = time.perf_counter()
    poster = render_poster(bundle, cid, gate=gate, config=config, paper="A2")
    t1 = time.perf_counter()
    save_poster(poster, out)
    t2 = time.perf_counter()
    poster.figure.clear()
    tracemalloc.start()
    poster = render_poster(bundle, cid, gate=gate, config=config, paper="A2")
    save_poster(poster, out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    poster.figure.clear()
    return t1 - t0, t2 - t1, peak / 2**20


def main() -> None:
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config, bundle_from_sources
    from ridermap.render.fonts import font_family

    font_family()
    config = load_config(ROOT / "data" / "sample" / "ridermap.toml")
    cases = [("sample", bundle_from_config(config), "510104-jhy")]
    if BUPT.is_file():
        cases.append(("bupt", bundle_from_sources([BUPT], admin_code="110108"), "110108-w1376112785"))
    else:
        print(f"{BUPT} is absent: BUPT skipped")
    print(f"{'compound':8} {'poster':34} {'render_s':>8} {'save_s':>7} {'total_s':>8} {'py_peak_mb':>10} {'kb':>6}")
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        warm = cases[0]
        _one(warm[1], warm[2], None, Path(tmp) / "warm.pdf", config)  # imports, font caches
        for name, bundle, cid in cases:
            gates = [None, *bundle.community(cid).gates["id"]]
            for gate in gates:
                out = Path(tmp) / f"{gate or cid}.pdf"
                render_s, save_s, peak = _one(bundle, cid, gate, out, config)
                totals.append(render_s + save_s)
                label = gate or f"{cid} (overview)"
                print(
                    f"{name:8} {label:34} {render_s:8.2f} {save_s:7.2f} {render_s + save_s:8.2f} {peak:10.1f}"
                    f" {out.stat().st_size / 1024:6.0f}"
                )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(totals)} posters: mean {sum(totals) / len(totals):.2f} s, max {max(totals):.2f} s "
        f"(target < 2 s); process peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
