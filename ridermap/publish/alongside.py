"""Run one piece of work in a forked process while this one goes on.

A district build's district-wide parts (GeoPackage, validation, gap tables)
need the whole model but nothing the compounds make; run alongside the
compound workers they keep both cores busy instead of running before or
after them on one. The process is forked, so it sees the model as it is
(copy-on-write: nothing is pickled to it) and only its result comes back.
Where ``fork`` is not the platform's way of starting processes (Windows,
macOS) or it is not wanted, the work runs here, at :meth:`Alongside.result`.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Alongside(Generic[T]):
    """``fn()`` started now in a forked process (``enabled`` and processes start by ``fork``), or later here.

    :meth:`result` returns what ``fn`` returned, or raises what it raised
    (an exception that cannot be pickled comes back as a ``RuntimeError``
    naming it). A process that dies without an answer (killed) is not
    trusted: ``fn`` then runs here.
    """

    def __init__(self, fn: Callable[[], T], *, enabled: bool) -> None:
        self.fn = fn
        self.process: Any = None
        if enabled and multiprocessing.get_context().get_start_method() == "fork":  # not where fork is unsafe
            ctx = multiprocessing.get_context("fork")
            self.conn, child = ctx.Pipe(duplex=False)
            self.process = ctx.Process(target=_child, args=(fn, child), daemon=True)
            gc.freeze()  # the child's collector never walks the model (nor copies its pages); this one's still does
            try:
                self.process.start()
            finally:
                gc.unfreeze()
            child.close()

    def result(self) -> T:
        if self.process is None:
            return self.fn()
        try:
            ok, value = self.conn.recv()
        except EOFError:  # the process died without an answer
            self.process.join()
            log.warning("a district part's process stopped (exit %s); running it here", self.process.exitcode)
            self.conn.close()
            self.process = None
            return self.fn()
        except BaseException:  # interrupted, or an answer that cannot be read: the process is not left behind
            self.close()
            raise
        self.conn.close()
        self.process.join()
        self.process = None
        if ok:
            return value
        raise value

    def close(self) -> None:
        """Stop the process if its result was never asked for (the build stopped on an error)."""
        if self.process is not None:
            self.process.kill()
            self.process.join()
            self.conn.close()
            self.process = None


def _child(fn: Callable[[], Any], conn) -> None:
    try:
        answer: tuple[bool, Any] = (True, fn())
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        answer = (False, exc)
    try:
        conn.send(answer)
    except Exception as exc:  # noqa: BLE001 - an answer that cannot be pickled
        conn.send((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))
        log.debug("answer not picklable: %s", exc)
    finally:
        conn.close()
