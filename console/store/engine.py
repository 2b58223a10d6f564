"""Engine construction. Built by a factory from a URL, never at import time."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

from console.store.errors import StoreError

__all__ = ["READ_ONLY", "StoreError", "explain", "make_engine", "sqlite_url"]

# Execution option that marks a read-only transaction: on SQLite it begins DEFERRED, so
# a screen or report reading never waits for (or blocks) a lane writing.
READ_ONLY = "booth_read_only"


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


def explain(exc: BaseException) -> str:
    """A database failure in words an attendant can act on."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "locked" in text or "busy" in text:
        return "the database is busy (locked by another program); nothing was recorded"
    if "readonly" in text or "read-only" in text:
        return "the database is read-only; nothing was recorded"
    if "full" in text:
        return "the disk is full; nothing was recorded"
    if "unable to open" in text:
        return "the database file cannot be opened"
    if "malformed" in text or "not a database" in text:
        return "the database file is damaged"
    return f"database error: {getattr(exc, 'orig', exc)}"


def lock_file(database: Path) -> Path:
    """The file every connection to an SQLite database holds a shared lock on, so that
    `booth restore` can tell the database is in use (it takes the lock exclusively)."""
    return database.with_name(database.name + ".lock")


def _take_shared_lock(database: Path, wait_ms: int) -> int | None:
    """A shared lock on the database's lock file (None when the folder is read-only).
    Waits up to `wait_ms` while a restore holds it exclusively."""
    try:
        fd = os.open(lock_file(database), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                # Reported like any other lock: "the database is busy".
                raise sqlite3.OperationalError("database is locked (a restore is running)") from None
            time.sleep(0.05)


def make_engine(url: str, *, busy_timeout_ms: int = 5000) -> Engine:
    """Create an engine for `url` with the durability settings the booth relies on.

    SQLite: WAL journal, synchronous=FULL (WAL with NORMAL can lose the last commits on
    power loss), foreign keys on, and writers take the lock at BEGIN (IMMEDIATE) so two
    writers never deadlock on an upgrade from read to write. Transactions opened with the
    `READ_ONLY` execution option begin DEFERRED and never take the write lock.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    database = parsed.database or ""
    if database and database != ":memory:":
        directory = Path(database).expanduser().parent
        if not directory.exists():
            try:
                # Takings and attendants' PIN hashes: only the booth's user reads them.
                directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise StoreError(f"cannot create database directory {directory}: {exc.strerror}") from exc
        path = Path(database).expanduser()
        if not path.exists() and not database.startswith("file:"):
            try:  # SQLite gives its -wal and -shm files the database file's mode
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except OSError:
                pass  # SQLite reports what is wrong when it opens the file

    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000})
    file = Path(database).expanduser() if database and database != ":memory:" and not database.startswith("file:") else None

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, record: Any) -> None:
        if file is not None:
            fd = _take_shared_lock(file, busy_timeout_ms)
            if fd is not None:
                record.info["booth_lock"] = fd
        # Let SQLAlchemy's begin event, not the sqlite3 module, start transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    def _release(_dbapi_connection: Any, record: Any) -> None:
        fd = record.info.pop("booth_lock", None)
        if fd is not None:
            os.close(fd)

    event.listen(engine, "close", _release)
    event.listen(engine, "close_detached", _release)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
