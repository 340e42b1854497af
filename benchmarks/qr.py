"""QR encoders on the project's real URLs: segno against zxing-cpp's writer, same levels.

    python benchmarks/qr.py [--repeat 20]

The URLs are the ones a build of ``data/sample`` prints: every doorplate
payload (units, buildings, gates) and every poster URL (the compound and each
gate). Each encoder makes each URL at error-correction level M, boosted to
Q / H when that keeps the version (what domain.md §6 asks of plates), never
Micro QR:

- segno: ``segno.make(url, error="m", micro=False, boost_error=True)``;
- zxing-cpp: ``create_barcode(..., ec_level="M")``, then Q, then H pinned to
  that version (the boost ridermap does in :mod:`ridermap.render.qr`).

Every symbol of both is decoded back with zxing-cpp's reader. Prints
``name: value`` lines (times are the best of three rounds); segno is only
needed for this benchmark (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "data" / "sample" / "ridermap.toml"
LEVELS = "LMQH"


def sample_urls() -> list[str]:
    """Doorplate payloads and poster URLs of the sample build, in build order."""
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config
    from ridermap.render.doorplate import plates_for_community
    from ridermap.urls import absolute, community_path, gate_path

    config = load_config(SAMPLE)
    bundle = bundle_from_config(config)
    urls = []
    for cid in bundle.communities["id"]:
        urls += [p.payload for p in plates_for_community(bundle, cid, config=config)]
        urls.append(absolute(config.base_url, community_path(cid)))
        gates = bundle.gates[bundle.gates["community_id"] == cid]["id"]
        urls += [absolute(config.base_url, gate_path(cid, gid)) for gid in gates]
    return urls


def segno_encode(url: str) -> tuple[np.ndarray, int, str]:
    import segno

    qr = segno.make(url, error="m", micro=False, boost_error=True)
    return np.array(qr.matrix, dtype=bool), int(qr.version), qr.error.upper()


def zxing_encode(url: str) -> tuple[np.ndarray, int, str]:
    import zxingcpp

    def enc(level: str, version: int = 0) -> np.ndarray:
        kw = {"version": version} if version else {}
        code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level=level, **kw)
        return np.asarray(code.to_image(scale=1, add_quiet_zones=False)) < 128

    modules, level = enc("M"), "M"
    version = (modules.shape[0] - 17) // 4
    for higher in ("Q", "H"):  # when Q needs a bigger version, so does H
        try:
            modules, level = enc(higher, version), higher
        except ValueError:
            break
    return modules, version, level


def best_ms(encode, urls: list[str], repeat: int) -> float:
    """Best of three rounds, milliseconds per code."""
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            for url in urls:
                encode(url)
        rounds.append(time.perf_counter() - start)
    return min(rounds) * 1000 / (repeat * len(urls))


def decodes(modules: np.ndarray, url: str) -> tuple[bool, str]:
    """Read the bare matrix back (4-module quiet zone, 6 px a module): (is the URL, level read)."""
    import zxingcpp

    image = np.pad(np.where(modules, 0, 255).astype(np.uint8), 4, constant_values=255).repeat(6, 0).repeat(6, 1)
    codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    ok = len(codes) == 1 and codes[0].text == url
    return ok, codes[0].ec_level if codes else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="rounds over the URL list per timing")
    args = parser.parse_args()
    urls = sample_urls()
    print(f"urls: {len(urls)}")
    print(f"url_chars_min_max: {min(map(len, urls))}-{max(map(len, urls))}")
    encoders = {"segno": segno_encode, "zxingcpp": zxing_encode}
    try:
        import segno  # noqa: F401 - only this benchmark needs it: pip install -e .[bench]
    except ImportError:
        print("segno_ms_per_code: segno not installed (pip install -e .[bench])")
        del encoders["segno"]
    results = {name: [encode(u) for u in urls] for name, encode in encoders.items()}
    for name, encode in encoders.items():
        got = results[name]
        ok = [decodes(m, u) for (m, _, _), u in zip(got, urls)]
        print(f"{name}_ms_per_code: {best_ms(encode, urls, args.repeat):.3f}")
        print(f"{name}_versions: {sorted({v for _, v, _ in got})}")
        print(f"{name}_modules_per_side: {sorted({m.shape[0] for m, _, _ in got})}")
        print(f"{name}_levels: {''.join(sorted({e for _, _, e in got}, key=LEVELS.index))}")
        print(f"{name}_decoded_ok: {sum(o for o, _ in ok)}/{len(urls)}")
        print(f"{name}_level_read_back_matches: {sum(lv == e for (_, lv), (_, _, e) in zip(ok, got))}/{len(urls)}")
    if "segno" not in results:
        return _ours(urls, args.repeat)
    same_version = sum(a[1] == b[1] for a, b in zip(results["segno"], results["zxingcpp"]))
    same_level = sum(a[2] == b[2] for a, b in zip(results["segno"], results["zxingcpp"]))
    print(f"same_version: {same_version}/{len(urls)}")
    print(f"same_level: {same_level}/{len(urls)}")
    _ours(urls, args.repeat)


def _ours(urls: list[str], repeat: int) -> None:
    from ridermap.render import qr

    uncached = qr._symbol.__wrapped__  # what ridermap.render.qr runs on a cache miss
    print(f"ridermap_qr_ms_per_code_uncached: {best_ms(lambda u: uncached(u, 'M', True), urls, repeat):.3f}")


if __name__ == "__main__":
    main()
