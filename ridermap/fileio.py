"""Atomic file writes: a temporary file beside the target, then one rename.

The base floor's file helpers (they import nothing of ridermap): any reader
that keeps a cache (``ingest.online``) and every writer in ``publish`` use
them, so an interrupted run never leaves a half-written file. Files come out
``0666 & ~umask``, like ``cp`` would make them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["current_umask", "make_public_dir", "atomic_path", "write_text", "write_bytes"]


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ``/proc``)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_public_dir(path: str | Path) -> Path:
    """Give a folder made by :func:`tempfile.mkdtemp` (0700) the mode ``mkdir`` would (0755 with umask 022)."""
    path = Path(path)
    path.chmod(0o777 & ~current_umask())
    return path


@contextmanager
def atomic_path(target: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path; on success rename it onto ``target``.

    The temporary file keeps ``target``'s suffix (or ``suffix``) so libraries
    that pick a format by extension still work. On error it is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix or target.suffix, dir=target.parent)
    os.close(fd)
    os.unlink(tmp)  # let the writer create it (some refuse to overwrite); it gets 0666 & ~umask
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(target: str | Path, text: str) -> Path:
    """Atomically write UTF-8 text."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Atomically write bytes."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)
