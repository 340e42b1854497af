"""Write files and folders atomically, and publish whole builds in one step.

A file is written to a temporary file beside the target, then renamed; a
folder is filled as a temporary folder, then swapped in. A failed or
interrupted run never leaves a half-written output behind.

:class:`Publisher` is what ``ridermap build`` uses: OUTDIR is a symbolic
link to a complete build folder ``.OUTDIR.builds/<build-id>/`` beside it.
A build is written into a new folder there and made current by replacing
the link with :func:`os.replace`, one atomic rename; ``kill -9`` at any
moment leaves OUTDIR pointing at the previous, complete build. A lock file
``.OUTDIR.lock`` (``fcntl.flock``) refuses a second build into the same
OUTDIR; leftovers of an interrupted build are removed by the next one.

Files come out ``0666 & ~umask`` and folders ``0777 & ~umask`` (0644 and
0755 with the usual umask 022), like ``cp`` and ``mkdir`` would make them.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ridermap.errors import RidermapError
from ridermap.fileio import atomic_path, current_umask, make_public_dir, write_bytes, write_text

log = logging.getLogger(__name__)

__all__ = [
    "atomic_path",
    "atomic_dir",
    "write_text",
    "write_bytes",
    "current_umask",
    "make_public_dir",
    "Publisher",
    "PublishError",
    "ENVIRONMENT_ERRNOS",
    "LEGACY_NAMES",
]

#: Names ``ridermap build`` may find in an OUTDIR written by ridermap before 0.2
#: (a real folder, not a link); only such a folder is migrated.
LEGACY_NAMES = frozenset(
    {
        "ridermap.gpkg",
        "validation.txt",
        "validation.json",
        "posters",
        "doorplates",
        "site",
        "gaps",
        "signs",
        "build.json",
    }
)
#: errno values that mean "the machine cannot take this build", not "this compound is bad".
ENVIRONMENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO, errno.EMFILE, errno.ENFILE}
)


class PublishError(RidermapError, OSError):
    """OUTDIR cannot be written or is busy (another build, disk full, no permission)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_dir_leftovers(target: Path) -> None:
    """Remove what an interrupted :func:`atomic_dir` left beside ``target``.

    ``.<name>.old`` is the previous folder renamed away just before the swap:
    if ``target`` is missing the run died between the two renames and the old
    folder is put back; otherwise it is deleted. ``.<name>.tmp<pid>-*``
    folders of processes that are gone are deleted.
    """
    old = target.with_name(f".{target.name}.old")
    if old.is_dir() and not target.exists():
        old.rename(target)
    elif old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    for tmp in target.parent.glob(f".{target.name}.tmp*-*"):
        pid = tmp.name[len(target.name) + 5 :].split("-", 1)[0]
        if tmp.is_dir() and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``target`` whole.

    Leftovers of an interrupted earlier call for the same ``target`` are
    cleaned first. The folder gets the mode ``mkdir`` would give it.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_dir_leftovers(target)
    tmp = make_public_dir(tempfile.mkdtemp(prefix=f".{target.name}.tmp{os.getpid()}-", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old)
        else:
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _rmtree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


class Publisher:
    """Build into a fresh folder beside ``outdir`` and switch ``outdir`` to it in one step.

    Use as a context manager: entering takes the lock, cleans leftovers and
    makes :attr:`staging`; :meth:`publish` makes it current; leaving without
    publishing deletes it (the previous build stays current).

    Layout beside OUTDIR (``out`` here)::

        out -> .out.builds/<build-id>     the current build (a relative link)
        .out.builds/<build-id>/           complete builds; only the current one is kept
        .out.lock                         held while a build runs

    An ``out`` that is a real folder written by an older ridermap is moved
    into ``.out.builds/legacy`` when the first new build is published, then
    deleted with the other old builds; a folder holding anything else is
    refused (:class:`PublishError`), never moved.

    Parameters
    ----------
    outdir
        The output folder users open (``out``).
    """

    def __init__(self, outdir: str | Path) -> None:
        self.outdir = Path(os.path.abspath(outdir))
        if self.outdir.name in ("", ".", ".."):
            raise PublishError(f"{outdir}: not usable as an output folder; give a folder name")
        name = self.outdir.name
        self.parent = self.outdir.parent
        self.builds = self.parent / f".{name}.builds"
        self.lock_path = self.parent / f".{name}.lock"
        self.swap = self.parent / f".{name}.swap"
        self.staging: Path | None = None
        self.previous: Path | None = None
        self.published = False
        self._lock_fd: int | None = None

    # --- entering -----------------------------------------------------------
    def __enter__(self) -> Publisher:
        self._lock()
        try:
            self._recover()
            self.previous = self._current()
            self._check_outdir()
            self._clean(keep=self.previous)
            self.builds.mkdir(parents=True, exist_ok=True)
            stamp = _build_stamp()
            self.staging = make_public_dir(tempfile.mkdtemp(prefix=f"{stamp}-", dir=self.builds))
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if not self.published and self.staging is not None:
                _rmtree(self.staging)
        finally:
            self._unlock()

    def _lock(self) -> None:
        import fcntl

        self.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PublishError(
                f"{self.outdir}: another ridermap build is writing here (lock {self.lock_path}); wait for it to finish"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _recover(self) -> None:
        """Undo a migration cut short between its two renames (OUTDIR missing, legacy build present)."""
        legacy = self.builds / "legacy"
        if not os.path.lexists(self.outdir) and legacy.is_dir():
            legacy.rename(self.outdir)
            log.warning("restored %s from an interrupted build", self.outdir)

    def _current(self) -> Path | None:
        """The build folder OUTDIR links to, if it is one of ours."""
        if not self.outdir.is_symlink():
            return None
        target = Path(os.readlink(self.outdir))
        resolved = (self.parent / target) if not target.is_absolute() else target
        if resolved.parent != self.builds:
            raise PublishError(
                f"{self.outdir}: is a link to {target} that ridermap did not make; "
                "remove the link or choose another output folder"
            )
        return resolved if resolved.is_dir() else None

    def _check_outdir(self) -> None:
        if self.outdir.is_symlink() or not os.path.lexists(self.outdir):
            return
        if not self.outdir.is_dir():
            raise PublishError(f"{self.outdir}: exists and is not a folder")
        foreign = sorted(p.name for p in self.outdir.iterdir() if p.name not in LEGACY_NAMES)
        if foreign:
            raise PublishError(
                f"{self.outdir}: folder holds files ridermap did not write ({', '.join(foreign[:3])}); "
                "choose an empty or new output folder"
            )

    def _clean(self, *, keep: Path | None) -> None:
        """Delete every build folder but ``keep`` and a stale swap link (runs under the lock)."""
        if os.path.lexists(self.swap):
            self.swap.unlink()
        if self.builds.is_dir():
            for entry in self.builds.iterdir():
                if keep is None or entry != keep:
                    log.info("removing leftover %s", entry)
                    _rmtree(entry)

    # --- publishing ---------------------------------------------------------
    def publish(self) -> None:
        """Make :attr:`staging` the current build: one :func:`os.replace` of the OUTDIR link."""
        if self.staging is None:
            raise RuntimeError("Publisher.publish() outside its with block")
        _fsync_dir(self.staging)
        if os.path.lexists(self.outdir) and not self.outdir.is_symlink():
            self.outdir.rename(self.builds / "legacy")  # an older ridermap's real folder
        os.symlink(os.path.join(self.builds.name, self.staging.name), self.swap)
        os.replace(self.swap, self.outdir)
        _fsync_dir(self.parent)
        self.published = True
        self._clean(keep=self.staging)

    def display(self, path: str | Path) -> str:
        """``path`` inside the staging folder as the user will see it (under OUTDIR)."""
        path = Path(path)
        if self.staging is not None:
            try:
                return str(self.outdir / path.relative_to(self.staging))
            except ValueError:
                pass
        return str(path)


def _build_stamp() -> str:
    """A sortable build-folder prefix (the time of the build; never inside a published file)."""
    import time

    return time.strftime("%Y%m%dT%H%M%S", time.gmtime())
