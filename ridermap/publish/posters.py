"""Save posters as PDF, SVG or PNG, atomically; all posters of a compound for ``ridermap build``.

PDFs keep the CJK font embedded as a subset (matplotlib ``pdf.fonttype`` 3,
domain.md §6). With bleed or crop marks the PDF's TrimBox and BleedBox are
set so a print shop's software knows where to cut.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from ridermap.config import Config
from ridermap.errors import ConfigError, RenderError
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
    if fmt == "pdf":
        data = _direct_pdf(poster)
        if data is not None:
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
            log.info("wrote %s", path)
            return path
    rc = {"pdf.fonttype": 3, "svg.fonttype": "path", "svg.hashsalt": "ridermap", "pdf.compression": 6}
    metadata = {
        "pdf": {"Title": poster.title, "Creator": "ridermap", "CreationDate": None, "ModDate": None},
        "svg": {"Title": poster.title, "Creator": "ridermap", "Date": None},
        "png": {"Title": poster.title, "Software": "ridermap"},
    }[fmt]
    with atomic_path(path) as tmp, matplotlib.rc_context(rc):  # type: ignore[arg-type]
        poster.figure.savefig(
            tmp, format=fmt, dpi=dpi if fmt == "png" else 72, metadata=metadata, facecolor=poster.figure.get_facecolor()
        )
        if fmt == "pdf" and poster.trim_box != (0.0, 0.0, *poster.page_mm):
            _set_print_boxes(tmp, poster)
    log.info("wrote %s", path)
    return path


def _direct_pdf(poster: Poster) -> bytes | None:
    """The poster's PDF by :mod:`ridermap.render.pdf_figure`; ``None`` if it holds what only matplotlib draws."""
    from ridermap.render.pdf_figure import Unsupported, figure_pdf
    from ridermap.render.poster_page import measuring_renderer

    boxed = poster.trim_box != (0.0, 0.0, *poster.page_mm)
    try:
        return figure_pdf(
            poster.figure,
            measure_renderer=measuring_renderer(),
            title=poster.title,
            trim_box=poster.trim_box if boxed else None,
            bleed_box=poster.bleed_box if boxed else None,
        )
    except Unsupported as exc:
        log.debug("poster %s: drawn by matplotlib's PDF backend (%s)", poster.title, exc)
        return None


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


def write_poster(
    bundle: Bundle,
    community_id: str,
    path: str | Path,
    *,
    gate: str | None = None,
    config: Config | None = None,
    paper: str | None = None,
    landscape: bool = False,
    bleed_mm: float = 0.0,
    crop_marks: bool = False,
    dpi: int = 300,
    signs=None,
) -> Path:
    """Render one poster (a gate's, or the overview when ``gate`` is ``None``) and save it.

    ``paper`` defaults to the config's (``[build] paper``, A2); ``"auto"``
    takes the smallest paper the labels fit on. ``signs``: a sign plan whose
    junction posts are drawn (the optional sign layer).
    """
    config = config or Config()
    fmt = poster_format(path)  # fail on a bad extension or resolution before rendering
    _check_dpi(fmt, dpi)
    size = paper or config.paper
    if size.upper() == "AUTO":
        poster, _ = render_fitting_poster(
            bundle.community(community_id),
            community_id,
            gate=gate,
            config=config,
            paper=size,
            bleed_mm=bleed_mm,
            crop_marks=crop_marks,
            signs=signs,
        )
    else:
        poster = render_poster(
            bundle,
            community_id,
            gate=gate,
            config=config,
            paper=size,
            landscape=landscape,
            bleed_mm=bleed_mm,
            crop_marks=crop_marks,
            signs=signs,
        )
    try:
        return save_poster(poster, path, dpi=dpi)
    finally:
        _release(poster)
        log.debug("saved %s poster %s", fmt, path)


PAPERS = ("A4", "A3", "A2", "A1", "A0")


@dataclass
class PosterResult:
    """What :func:`write_compound_posters` did for one compound.

    ``files`` were written; ``warnings`` name posters that needed another
    paper than asked, labels that became numbered callouts, gates far from
    their compound and names with characters the font cannot draw;
    ``failures`` are ``(poster, cause)`` pairs of posters that could not be
    drawn at all (not even as the last resort of :func:`render_fitting_poster`).
    """

    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)


def paper_attempts(paper: str, *, landscape: bool = False) -> list[tuple[str, bool]]:
    """Papers to try in order: the one asked, its other orientation, then each larger paper up to A0.

    ``paper="auto"`` starts at A4 portrait (the smallest that fits wins).

    >>> paper_attempts("A1")
    [('A1', False), ('A1', True), ('A0', False), ('A0', True)]
    >>> paper_attempts("a0", landscape=True)
    [('A0', True), ('A0', False)]
    """
    paper = paper.upper()
    if paper == "AUTO":
        paper, landscape = "A4", False
    if paper not in PAPERS:
        raise ConfigError(f"paper must be one of {', '.join(PAPERS)} or auto, got {paper!r}")
    return [(p, o) for p in PAPERS[PAPERS.index(paper) :] for o in (landscape, not landscape)]


def _is_fit_error(exc: BaseException) -> bool:
    """Whether ``exc`` says labels (or the map) do not fit the paper."""
    from ridermap.render.poster_labels import LabelFitError

    return isinstance(exc, LabelFitError) or isinstance(exc.__cause__, LabelFitError)


def render_fitting_poster(
    view: Bundle, community_id: str, *, gate: str | None, config: Config, paper: str, landscape: bool = False, **kwargs
) -> tuple[Poster, str | None]:
    """Render a poster on the paper asked, or on the first of :func:`paper_attempts` it fits.

    On each paper the labels go through their own fallbacks first (smaller,
    leader line, numbered callout: see :func:`~ridermap.render.poster.render_poster`);
    only when even callouts do not fit is the next paper tried. When nothing
    fits, not even A0 landscape, the poster is drawn on the paper asked as
    a last resort on the largest paper: labels with no room at all are only
    listed beside the map.

    Returns
    -------
    (Poster, str or None)
        The poster and a warning when it needed another paper than asked,
        or the last resort (``None`` when it fit as asked, or with ``paper="auto"``).

    Raises
    ------
    RenderError
        It failed for another reason than fit, or the last resort failed too
        (the side panel does not fit the paper).
    """
    attempts = paper_attempts(paper, landscape=landscape)
    first: RenderError | None = None
    last: RenderError | None = None
    for i, (size, orient) in enumerate(attempts):
        try:
            poster = render_poster(view, community_id, gate=gate, config=config, paper=size, landscape=orient, **kwargs)
        except RenderError as exc:
            if not _is_fit_error(exc):
                raise
            first = first or exc
            log.info(
                "%s %s: does not fit on %s%s, trying the next paper",
                community_id,
                gate or "overview",
                size,
                " landscape" if orient else "",
            )
            continue
        if i == 0 or paper.upper() == "AUTO":
            return poster, None
        asked = f"{paper.upper()}{' landscape' if landscape else ''}"
        return poster, f"labels did not fit on {asked}: printed on {size}{' landscape' if orient else ''}"
    for size, orient in [
        a for a in attempts if a[0] == attempts[-1][0]
    ]:  # the largest paper, orientation as asked first
        try:
            poster = render_poster(
                view, community_id, gate=gate, config=config, paper=size, landscape=orient, fit="last_resort", **kwargs
            )
        except RenderError as exc:
            if not _is_fit_error(exc):
                raise
            last = exc
            continue
        where = f"{size}{' landscape' if orient else ''}"
        return (
            poster,
            f"labels did not fit even as callouts on any paper: printed on {where} with "
            f"{poster.placements()['listed']} labels only listed beside the map ({first})",
        )
    assert last is not None  # the loop ran at least once
    raise last from first


def write_compound_posters(
    bundle: Bundle,
    community_id: str,
    outdir: str | Path,
    *,
    config: Config,
    formats: tuple[str, ...] = ("pdf",),
    paper: str | None = None,
    landscape: bool = False,
    bleed_mm: float = 0.0,
    crop_marks: bool = False,
    dpi: int = 300,
    signs=None,
) -> PosterResult:
    """All posters of one compound for ``ridermap build``; labels that do not fit fall back (callouts, then paper).

    ``signs``: the compound's sign plan, drawn as the optional layer of sign posts (``[build] poster_signs``).

    Unlike :func:`write_posters` one poster that fails does not stop the
    others: it is listed in :attr:`PosterResult.failures`. Every
    ``Poster.warnings`` (callouts, a far gate, undrawable characters) and
    every paper change goes to :attr:`PosterResult.warnings`.
    """
    _check_formats(formats, dpi)
    view = bundle.community(community_id)
    folder = Path(outdir) / community_id
    result = PosterResult()
    for gate, stem in _poster_jobs(view, community_id):
        try:
            poster, warning = render_fitting_poster(
                view,
                community_id,
                gate=gate,
                config=config,
                paper=paper or config.paper,
                landscape=landscape,
                bleed_mm=bleed_mm,
                crop_marks=crop_marks,
                signs=signs,
            )
        except Exception as exc:  # noqa: BLE001 - recorded per poster, the caller decides
            result.failures.append((stem, exc))
            continue
        if warning:
            result.warnings.append(f"{stem}: {warning}")
        for note in poster.warnings:  # a bad name shows on every poster of the compound: say it once
            line = note if _compound_wide(note) else f"{stem}: {note}"
            if line not in result.warnings:
                result.warnings.append(line)
        result.files += _save_formats(poster, folder / stem, formats, dpi=dpi)
    return result


def _compound_wide(note: str) -> bool:
    """Whether a poster warning is about the compound's data (the same on each of its posters)."""
    return "characters the font cannot draw" in note or (
        note.startswith("gate ") and " km from its " in note and "poster says" not in note
    )


def _check_formats(formats: tuple[str, ...], dpi: int) -> None:
    for fmt in formats:
        if fmt not in FORMATS:
            raise ConfigError(f"poster format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        _check_dpi(fmt, dpi)


def _poster_jobs(view: Bundle, community_id: str) -> list[tuple[str | None, str]]:
    jobs: list[tuple[str | None, str]] = [(None, f"{community_id}-overview")]
    return jobs + [(str(g), str(g)) for g in view.gates["id"]]


def write_posters(
    bundle: Bundle,
    community_id: str,
    outdir: str | Path,
    *,
    config: Config,
    formats: tuple[str, ...] = ("pdf",),
    paper: str | None = None,
    landscape: bool = False,
    bleed_mm: float = 0.0,
    crop_marks: bool = False,
    dpi: int = 300,
) -> list[Path]:
    """All posters of one compound: one per gate plus an overview.

    Files are ``<outdir>/<community_id>/<gate_id>.<fmt>`` and
    ``<outdir>/<community_id>/<community_id>-overview.<fmt>``. The paper is
    as asked (``paper="auto"``: the smallest that fits); use
    :func:`write_compound_posters` for automatic fallback to larger paper.

    Returns
    -------
    list of Path
        The files written, overview first.
    """
    _check_formats(formats, dpi)
    view = bundle.community(community_id)
    folder = Path(outdir) / community_id
    written: list[Path] = []
    size = paper or config.paper
    for gate, stem in _poster_jobs(view, community_id):
        if size.upper() == "AUTO":
            poster, _ = render_fitting_poster(
                view, community_id, gate=gate, config=config, paper=size, bleed_mm=bleed_mm, crop_marks=crop_marks
            )
        else:
            poster = render_poster(
                view,
                community_id,
                gate=gate,
                config=config,
                paper=size,
                landscape=landscape,
                bleed_mm=bleed_mm,
                crop_marks=crop_marks,
            )
        written += _save_formats(poster, folder / stem, formats, dpi=dpi)
    return written


def _save_formats(poster: Poster, stem: Path, formats: tuple[str, ...], *, dpi: int) -> list[Path]:
    """Save ``poster`` as ``stem.<fmt>`` for every format, then free its figure (a district draws thousands)."""
    try:
        return [save_poster(poster, stem.with_name(f"{stem.name}.{fmt}"), dpi=dpi) for fmt in formats]
    finally:
        _release(poster)


def _release(poster: Poster) -> None:
    """Let the poster's artists (and the geometry they hold) go now, not at the next full garbage collection.

    ``Figure.clear`` does it too, but sets every axes up afresh first (as
    long as drawing a poster's symbols); emptying each axes' artist list
    breaks the same reference cycles.
    """
    for ax in poster.figure.axes:
        children = getattr(ax, "_children", None)
        if isinstance(children, list):
            children.clear()
        else:  # a matplotlib without the list: the slow public way
            ax.clear()
