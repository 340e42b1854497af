"""The one seam through which ``build`` runs per-compound work.

``LocalExecutor`` uses local processes (or runs in-process with one
worker); ``DaskExecutor`` sends the same tasks to a Dask cluster when one
machine is not enough. Both call ``on_done(done, total, result)`` as tasks
finish, which the CLI turns into a progress bar.
"""

from __future__ import annotations

import gc
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from ridermap.errors import ConfigError

log = logging.getLogger(__name__)

OnDone = Callable[[int, int, Any], None]


class Executor(Protocol):
    def map(
        self, fn: Callable, items: Iterable, *, on_done: OnDone | None = None, total: int | None = None
    ) -> list: ...

    def close(self) -> None: ...


class _Closing:
    """Context-manager support: ``with make_executor(...) as ex:`` closes it."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden where there is something to close
        pass


class LocalExecutor(_Closing):
    """Run tasks in ``workers`` local processes (in-process when ``workers <= 1``)."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, int(workers))

    def map(self, fn: Callable, items: Iterable, *, on_done: OnDone | None = None, total: int | None = None) -> list:
        """``[fn(item) for item in items]`` in worker processes, in ``items`` order.

        ``items`` may be a generator: each item is made just before a worker
        is free for it (at most two waiting per worker), so the workers start
        on the first while the rest are still being made, and only a few are
        held at once. ``total`` is what ``on_done`` reports (``len(items)``
        when it has one).
        """
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        it = iter(items)
        first = list(itertools.islice(it, self.workers))  # fewer tasks than workers: no more processes than tasks
        if self.workers == 1 or len(first) <= 1:  # one task alone is run here: no process is forked for it
            results = []
            for item in itertools.chain(first, it):
                results.append(fn(item))
                if on_done:
                    on_done(len(results), total or len(results), results[-1])
            return results
        return self._in_pool(fn, itertools.chain(first, it), on_done, total, processes=len(first))

    def _in_pool(
        self, fn: Callable, items: Iterator, on_done: OnDone | None, total: int | None, *, processes: int
    ) -> list:
        # The workers are forked with the district's model in memory: frozen, the collector of
        # every worker never walks it again (nor touches its pages, which then stay shared).
        gc.collect()
        gc.freeze()
        results: dict[int, Any] = {}
        pending: dict[Future, int] = {}

        def collect() -> None:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=pending.__getitem__):
                i = pending.pop(future)
                results[i] = future.result()
                if on_done:
                    on_done(len(results), total or len(results) + len(pending), results[i])

        pool = ProcessPoolExecutor(max_workers=processes)
        try:
            for i, item in enumerate(items):
                pending[pool.submit(fn, item)] = i
                while len(pending) >= 2 * self.workers:
                    collect()
            while pending:
                collect()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a failing task stops the rest at once
            gc.unfreeze()
        return [results[i] for i in range(len(results))]


class DaskExecutor(_Closing):
    """Run tasks on a Dask cluster (``pip install 'ridermap[dask]'``).

    With ``address`` it connects to a running scheduler; without, it starts
    a private local cluster of ``workers`` worker processes (one thread
    each) that listens on 127.0.0.1 only and serves no dashboard (its
    scheduler's HTTP endpoint gets a random free port, never :8787).
    :meth:`close` (or leaving a ``with`` block) shuts both down.
    """

    def __init__(self, address: str = "", *, workers: int = 2) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError("executor = 'dask' needs the dask extra: pip install 'ridermap[dask]'") from exc
        self.workers = max(1, int(workers))
        self.cluster = None
        if address:
            self.client = Client(address)
            return
        self.cluster = LocalCluster(
            n_workers=self.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,  # not enough alone: the scheduler still binds its HTTP server to :8787
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        )
        try:
            self.client = Client(self.cluster)
        except BaseException:
            self.cluster.close()
            raise

    def map(self, fn: Callable, items: Iterable, *, on_done: OnDone | None = None, total: int | None = None) -> list:
        from distributed import as_completed as dask_completed

        items = list(items)  # the scheduler holds and hands out the tasks
        total = total or len(items)
        futures = self.client.map(fn, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(items)
        for done, future in enumerate(dask_completed(futures), start=1):
            results[index[future.key]] = future.result()
            if on_done:
                on_done(done, total, results[index[future.key]])
        return results

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def make_executor(kind: str = "local", *, workers: int = 2, address: str = "") -> LocalExecutor | DaskExecutor:
    """``"local"`` or ``"dask"``; use it as a context manager so it is closed."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "dask":
        return DaskExecutor(address, workers=workers)
    raise ConfigError(f"unknown executor {kind!r} (local or dask)")
