"""Save a matplotlib Figure (gap map, sign plan) as a one-page PDF, fast.

:func:`ridermap.render.pdf_figure.drawn_pdf` lets matplotlib lay the figure
out and draw it through a renderer that writes the PDF itself, with the CJK
font's glyphs made once per process (matplotlib's own PDF backend spent most
of a gap map's or sign plan's time drawing text). A figure holding what that
renderer does not draw (an image, a hatch) goes through matplotlib's backend
instead, so nothing is ever lost. Either way the only date is the one given
(the data date, for reproducible builds).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import matplotlib

from ridermap.fileio import write_bytes
from ridermap.render.pdf_figure import Unsupported, drawn_pdf

log = logging.getLogger(__name__)


def write_figure_pdf(fig, path: str | Path, *, title: str, created: datetime | None = None) -> Path:
    """Write ``fig`` to ``path`` as a PDF titled ``title`` and dated ``created`` (or undated); the folder must exist."""
    path = Path(path)
    try:
        data = drawn_pdf(fig, title=title, created=created)
    except Unsupported as exc:
        log.debug("%s: drawn by matplotlib's PDF backend (%s)", path.name, exc)
        metadata = {"Title": title, "Creator": "ridermap", "CreationDate": created, "ModDate": None}
        with matplotlib.rc_context({"pdf.fonttype": 3, "pdf.compression": 6}):
            fig.savefig(path, format="pdf", metadata=metadata)
        return path
    write_bytes(path, data)
    return path
