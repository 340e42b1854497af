"""ridermap command-line entry (the ``ridermap`` command): ``python cli.py build`` from a checkout.

The commands live in the package, :mod:`ridermap.cli` (one module per
command); this file only hands over to them. Installed, the ``ridermap``
console script calls :func:`ridermap.cli.main` directly.
"""

from __future__ import annotations

from ridermap.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
