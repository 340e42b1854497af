"""Where the project's own files are: ``templates/`` and ``data/``.

From a checkout (or an editable install) they sit beside the ``ridermap``
package; from a wheel they are installed as data files under
``<prefix>/share/ridermap/``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ridermap.errors import RidermapError

_CHECKOUT = Path(__file__).resolve().parent.parent
_INSTALLED = Path(sys.prefix) / "share" / "ridermap"


def _find(name: str) -> Path:
    for base in (_CHECKOUT, _INSTALLED):
        if (base / name).is_dir():
            return base / name
    raise RidermapError(f"ridermap's {name}/ folder is missing (looked in {_CHECKOUT} and {_INSTALLED}); reinstall ridermap")


def templates_dir() -> Path:
    """The Jinja2 templates folder."""
    return _find("templates")


def data_dir() -> Path:
    """The sample data and survey templates folder."""
    return _find("data")
