"""Opening a results store's DuckDB file, and the lock that keeps a second writer out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

import duckdb

from agentctl.core.errors import RunError, StoreLocked


def _in_use(path: Path, wait_s: float) -> StoreLocked:
    return StoreLocked(f"results store {path} is in use by another agentctl process "
                       f"(waited {wait_s:.0f} s); wait for it to finish or pass a different --db")


def connect(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection of ``path``. DuckDB allows one writing process per file: a second
    process waits a little for the first to finish, then fails with a clear message."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise RunError(f"cannot open results store {path}: {exc}") from None
            if time.monotonic() >= deadline:
                raise _in_use(path, wait_s) from None
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise RunError(f"cannot open results store {path}: {exc}") from None


def take_writer_lock(path: Path, wait_s: float) -> IO[Any] | None:
    """One writing process per store for its whole run, even while the DuckDB file is closed
    between commits (see ``Store.released``): a second writer gets StoreLocked (exit 3).

    Returns the held lock file (closing it releases the lock), or None where there is no flock.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): DuckDB's own lock is all there is
        return None
    fh = open(path.with_name(path.name + ".lock"), "a+")  # noqa: SIM115
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except OSError:
            if time.monotonic() >= deadline:
                fh.close()
                raise _in_use(path, wait_s) from None
            time.sleep(0.2)
