"""Save posters as PDF, SVG or PNG, atomically; all posters of a compound for ``ridermap build``.

PDFs keep the CJK font embedded as a subset (matplotlib ``pdf.fonttype`` 3,
domain.md §6). With bleed or crop marks the PDF's TrimBox and BleedBox are
set so a print shop's software knows where to cut.
"""
from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

from ridermap.config import Config
from ridermap.errors import ConfigError
from ridermap.model.bundle import Bundle
from ridermap.publish.atomic import atomic_path
from ridermap.render.poster import Poster, render_poster

log = logging.getLogger(__name__)

FORMATS = ("pdf", "svg", "png")
_MM_TO_PT = 72.0 / 25.4


def poster_format(path: str | Path) -> str:
    """``"pdf"``, ``"svg"`` or ``"png"`` from a file name; :class:`ConfigError` otherwise."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"{path}: poster must be .pdf, .svg or .png, got {Path(path).suffix or 'no extension'!r}")
    return fmt


def save_poster(poster: Poster, path: str | Path, *, dpi: int = 300) -> Path:
    """Write ``poster`` to ``path`` (format from the extension) through a temporary file.

    Parameters
    ----------
    poster
        From :func:`ridermap.render.poster.render_poster`.
    path
        ``.pdf`` (vector, font embedded), ``.svg`` (vector, text as outlines) or ``.png``.
    dpi
        Resolution of a PNG (ignored for PDF and SVG).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    fmt = poster_format(path)
    _check_dpi(fmt, dpi)
    rc = {"pdf.fonttype": 3, "svg.fonttype": "path", "svg.hashsalt": "ridermap", "pdf.compression": 6}
    metadata = {
        "pdf": {"Title": poster.title, "Creator": "ridermap", "CreationDate": None, "ModDate": None},
        "svg": {"Title": poster.title, "Creator": "ridermap", "Date": None},
        "png": {"Title": poster.title, "Software": "ridermap"},
    }[fmt]
    with atomic_path(path) as tmp, matplotlib.rc_context(rc):
        poster.figure.savefig(tmp, format=fmt, dpi=dpi if fmt == "png" else 72, metadata=metadata,
                              facecolor=poster.figure.get_facecolor())
        if fmt == "pdf" and poster.trim_box != (0.0, 0.0, *poster.page_mm):
            _set_print_boxes(tmp, poster)
    log.info("wrote %s", path)
    return path


def _check_dpi(fmt: str, dpi: int) -> None:
    if fmt == "png" and not 50 <= dpi <= 1200:
        raise ConfigError(f"PNG resolution must be 50 to 1200 dpi, got {dpi}")


def _set_print_boxes(pdf: Path, poster: Poster) -> None:
    """Set TrimBox and BleedBox (PDF points) on the single page of ``pdf``, in place."""
    from pypdf import PdfWriter
    from pypdf.generic import RectangleObject

    writer = PdfWriter(clone_from=str(pdf))
    page = writer.pages[0]
    page.trimbox = RectangleObject([round(v * _MM_TO_PT, 3) for v in poster.trim_box])
    page.bleedbox = RectangleObject([round(v * _MM_TO_PT, 3) for v in poster.bleed_box])
    with open(pdf, "wb") as fh:
        writer.write(fh)


def write_poster(bundle: Bundle, community_id: str, path: str | Path, *, gate: str | None = None,
                 config: Config | None = None, paper: str | None = None, landscape: bool = False,
                 bleed_mm: float = 0.0, crop_marks: bool = False, dpi: int = 300) -> Path:
    """Render one poster (a gate's, or the overview when ``gate`` is ``None``) and save it.

    ``paper`` defaults to the config's (``[build] paper``, A2).
    """
    config = config or Config()
    fmt = poster_format(path)  # fail on a bad extension or resolution before rendering
    _check_dpi(fmt, dpi)
    poster = render_poster(bundle, community_id, gate=gate, config=config, paper=paper or config.paper,
                           landscape=landscape, bleed_mm=bleed_mm, crop_marks=crop_marks)
    try:
        return save_poster(poster, path, dpi=dpi)
    finally:
        poster.figure.clear()
        log.debug("saved %s poster %s", fmt, path)


def write_posters(bundle: Bundle, community_id: str, outdir: str | Path, *, config: Config,
                  formats: tuple[str, ...] = ("pdf",), paper: str | None = None, landscape: bool = False,
                  bleed_mm: float = 0.0, crop_marks: bool = False, dpi: int = 300) -> list[Path]:
    """All posters of one compound: one per gate plus an overview.

    Files are ``<outdir>/<community_id>/<gate_id>.<fmt>`` and
    ``<outdir>/<community_id>/<community_id>-overview.<fmt>``.

    Returns
    -------
    list of Path
        The files written, overview first.
    """
    for fmt in formats:
        if fmt not in FORMATS:
            raise ConfigError(f"poster format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        _check_dpi(fmt, dpi)
    view = bundle.community(community_id)
    folder = Path(outdir) / community_id
    jobs: list[tuple[str | None, str]] = [(None, f"{community_id}-overview")]
    jobs += [(str(g), str(g)) for g in view.gates["id"]]
    written: list[Path] = []
    for gate, stem in jobs:
        poster = render_poster(view, community_id, gate=gate, config=config, paper=paper or config.paper,
                               landscape=landscape, bleed_mm=bleed_mm, crop_marks=crop_marks)
        try:
            for fmt in formats:
                written.append(save_poster(poster, folder / f"{stem}.{fmt}", dpi=dpi))
        finally:
            poster.figure.clear()
    return written
