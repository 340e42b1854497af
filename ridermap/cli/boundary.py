"""The CLI's error boundary: every problem is one line on stderr and an exit code, never a traceback.

Exit codes: 0 done, 1 data errors (a compound failed, validation errors),
2 unreadable input, bad usage or config, an output that cannot be written,
an online source that cannot be reached; 3 a bug in ridermap (the traceback
is logged at ``-vv``); 130 interrupted.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from ridermap.errors import RidermapError

log = logging.getLogger(__name__)

EXIT_DATA_ERRORS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

_F = TypeVar("_F", bound=Callable[..., Any])

# click's own outcomes (usage errors, --help, exit codes) pass through untouched
_PASS_THROUGH = (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``ridermap: error: <one line>`` on stderr and exit with ``code``."""
    line = " ".join(str(message).split()) or "unknown error"  # one line whatever the message holds
    click.echo(f"ridermap: error: {line}", err=True)
    sys.exit(code)


def _network_error(exc: BaseException) -> str | None:
    """One line for a network failure (requests or osmnx) that reached the boundary, else ``None``."""
    module = type(exc).__module__ or ""
    if not (module.startswith(("requests", "urllib3", "osmnx")) or isinstance(exc, (ConnectionError, TimeoutError))):
        return None
    url = getattr(getattr(exc, "request", None), "url", None)
    where = f" ({url})" if url else ""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"network error{where}: {type(exc).__name__}: {first}; use local .osm/.pbf files or retry when online"


def report_error(exc: BaseException) -> NoReturn:
    """The shared error boundary: one line on stderr and the exit code, never a traceback.

    2 bad input, usage, config, unwritable output or network; 3 a bug
    (the traceback is logged at ``-vv``); 130 interrupted.
    """
    if isinstance(exc, RidermapError):
        fail(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    if isinstance(exc, KeyboardInterrupt):
        fail("interrupted", code=EXIT_INTERRUPTED)
    network = _network_error(exc)
    if network:
        fail(network)
    if isinstance(exc, OSError) and (exc.filename or exc.strerror):
        fail(f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}")
    log.debug("internal error", exc_info=exc)
    fail(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for the traceback)", code=EXIT_INTERNAL)


def handle_errors(fn: _F) -> _F:
    """Run ``fn`` inside the error boundary (:func:`report_error`); every command gets it through :class:`Group`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except BaseException as exc:  # noqa: BLE001 - the boundary
            report_error(exc)

    return wrapper  # type: ignore[return-value]


class Group(click.Group):
    """The ``ridermap`` group: every subcommand, present and future, runs inside the error boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        return handle_errors(super().invoke)(ctx)
