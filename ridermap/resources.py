"""ridermap's own files: the page templates and the sample data, read as package data.

The project keeps them in top-level folders, ``templates/`` and ``data/``;
packaging maps them into the package as ``ridermap.templates`` and
``ridermap.data`` (``setup.py``), so they are found with
:mod:`importlib.resources` alike from a checkout with an editable install, a
wheel in a venv or a ``pip install --user``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ridermap.errors import RidermapError

__all__ = ["data_dir", "sample_config", "templates_dir"]


def _package_dir(package: str) -> Path:
    """The folder of the resource package ``package`` on the file system."""
    try:
        root = files(package)
    except ModuleNotFoundError as exc:
        raise RidermapError(
            f"ridermap's {package} resources are missing ({exc}); reinstall ridermap "
            "(in a checkout: bash scripts/setup.sh)"
        ) from exc
    if not isinstance(root, Path) or not root.is_dir():  # e.g. installed inside a zip file
        raise RidermapError(f"ridermap's {package} resources are not a folder ({root}); reinstall ridermap")
    return root


def templates_dir() -> Path:
    """The Jinja2 templates folder (``templates/`` of the project)."""
    return _package_dir("ridermap.templates")


def data_dir() -> Path:
    """The sample data and survey templates folder (``data/`` of the project)."""
    return _package_dir("ridermap.data")


def sample_config() -> Path:
    """The sample project's config, ``data/sample/ridermap.toml`` (what ``ridermap build`` builds by default)."""
    path = data_dir() / "sample" / "ridermap.toml"
    if not path.is_file():
        raise RidermapError(f"the sample config {path} is missing; reinstall ridermap or give a CONFIG")
    return path
