"""The one seam through which ``build`` runs per-compound work.

``LocalExecutor`` uses local processes (or runs in-process with one
worker); ``DaskExecutor`` sends the same tasks to a Dask cluster when one
machine is not enough. Both call ``on_done(done, total, result)`` as tasks
finish, which the CLI turns into a progress bar.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from ridermap.errors import ConfigError

log = logging.getLogger(__name__)

OnDone = Callable[[int, int, Any], None]


class Executor(Protocol):
    def map(self, fn: Callable, items: Iterable, *, on_done: OnDone | None = None) -> list: ...

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

    def map(self, fn: Callable, items: Iterable, *, on_done: OnDone | None = None) -> list:
        items = list(items)
        results: list = [None] * len(items)
        if self.workers == 1 or len(items) <= 1:
            for i, item in enumerate(items):
                results[i] = fn(item)
                if on_done:
                    on_done(i + 1, len(items), results[i])
            return results
        # The workers are forked with the district's model in memory: frozen, the collector of
        # every worker never walks it again (nor touches its pages, which then stay shared).
        gc.collect()
        gc.freeze()
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(items)))
        try:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if on_done:
                    on_done(done, len(items), results[futures[future]])
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a failing task stops the rest at once
            gc.unfreeze()
        return results


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

    def map(self, fn: Callable, items: Iterable, *, on_done: OnDone | None = None) -> list:
        from distributed import as_completed as dask_completed

        items = list(items)
        futures = self.client.map(fn, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(items)
        for done, future in enumerate(dask_completed(futures), start=1):
            results[index[future.key]] = future.result()
            if on_done:
                on_done(done, len(items), results[index[future.key]])
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
