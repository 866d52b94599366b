"""A lock that lets only one scheduler process run at a time.

On PostgreSQL: a session-level advisory lock held on a connection of its own for the
life of the process (released by the server if the process dies). On SQLite (the
embedded demo, one machine): an exclusive ``flock`` on a lock file.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

# Arbitrary but fixed 64-bit key of the scheduler's advisory lock.
SCHEDULER_LOCK_KEY = 0x6D757475616C6973  # "mutualis"


class SingletonLock:
    def __init__(self, name: str = "scheduler") -> None:
        self.name = name
        self._connection: Any = None
        self._fd: int | None = None

    def acquire(self) -> bool:
        if connections["default"].vendor == "postgresql":
            return self._acquire_advisory()
        return self._acquire_flock()

    def _acquire_advisory(self) -> bool:
        import psycopg

        if self._connection is None:
            params = connections["default"].get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            self._connection = psycopg.connect(**params, autocommit=True)
        row = self._connection.execute(
            "SELECT pg_try_advisory_lock(%s)", [SCHEDULER_LOCK_KEY]
        ).fetchone()
        return bool(row and row[0])

    def _acquire_flock(self) -> bool:
        path = Path(settings.MUTUALIS_SCHEDULER_LOCK_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._fd is None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            # Unlocked before the connection closes: the server drops a closed session's
            # locks only once its backend has exited, a moment later, and a scheduler
            # starting meanwhile would find the lock still held.
            import psycopg

            try:
                self._connection.execute("SELECT pg_advisory_unlock_all()")
            except psycopg.Error:
                pass  # a broken session: the server dropped its locks with it
            finally:
                self._connection.close()
                self._connection = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
