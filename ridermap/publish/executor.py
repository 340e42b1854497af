"""The one seam through which ``build`` runs per-compound work.

``LocalExecutor`` uses local processes (or runs in-process with one
worker); ``DaskExecutor`` sends the same tasks to a Dask cluster when one
machine is not enough. Both call ``on_done(done, total, result)`` as tasks
finish, which the CLI turns into a progress bar.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from ridermap.errors import ConfigError

log = logging.getLogger(__name__)

OnDone = Callable[[int, int, Any], None]


class Executor(Protocol):
    def map(self, fn: Callable, items: Iterable, *, on_done: OnDone | None = None) -> list: ...


class LocalExecutor:
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
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if on_done:
                    on_done(done, len(items), results[futures[future]])
        return results


class DaskExecutor:
    """Run tasks on a Dask cluster (``pip install 'ridermap[dask]'``)."""

    def __init__(self, address: str = "") -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ConfigError("executor = 'dask' needs the dask extra: pip install 'ridermap[dask]'") from exc
        self.client = Client(address) if address else Client(processes=True, dashboard_address=None)

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


def make_executor(kind: str = "local", *, workers: int = 2, address: str = "") -> Executor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "dask":
        return DaskExecutor(address)
    raise ConfigError(f"unknown executor {kind!r} (local or dask)")
