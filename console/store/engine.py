"""Engine construction. Built by a factory from a URL, never at import time."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine


class StoreError(RuntimeError):
    """The database cannot be used: read-only, locked, missing directory, corrupt."""


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


def make_engine(url: str, *, busy_timeout_ms: int = 5000) -> Engine:
    """Create an engine for `url` with the durability settings the booth relies on.

    SQLite: WAL journal, synchronous=FULL (WAL with NORMAL can lose the last commits on
    power loss), foreign keys on, and writers take the lock at BEGIN (IMMEDIATE) so two
    writers never deadlock on an upgrade from read to write.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    database = parsed.database or ""
    if database and database != ":memory:":
        directory = Path(database).expanduser().parent
        if not directory.exists():
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create database directory {directory}: {exc.strerror}") from exc

    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
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

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
