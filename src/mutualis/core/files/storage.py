"""The local file system storage of the file store, durable before it answers.

Django's ``FileSystemStorage`` writes the file in place and returns: after a power cut
the name may exist with no bytes, or not at all, although the upload was acknowledged.
This storage writes a temporary file in the target directory, fsyncs it, renames it to
its name (atomic within one file system: a reader sees the whole file or nothing), then
fsyncs the directory so that the rename itself is on disk — and any directory it had to
create, in its parent. A durable 10 MiB write costs about 8 ms on the reference machine
(docs/PERFORMANCE: fsync is affordable).

A use case that stores several small files in one transaction (an act: its document, its
annexes, then its package) pays two fsyncs per file, each a journal commit of the file
system one after the other (2 to 4 ms each on a loaded machine, more than the file's
own SQL). Inside ``synced_together()`` the files are written and renamed the same way but
not synced one by one; leaving the block fsyncs all of them and their directories at once,
from a few threads, so that the file system commits its journal once or twice for all of
them (4 files and directories: about 1 ms instead of 8 to 15 ms one after the other; one
``syncfs`` measured 2 to 6 ms, as it also writes whatever else the file system holds
dirty, the database's pages among them). The block sits inside the caller's transaction,
so the bytes are still on disk before the rows that name them are committed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any

from django.core.files.storage import FileSystemStorage


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Make a file or a directory durable (a directory: the names it holds)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _fsync_pool() -> ThreadPoolExecutor:
    """A few threads of this process for concurrent fsyncs (made again after a fork: a
    forked child has none of its parent's threads)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mutualis-fsync")
            _pool_pid = os.getpid()
        return _pool


class _Unsynced:
    """What a ``synced_together`` block wrote and has not synced yet."""

    def __init__(self) -> None:
        self.paths: dict[str, None] = {}  # files and directories, in order, once each

    def sync(self) -> None:
        """fsync every file and directory at once: concurrent fsyncs of one file system
        share its journal commits (one or two for an act's files, instead of two per
        file one after the other), and each call still returns only once its file is on
        disk. The first error is raised once all have returned."""
        paths = list(self.paths)
        waiting = [_fsync_pool().submit(fsync_path, path) for path in paths[1:]]
        errors: list[OSError] = []
        try:
            fsync_path(paths[0])
        except OSError as exc:
            errors.append(exc)
        for future in waiting:
            try:
                future.result()
            except OSError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


_unsynced: ContextVar[_Unsynced | None] = ContextVar("mutualis_files_unsynced", default=None)


@contextlib.contextmanager
def synced_together() -> Iterator[None]:
    """Files the durable storage saves inside the block are made durable together when
    it ends (concurrent fsyncs), instead of each before ``save`` returns. Use it inside the
    transaction that records them, so that it ends before the commit; a block left by an
    exception syncs nothing (its transaction rolls back: nothing names those files). A
    nested block joins the outer one. Other storages (S3) are not concerned."""
    if _unsynced.get() is not None:
        yield
        return
    pending = _Unsynced()
    token = _unsynced.set(pending)
    try:
        yield
    finally:
        _unsynced.reset(token)
    if pending.paths:
        pending.sync()


def _make_directories(directory: str, mode: int | None) -> None:
    """Create ``directory`` and its missing parents, each made durable in its parent
    (at the end of a ``synced_together`` block when one is open)."""
    missing = []
    current = directory
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o777 if mode is None else mode)
        except FileExistsError:
            if not os.path.isdir(path):
                raise FileExistsError(f"{path} exists and is not a directory.") from None
            continue
        if mode is not None:
            os.chmod(path, mode)  # mkdir's mode is masked by the umask
        pending = _unsynced.get()
        if pending is None:
            fsync_path(os.path.dirname(path))
        else:
            pending.paths[os.path.dirname(path)] = None


class DurableFileSystemStorage(FileSystemStorage):
    """``FileSystemStorage`` whose ``save`` returns only once the bytes and the name are
    on disk. Names are the store's own random keys, so the rename never replaces a file
    that another upload wrote (``get_available_name`` has already been asked)."""

    def _save(self, name: str, content: Any) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        _make_directories(directory, self.directory_permissions_mode)
        pending = _unsynced.get()
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk)
                out.flush()
                if pending is None:
                    os.fsync(out.fileno())
            # FILE_UPLOAD_PERMISSIONS (0644 by default, so that a front nginx serving
            # X-Accel-Redirect can read it); None keeps mkstemp's 0600.
            if self.file_permissions_mode is not None:
                os.chmod(temporary, self.file_permissions_mode)
            os.rename(temporary, full_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        if pending is None:
            fsync_path(directory)
        else:
            pending.paths[full_path] = None
            pending.paths[directory] = None
        self._ensure_location_group_id(full_path)  # type: ignore[attr-defined]
        return os.path.relpath(full_path, self.location).replace("\\", "/")
