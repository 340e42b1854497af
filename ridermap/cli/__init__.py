"""ridermap's command-line interface, installed as ``ridermap`` (console script ``ridermap.cli:main``).

Thin by design: parse options, call one library function, report. One
module per command (``ingest``, ``init``, ``survey``, ``validate``,
``build``, ``poster``, ``doorplates``, ``site``, ``gaps``), the options
they share in :mod:`ridermap.cli.options` and one error boundary in
:mod:`ridermap.cli.boundary`: every :class:`ridermap.errors.RidermapError`
(and any other failure) becomes one line on stderr and an exit code, never
a traceback. The project's top-level ``cli.py`` imports :func:`main` from here.

A new command: a module here with a ``click.command`` (wrapped in
:func:`~ridermap.cli.boundary.handle_errors` when it reports its own
outcome), added to ``COMMANDS`` in :mod:`ridermap.cli.group`.
"""

from __future__ import annotations

from ridermap.cli.group import main

__all__ = ["main"]
