"""Read-only connections for reports.

The console's engine starts every transaction with `BEGIN IMMEDIATE`, which takes
SQLite's write lock: right for the exit desk, wrong for a report, which would make a
payment wait while it reads. Reports therefore read through a second engine on the same
SQLite file whose transactions are plain deferred `BEGIN`s (in WAL mode a snapshot that
never blocks writers) with `query_only` on, so a report can never change anything.
Other databases (PostgreSQL) use the given engine with REPEATABLE READ, one consistent
snapshot for the whole report.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

_readers: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_lock = threading.Lock()

READ_BUSY_TIMEOUT_MS = 5000


def _sqlite_file(engine: Engine) -> bool:
    database = engine.url.database or ""
    return engine.dialect.name == "sqlite" and database not in ("", ":memory:") and "mode=memory" not in database


def _reader_for(engine: Engine) -> Engine:
    with _lock:
        reader = _readers.get(engine)
        if reader is not None:
            return reader
        # NullPool: a report opens its own connection and closes it, so nothing keeps
        # the file open between reports (or after the console's engine is disposed).
        reader = create_engine(engine.url, poolclass=NullPool, connect_args={"check_same_thread": False})

        @event.listens_for(reader, "connect")
        def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout={READ_BUSY_TIMEOUT_MS}")
                cursor.execute("PRAGMA query_only=ON")
            finally:
                cursor.close()

        @event.listens_for(reader, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

        _readers[engine] = reader
        return reader


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one consistent snapshot and takes no write lock."""
    if _sqlite_file(engine):
        with _reader_for(engine).connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()
        return
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        # One snapshot for the whole report, and read-only as on SQLite: a report
        # query can never write.
        options["isolation_level"] = "REPEATABLE READ"
        options["postgresql_readonly"] = True
    with engine.connect().execution_options(**options) as conn:
        try:
            yield conn
        finally:
            conn.rollback()
