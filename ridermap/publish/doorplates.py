"""Write QR doorplates (imposed sheets, one PDF + SVG per plate, an index) and verify them.

Layout of ``write_doorplates(bundle, cid, OUTDIR)``::

    OUTDIR/<community_id>/
        doorplates-<size>-<sheet>.pdf     imposed print sheets, cut marks, plate ids in the margin
        plates/<plate_id>.pdf / .svg      one file per plate, at trim size
        index.csv                         plate id, kind, address, QR payload, page and place on the sheets
        verification.json / .txt          with ``verify=True``: every plate decoded from the sheets PDF

Verification rasterises the sheets PDF exactly as it will be printed, at
150 dpi, with poppler's ``pdftoppm`` (Debian ``poppler-utils``; greyscale,
anti-aliasing off as in a printer's RIP, which also halves the time), but
only each plate's QR square and 1.5 mm around it (``pdftoppm -x -y -W -H``;
one run per slot of the imposition, since every page puts its plates in the
same places), and decodes it with zxing-cpp. A plate passes when exactly one
QR code (not Micro QR) is found there and its text equals the plate's
payload; a code printed anywhere else fails. On the sample's 41 plates this
takes 0.15 s instead of 0.7 s on A4 sheets (medium on A3: 0.18 s instead of
2.7 s; large, one per page: 0.5 s instead of 5 s). Any
failure raises :class:`~ridermap.errors.VerificationError` naming the plate
ids; the outputs are then not published (they stay as they were) and the
summary is written beside them as ``<community_id>.verification-failed.json``.

Data text is hostile: ``index.csv`` cells that a spreadsheet would run as a
formula get a leading ``'`` (:func:`ridermap.safe_text.csv_row`), and
``verification.txt`` puts data text through
:func:`ridermap.safe_text.text_line`. The summaries hold no timings, so the
same plates give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO

import numpy as np

from ridermap.config import Config
from ridermap.errors import RenderError, VerificationError
from ridermap.model.bundle import Bundle
from ridermap.publish.atomic import atomic_dir, atomic_path, write_text
from ridermap.render.doorplate import (
    DEFAULT_SHEET,
    KINDS,
    PLATE_SIZES,
    Placement,
    Plate,
    PlateLayout,
    layout_pdf,
    layout_plate,
    layout_svg,
    plates_for_community,
    sheets_pdf,
)
from ridermap.safe_text import csv_row, text_line

log = logging.getLogger(__name__)

VERIFY_DPI = 150
#: pages rasterised per pdftoppm call
_CHUNK_PAGES = 16


@dataclass
class VerificationReport:
    """What decoding the printed PDF found.

    Attributes
    ----------
    pdf
        The PDF that was rasterised.
    dpi
        Resolution of the rasterisation.
    results
        One dict per plate: ``plate_id``, ``page`` (1-based), ``ok``,
        ``decoded`` (list of texts found), ``expected`` and ``problem``.
    seconds
        Wall time of rasterising and decoding (for logs and the build
        report; not written into the summaries, which must be
        reproducible).
    """

    pdf: str
    dpi: int
    results: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.results if not r["ok"]]

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.failures

    def as_dict(self) -> dict:
        return {
            "pdf": Path(self.pdf).name,  # beside this summary (the full path may be a temp folder)
            "dpi": self.dpi,
            "rasteriser": _pdftoppm_version(),
            "decoder": f"zxing-cpp {_zxing_version()}",
            "plates": len(self.results),
            "verified": len(self.results) - len(self.failures),
            "failed": len(self.failures),
            "failures": self.failures,
            "results": [{"plate_id": r["plate_id"], "page": r["page"], "ok": r["ok"]} for r in self.results],
        }

    def text(self) -> str:
        head = (
            f"{len(self.results) - len(self.failures)}/{len(self.results)} doorplates decoded correctly "
            f"from {text_line(Path(self.pdf).name)} at {self.dpi} dpi"
        )
        lines = [head]
        for r in self.failures:  # every data text through text_line: no name can forge a line
            lines.append(
                f"FAILED {text_line(r['plate_id'])} (page {r['page']}): {text_line(r['problem'])}; "
                f"expected {text_line(repr(r['expected']))}, decoded {text_line(repr(r['decoded']))}"
            )
        return "\n".join(lines) + "\n"


def _pdftoppm() -> str:
    exe = shutil.which("pdftoppm")
    if not exe:
        raise VerificationError("doorplate verification needs pdftoppm: install Debian/Ubuntu 'poppler-utils'")
    return exe


@lru_cache(maxsize=1)
def _pdftoppm_version() -> str:
    try:
        out = subprocess.run([_pdftoppm(), "-v"], capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "pdftoppm"
    first = (out.stderr or out.stdout).splitlines()
    return first[0].strip() if first else "pdftoppm"


@lru_cache(maxsize=1)
def _zxing_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zxing-cpp")
    except PackageNotFoundError:
        return "?"


def pgm_frames(stream: IO[bytes], *, where: str = "pdftoppm output") -> Iterator[np.ndarray]:
    """Yield each binary 8-bit greyscale PGM (P5) image of ``stream`` as a 2-D uint8 array.

    ``pdftoppm -gray`` without an output root writes one such image per page
    to stdout, back to back.
    """
    while True:
        magic = stream.readline()
        if not magic:
            return
        dims = stream.readline().split()
        maxval = stream.readline().strip()
        if magic.strip() != b"P5" or len(dims) != 2 or maxval != b"255":
            raise VerificationError(f"{where}: not an 8-bit greyscale PGM image (header {magic!r} {dims!r} {maxval!r})")
        width, height = int(dims[0]), int(dims[1])
        data = stream.read(width * height)
        if len(data) != width * height:
            raise VerificationError(f"{where}: image truncated ({len(data)} of {width * height} bytes)")
        yield np.frombuffer(data, dtype=np.uint8).reshape(height, width)


def _decode(image: np.ndarray) -> list[tuple[bool, str, str]]:
    """``(is a full QR code, format name, text)`` of every QR-family code in ``image``."""
    import zxingcpp

    fmt = zxingcpp.BarcodeFormat
    formats = (fmt.QRCode, fmt.MicroQRCode, fmt.RMQRCode)  # a tuple, as zxing-cpp asks (its stubs lag)
    codes = zxingcpp.read_barcodes(image, formats=formats)  # type: ignore[arg-type]
    return [(code.format == fmt.QRCode, str(code.format), code.text) for code in codes]


def _check(image: np.ndarray, plate: Plate, page: int) -> dict:
    """Decode ``image`` (one plate, or its QR square) and compare with the plate's payload."""
    found = _decode(image)
    texts = [text for _, _, text in found]
    problem = ""
    if not found:
        problem = "no QR code found"
    elif len(found) > 1:
        problem = f"{len(found)} codes found on one plate"
    elif not found[0][0]:
        problem = f"printed as {found[0][1]}, not a full QR code"
    elif texts[0] != plate.payload:
        problem = "decoded text differs from the payload"
    return {
        "plate_id": plate.plate_id,
        "page": page + 1,
        "ok": not problem,
        "expected": plate.payload,
        "decoded": texts,
        "problem": problem,
    }


#: white QR square plus this much of the plate around it is rasterised, mm
_QR_MARGIN_MM = 1.5


@dataclass(frozen=True)
class _Job:
    """One pdftoppm run: pages ``first``..``last`` (0-based), the window ``(x, y, w, h)`` in pixels
    it rasterises on each, the plates (index into ``plates``) it decodes, by page, and each plate's
    part of the window ``(x, y, w, h)`` (its QR square: one code per decoded image)."""

    first: int
    last: int
    window: tuple[int, int, int, int]
    plates: dict[int, list[int]]
    crops: dict[int, tuple[int, int, int, int]]


def _window(placement: Placement, layout: PlateLayout | None, dpi: int) -> tuple[int, int, int, int]:
    """Pixel window of the plate's QR square (with a margin), or of the whole plate without a layout."""
    if layout is None:
        x0, y0 = placement.x_mm, placement.y_mm
        x1, y1 = x0 + placement.width_mm, y0 + placement.height_mm
    else:
        x0, y0, x1, y1 = placement.box_on_page(layout.qr_box_mm)
        x0, y0, x1, y1 = x0 - _QR_MARGIN_MM, y0 - _QR_MARGIN_MM, x1 + _QR_MARGIN_MM, y1 + _QR_MARGIN_MM
    px = dpi / 25.4
    left, top = max(0, int(x0 * px)), max(0, int(y0 * px))
    return left, top, int(np.ceil(x1 * px)) - left, int(np.ceil(y1 * px)) - top


def _jobs(placements: Sequence[Placement], layouts: Sequence[PlateLayout] | None, dpi: int) -> list[_Job]:
    """pdftoppm runs: plates whose QR squares share a window on their pages (the same slot of
    the imposition) are rasterised by one run over up to :data:`_CHUNK_PAGES` pages, and the
    windows of one column of slots by one run over a strip holding them all, when the strip is
    at most twice their area (a run's start costs more than the pixels between them)."""
    by_window: dict[tuple[int, int, int, int], dict[int, list[int]]] = {}
    for k, p in enumerate(placements):
        window = _window(p, None if layouts is None else layouts[k], dpi)
        by_window.setdefault(window, {}).setdefault(p.page, []).append(k)
    jobs = []
    for strip, windows in _strips(list(by_window)):
        by_page: dict[int, list[int]] = {}
        crops: dict[int, tuple[int, int, int, int]] = {}
        for x, y, w, h in windows:
            for page, ks in by_window[(x, y, w, h)].items():
                by_page.setdefault(page, []).extend(ks)
                crops.update({k: (x - strip[0], y - strip[1], w, h) for k in ks})
        pages = sorted(by_page)
        for i in range(0, len(pages), _CHUNK_PAGES):
            chunk = pages[i : i + _CHUNK_PAGES]
            plates = {page: by_page[page] for page in chunk}
            jobs.append(_Job(chunk[0], chunk[-1], strip, plates, {k: crops[k] for ks in plates.values() for k in ks}))
    return jobs


def _strips(windows: list[tuple[int, int, int, int]]) -> list[tuple[tuple[int, int, int, int], list]]:
    """Windows of one column (the same x and width, not overlapping) joined top to bottom into strips."""
    columns: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for win in windows:
        columns.setdefault((win[0], win[2]), []).append(win)
    strips = []
    for column in columns.values():
        group: list[tuple[int, int, int, int]] = []
        for win in sorted(column, key=lambda v: v[1]):  # top to bottom: a window joining is the strip's lowest
            if group:
                below = win[1] >= group[-1][1] + group[-1][3]
                if below and win[1] + win[3] - group[0][1] <= 2 * (sum(g[3] for g in group) + win[3]):
                    group.append(win)
                    continue
                strips.append(group)
            group = [win]
        strips.append(group)
    out = []
    for group in strips:
        top = group[0][1]
        bottom = max(g[1] + g[3] for g in group)
        out.append(((group[0][0], top, group[0][2], bottom - top), group))
    return out


def _run_job(exe: str, pdf: Path, job: _Job, plates: Sequence[Plate], dpi: int) -> list[tuple[int, dict]]:
    """Rasterise the job's window on its pages and check each of its plates: ``(plate index, result)``."""
    first, last = job.first + 1, job.last + 1
    x, y, w, h = job.window
    cmd = [
        exe,
        "-r",
        str(dpi),
        "-gray",
        "-aa",
        "no",
        "-aaVector",
        "no",
        "-f",
        str(first),
        "-l",
        str(last),
        "-x",
        str(x),
        "-y",
        str(y),
        "-W",
        str(w),
        "-H",
        str(h),
        str(pdf),
    ]
    results: list[tuple[int, dict]] = []
    seen: set[int] = set()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None  # both piped
        pages = iter(range(job.first, job.last + 1))
        for image in pgm_frames(proc.stdout, where=f"{pdf.name} pages {first}-{last}"):
            page = next(pages, None)
            if page is None:
                raise VerificationError(f"{pdf.name}: pdftoppm returned more pages than asked for")
            seen.add(page)
            for k in job.plates.get(page, ()):
                x0, y0, w, h = job.crops[k]
                results.append((k, _check(image[y0 : y0 + h, x0 : x0 + w], plates[k], page)))
        error = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise VerificationError(f"{pdf.name}: pdftoppm failed on pages {first}-{last}: {error[:300]}")
    missing = [p + 1 for p in job.plates if p not in seen]
    if missing:
        raise VerificationError(f"{pdf.name}: pages {missing[:5]} were not rasterised")
    return results


def verify_pdf(
    pdf: str | Path,
    plates: Sequence[Plate],
    placements: Sequence[Placement],
    *,
    layouts: Sequence[PlateLayout] | None = None,
    dpi: int = VERIFY_DPI,
    workers: int | None = None,
) -> VerificationReport:
    """Rasterise ``pdf`` with pdftoppm and decode every plate's QR code with zxing-cpp.

    Parameters
    ----------
    pdf
        Sheets PDF written from ``plates`` (see :func:`ridermap.render.doorplate.sheets_pdf`).
    plates, placements
        The plates in the PDF and where each was placed.
    layouts
        The plates' layouts (as given to ``sheets_pdf``): only each QR
        square (and 1.5 mm around it) is rasterised, from the real page.
        Without them every plate is rasterised whole.
    dpi
        Rasterisation resolution (150: what the issue asks for).
    workers
        pdftoppm processes running at once (default: the number of CPUs, at most 4).

    Returns
    -------
    VerificationReport
        Never raises on a mismatch: look at ``.ok`` / ``.failures``.
    """
    pdf = Path(pdf)
    exe = _pdftoppm()
    start = time.perf_counter()
    if layouts is not None and len(layouts) != len(plates):
        raise VerificationError(f"{pdf.name}: {len(layouts)} layouts for {len(plates)} plates")
    jobs = _jobs(placements, layouts, dpi)
    found: dict[int, dict] = {}
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for results in pool.map(lambda job: _run_job(exe, pdf, job, plates, dpi), jobs):
            found.update(results)
    report = VerificationReport(str(pdf), dpi, results=[found[k] for k in range(len(plates))])
    report.seconds = time.perf_counter() - start
    log.info("%s (%.1f s)", report.text().splitlines()[0], report.seconds)
    return report


def _index_csv(plates: Sequence[Plate], placements: Sequence[Placement], sheets_name: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "plate_id",
            "kind",
            "community_id",
            "address",
            "headline",
            "payload",
            "plus_code",
            "sheets_pdf",
            "page",
            "x_mm",
            "y_mm",
            "rotated",
        ]
    )
    for plate, p in zip(plates, placements):
        writer.writerow(
            csv_row(
                [
                    plate.plate_id,
                    plate.kind,
                    plate.community_id,
                    plate.address,
                    plate.headline,
                    plate.payload,
                    plate.plus_code.removeprefix("Plus Code "),
                    sheets_name,
                    p.page + 1,
                    round(p.x_mm, 1),
                    round(p.y_mm, 1),
                    int(p.rotated),
                ]
            )
        )
    return buf.getvalue()


def _resolve(size: str | None, sheet: str | None, config: Config) -> tuple[str, str]:
    size = size or config.plate_size or "small"
    if size not in PLATE_SIZES:
        raise RenderError(f"unknown plate size {size!r} (known: {', '.join(PLATE_SIZES)})")
    return size, sheet or DEFAULT_SHEET[size]


def _verify_or_fail(pdf: Path, plates, placements, layouts, *, summary: Path, failed_summary: Path) -> list[Path]:
    report = verify_pdf(pdf, plates, placements, layouts=layouts)
    data = json.dumps(report.as_dict(), ensure_ascii=False, indent=1)
    if not report.ok:
        write_text(failed_summary, data)
        ids = ", ".join(r["plate_id"] for r in report.failures[:10])
        more = f" and {len(report.failures) - 10} more" if len(report.failures) > 10 else ""
        raise VerificationError(
            f"{len(report.failures)} doorplate(s) do not decode to their payload: {ids}{more} (see {failed_summary})"
        )
    summary.write_text(data, encoding="utf-8")
    summary.with_suffix(".txt").write_text(report.text(), encoding="utf-8")
    return [summary, summary.with_suffix(".txt")]


def write_doorplates(
    bundle: Bundle,
    community_id: str,
    outdir: str | Path,
    *,
    config: Config,
    kinds: Iterable[str] = KINDS,
    verify: bool = False,
    size: str | None = None,
    sheet: str | None = None,
    per_plate: bool = True,
) -> list[Path]:
    """Write the doorplates of one compound into ``outdir/<community_id>/``.

    Parameters
    ----------
    bundle
        The model (any bundle holding the compound).
    community_id
        The compound.
    outdir
        Parent folder (``ridermap build`` passes ``OUTDIR/doorplates``).
    config
        ``base_url``, ``language`` and the default ``plate_size``.
    kinds
        Any of ``unit``, ``building``, ``gate``.
    verify
        Rasterise the sheets PDF at 150 dpi and decode every plate; a
        mismatch raises :class:`VerificationError` and nothing is published.
    size
        ``small`` / ``medium`` / ``large``; default ``config.plate_size``.
    sheet
        ``A4`` / ``A3`` / ``fit``; default: the smallest paper that holds the size.
    per_plate
        Also write ``plates/<id>.pdf`` and ``.svg``.

    Returns
    -------
    list of Path
        The files written (empty when the compound has no plates of ``kinds``).
    """
    size, sheet = _resolve(size, sheet, config)
    plates = plates_for_community(bundle, community_id, config=config, kinds=kinds)
    if not plates:
        log.warning("%s: no %s to make doorplates for", community_id, "/".join(kinds))
        return []
    target = Path(outdir) / community_id
    sheets_name = f"doorplates-{size}-{sheet}.pdf"
    layouts = [layout_plate(plate, size=size) for plate in plates]
    pdf, _grid, placements = sheets_pdf(
        plates, size=size, sheet=sheet, layouts=layouts, title=f"{community_id} doorplates ({size}, {sheet})"
    )
    failed_summary = Path(outdir) / f"{community_id}.verification-failed.json"
    names = [sheets_name, "index.csv"]
    with atomic_dir(target) as tmp:
        (tmp / sheets_name).write_bytes(pdf)
        (tmp / "index.csv").write_text(_index_csv(plates, placements, sheets_name), encoding="utf-8")
        if per_plate:
            (tmp / "plates").mkdir()
            chars = "".join(sorted({ch for p in plates for ch in p.all_text()}))
            for layout in layouts:
                stem = layout.plate.plate_id
                (tmp / "plates" / f"{stem}.pdf").write_bytes(layout_pdf(layout, font_chars=chars))
                (tmp / "plates" / f"{stem}.svg").write_text(layout_svg(layout), encoding="utf-8")
                names += [f"plates/{stem}.pdf", f"plates/{stem}.svg"]
        if verify:
            written = _verify_or_fail(
                tmp / sheets_name,
                plates,
                placements,
                layouts,
                summary=tmp / "verification.json",
                failed_summary=failed_summary,
            )
            names += [p.name for p in written]
    if verify and failed_summary.exists():  # an earlier failed run's summary is out of date now
        failed_summary.unlink()
    log.info("%s: %d doorplates (%s, %s) in %s", community_id, len(plates), size, sheet, target)
    return [target / n for n in names]


def write_doorplate_sheets(
    plates: Sequence[Plate],
    target: str | Path,
    *,
    size: str = "small",
    sheet: str | None = None,
    verify: bool = False,
    title: str = "",
) -> list[Path]:
    """Write ``plates`` (of any compounds) into one imposed PDF ``target``.

    With ``verify`` the PDF is decoded before it is put in place and the
    summary is written beside it (``<target stem>.verification.json`` /
    ``.txt``); on a mismatch the PDF is not written and
    :class:`VerificationError` is raised.

    Returns
    -------
    list of Path
        The PDF, then the summaries.
    """
    target = Path(target)
    size, sheet = _resolve(size, sheet, Config())
    layouts = [layout_plate(plate, size=size) for plate in plates]
    pdf, _grid, placements = sheets_pdf(plates, size=size, sheet=sheet, title=title, layouts=layouts)
    summary = target.with_name(f"{target.stem}.verification.json")
    written: list[Path] = []
    with atomic_path(target) as tmp:
        tmp.write_bytes(pdf)
        if verify:
            report = verify_pdf(tmp, plates, placements, layouts=layouts)
            report.pdf = str(target)
            write_text(summary, json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
            if not report.ok:
                ids = ", ".join(r["plate_id"] for r in report.failures[:10])
                raise VerificationError(
                    f"{len(report.failures)} doorplate(s) do not decode to their payload: "
                    f"{ids} (see {summary}); {target} was not written"
                )
            written = [summary, write_text(summary.with_suffix(".txt"), report.text())]
    return [target, *written]
