"""Doorplate throughput on 10,000 units made from the sample compound by repetition.

    python benchmarks/doorplates.py [--units 10000] [--size small] [--sheet A4]

Prints plates per second for

1. generation + imposition: plate content from the bundle, layout, QR codes,
   imposed sheets PDF with the font subset (bytes in memory, then one file),
2. verification: pdftoppm at 150 dpi + zxing-cpp on every plate of that PDF,
3. one PDF + one SVG per plate (the files ``write_doorplates`` adds),

against a plain loop of segno writing one PNG per unit, and a plain loop of
zxing-cpp (the encoder ridermap uses) writing one PNG per unit, with the ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE_ID = "510104-jhy"


def repeated_bundle(units: int):
    """The sample bundle with its units repeated (new stable ids) up to ``units``."""
    from ridermap.config import load_config
    from ridermap.ids import unit_id
    from ridermap.ingest import bundle_from_config

    config = load_config(ROOT / "data" / "sample" / "ridermap.toml")
    bundle = bundle_from_config(config).community(SAMPLE_ID)
    base = bundle.units
    copies = []
    for k in range(-(-units // len(base))):
        copy = base.copy()
        copy["id"] = [unit_id(b, f"{n}r{k}") for b, n in zip(copy["building_id"], copy["number"])]
        copies.append(copy)
    big = gpd.GeoDataFrame(pd.concat(copies, ignore_index=True), crs=base.crs).iloc[:units]
    return bundle.replace(units=big), config


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f} plates/s  ({count} in {seconds:.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--size", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--sheet", default=None, choices=["A4", "A3", "fit"])
    parser.add_argument("--per-plate-sample", type=int, default=1000, help="plates for the one-file-per-plate line")
    args = parser.parse_args()

    import segno
    import zxingcpp
    from PIL import Image

    from ridermap.publish.doorplates import verify_pdf
    from ridermap.render.doorplate import (
        DEFAULT_SHEET,
        default_font,
        plate_pdf,
        plate_svg,
        plates_for_community,
        sheets_pdf,
    )

    bundle, config = repeated_bundle(args.units)
    sheet = args.sheet or DEFAULT_SHEET[args.size]
    default_font()  # load the font outside the timing, as a long-running build would
    print(f"{len(bundle.units)} units of {SAMPLE_ID} (repeated), {args.size} plates on {sheet}")

    with tempfile.TemporaryDirectory(prefix="ridermap-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        plates = plates_for_community(bundle, SAMPLE_ID, config=config, kinds=("unit",))
        pdf, grid, placements = sheets_pdf(plates, size=args.size, sheet=sheet)
        (tmp / "sheets.pdf").write_bytes(pdf)
        gen = time.perf_counter() - t0
        n = len(plates)
        print(f"generation + imposition : {rate(n, gen)}  -> {placements[-1].page + 1} pages, {len(pdf) / 1e6:.1f} MB")

        t0 = time.perf_counter()
        report = verify_pdf(tmp / "sheets.pdf", plates, placements)
        ver = time.perf_counter() - t0
        status = "all decoded" if report.ok else f"{len(report.failures)} FAILED"
        print(f"verification (150 dpi)  : {rate(n, ver)}  -> {status}")

        m = min(args.per_plate_sample, n)
        chars = "".join(sorted({ch for p in plates for ch in p.all_text()}))
        (tmp / "plates").mkdir()
        t0 = time.perf_counter()
        for plate in plates[:m]:
            (tmp / "plates" / f"{plate.plate_id}.pdf").write_bytes(plate_pdf(plate, size=args.size, font_chars=chars))
            (tmp / "plates" / f"{plate.plate_id}.svg").write_text(plate_svg(plate, size=args.size), encoding="utf-8")
        per = time.perf_counter() - t0
        print(f"one PDF + SVG per plate : {rate(m, per)}")

        (tmp / "segno").mkdir()
        t0 = time.perf_counter()
        for plate in plates:
            segno.make(plate.payload, error="m", micro=False).save(tmp / "segno" / f"{plate.plate_id}.png", scale=6)
        seg = time.perf_counter() - t0
        print(f"segno loop, 1 PNG/unit  : {rate(n, seg)}")

        (tmp / "zxing").mkdir()
        t0 = time.perf_counter()
        for plate in plates:
            code = zxingcpp.create_barcode(plate.payload, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
            Image.fromarray(code.to_image(scale=6)).save(tmp / "zxing" / f"{plate.plate_id}.png")
        zx = time.perf_counter() - t0
        print(f"zxing-cpp loop, 1 PNG   : {rate(n, zx)}")

    print(f"ratio generation+imposition / segno PNG loop     : {seg / gen:5.2f}x")
    print(f"ratio generation+imposition / zxing-cpp PNG loop : {zx / gen:5.2f}x")
    print(f"ratio verification / segno PNG loop              : {seg / ver:5.2f}x")
    if not report.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
