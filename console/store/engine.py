"""Engine construction. Built by a factory from a URL, never at import time."""

from __future__ import annotations

import importlib
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import create_engine


class StoreError(RuntimeError):
    """The database cannot be used: read-only, locked, missing directory, corrupt."""


POSTGRES_MISSING = "PostgreSQL support is not installed: pip install 'booth[postgres]'"

# The driver each PostgreSQL URL form means. A bare `postgresql://` is psycopg 3 (the one
# `booth[postgres]` installs), not SQLAlchemy's historical default psycopg2.
_POSTGRES_DRIVERS = {"": "psycopg", "psycopg": "psycopg", "psycopg2": "psycopg2"}


@dataclass(frozen=True)
class EngineSettings:
    """How the booth connects to its database; filled from the site file's [database].

    SQLite uses only `busy_timeout_ms`. PostgreSQL uses the rest; `lock_timeout_ms` None
    means "as long as busy_timeout_ms", so a writer waits the same on both databases.
    Timeouts of 0 mean no limit.
    """

    busy_timeout_ms: int = 5000
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout_s: float = 30.0  # waiting for a free pooled connection
    connect_timeout_s: int = 10
    statement_timeout_ms: int = 60_000
    lock_timeout_ms: int | None = None
    sslmode: str | None = None
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    application_name: str = "booth"

    @property
    def effective_lock_timeout_ms(self) -> int:
        """PostgreSQL's lock_timeout: the one given, else the SQLite busy timeout."""
        return self.busy_timeout_ms if self.lock_timeout_ms is None else self.lock_timeout_ms


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite:///{path}"


def parse_database_url(url: str | URL) -> URL:
    """Parse a database URL; `postgres://` and `postgresql://` mean psycopg 3.

    Raises StoreError for text that is not a URL or names a database we do not support.
    """
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        raise StoreError(f"{url!r} is not a database URL (e.g. sqlite:////path/booth.sqlite3 or postgresql://host/db)") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":  # the scheme libpq and many hosting panels print
        parsed = parsed.set(drivername="postgresql")
        backend = "postgresql"
    if backend == "postgresql":
        driver = parsed.get_driver_name() if "+" in parsed.drivername else ""
        if driver not in _POSTGRES_DRIVERS:
            raise StoreError(f"PostgreSQL driver {driver!r} is not supported; use postgresql+psycopg://")
        return parsed.set(drivername=f"postgresql+{_POSTGRES_DRIVERS[driver]}")
    if backend != "sqlite":
        raise StoreError(f"{parsed.render_as_string()}: only SQLite and PostgreSQL databases are supported")
    return parsed


def is_postgresql(url: str | URL) -> bool:
    """Whether `url` names a PostgreSQL database."""
    return parse_database_url(url).get_backend_name() == "postgresql"


def _require_driver(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        if module == "psycopg":
            raise StoreError(POSTGRES_MISSING) from exc
        raise StoreError(f"the {module} driver is not installed; use postgresql+psycopg:// ({POSTGRES_MISSING})") from exc


def make_engine(url: str | URL, settings: EngineSettings | None = None, *, busy_timeout_ms: int | None = None) -> Engine:
    """Create an engine for `url` with the durability settings the booth relies on.

    SQLite: WAL journal, synchronous=FULL (WAL with NORMAL can lose the last commits on
    power loss), foreign keys on, and writers take the lock at BEGIN (IMMEDIATE) so two
    writers never deadlock on an upgrade from read to write.
    PostgreSQL (psycopg 3): a connection pool, connect/statement/lock timeouts, TLS and the
    booth's name as application_name from `settings`; sessions run in UTC.
    `busy_timeout_ms`, when given, overrides the one in `settings`.
    """
    settings = settings or EngineSettings()
    if busy_timeout_ms is not None:
        settings = replace(settings, busy_timeout_ms=busy_timeout_ms)
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _postgresql_engine(parsed, settings)
    return _sqlite_engine(parsed, settings.busy_timeout_ms)


def _postgresql_engine(url: URL, settings: EngineSettings) -> Engine:
    _require_driver(url.get_driver_name())
    # Server settings go in the startup packet, so they hold from the first statement and a
    # pooled connection returns to them on RESET. UTC: the store keeps naive UTC times, and
    # nothing the server computes (now(), date_trunc) should depend on its own zone.
    options = [
        f"-c statement_timeout={int(settings.statement_timeout_ms)}",
        f"-c lock_timeout={int(settings.effective_lock_timeout_ms)}",
        "-c TimeZone=UTC",
    ]
    given = url.query.get("options")
    if given:
        options.insert(0, given if isinstance(given, str) else " ".join(given))
    connect_args: dict[str, Any] = {
        "connect_timeout": int(settings.connect_timeout_s),
        "application_name": settings.application_name[:63],  # the server truncates at 63 bytes
        "options": " ".join(options),
    }
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        value = getattr(settings, key)
        if value:
            connect_args[key] = value
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        connect_args=connect_args,
    )


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    database = url.database or ""
    if database.startswith("file:"):  # an SQLite URI filename (uri=true): its path follows
        database = database.removeprefix("file:").split("?", 1)[0]
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
