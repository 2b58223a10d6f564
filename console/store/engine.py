"""Engine construction. Built by a factory from a URL, never at import time."""

from __future__ import annotations

import fcntl
import importlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlmodel import create_engine

from console.i18n import N_, _
from console.locations import sqlite_url
from console.store.companions import CLOSED, WAL, companion, refuse_missing_books
from console.store.errors import StoreError

__all__ = ["POSTGRES_MISSING", "READ_ONLY", "EngineSettings", "StoreError", "explain", "is_postgresql", "make_engine", "parse_database_url", "sqlite_url"]

# Execution option that marks a read-only transaction: on SQLite it begins DEFERRED, so
# a screen or report reading never waits for (or blocks) a lane writing.
READ_ONLY = "booth_read_only"


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
    # A transaction on PostgreSQL still running after this long is cut from the booth's
    # side (console/store/stall.py): a frozen server or a dead link never fires the
    # server's own timeouts. 0: never.
    stall_timeout_s: float = 20.0

    @property
    def effective_lock_timeout_ms(self) -> int:
        """PostgreSQL's lock_timeout: the one given, else the SQLite busy timeout."""
        return self.busy_timeout_ms if self.lock_timeout_ms is None else self.lock_timeout_ms


def explain(exc: BaseException) -> str:
    """A database failure in words an attendant can act on (catalog messages: the site
    says them in the attendant's language)."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "locked" in text or "busy" in text:
        return N_("the database is busy (locked by another program); nothing was recorded")
    if "readonly" in text or "read-only" in text:
        return N_("the database is read-only; nothing was recorded")
    if "full" in text:
        return N_("the disk is full; nothing was recorded")
    if FILE_GONE in text:
        return N_("the database file was removed or moved while the console runs (put it back where the site file says); nothing was recorded")
    if "disk i/o error" in text:
        return N_("the database file cannot be written (a disk error, or the file was made read-only); nothing was recorded")
    if "unable to open" in text:
        return N_("the database file cannot be opened (no such folder, no permission, or a read-only disk: SQLite must be able to write beside it)")
    if "malformed" in text or "not a database" in text:
        return N_("the database file is damaged")
    return f"database error: {getattr(exc, 'orig', exc)}"


# Said (in English, to the log) by a connection whose database file is no longer the one
# at its path; `explain` turns it into the attendant's words.
FILE_GONE = "database file removed or replaced at its path"


def _identity(path: Path) -> tuple[int, int] | None:
    """The file at `path` (device, inode), or None when nothing is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


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
                raise sqlite3.OperationalError(_("database is locked (a restore is running)")) from None
            time.sleep(0.05)


def parse_database_url(url: str | URL) -> URL:
    """Parse a database URL; `postgres://` and `postgresql://` mean psycopg 3.

    Raises StoreError for text that is not a URL or names a database we do not support.
    """
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        raise StoreError(_("{url!r} is not a database URL (e.g. sqlite:////path/booth.sqlite3 or postgresql://host/db)").format(url=url)) from None
    backend = parsed.get_backend_name()
    if backend == "postgres":  # the scheme libpq and many hosting panels print
        parsed = parsed.set(drivername="postgresql")
        backend = "postgresql"
    if backend == "postgresql":
        driver = parsed.get_driver_name() if "+" in parsed.drivername else ""
        if driver not in _POSTGRES_DRIVERS:
            raise StoreError(_("PostgreSQL driver {driver!r} is not supported; use postgresql+psycopg://").format(driver=driver))
        return parsed.set(drivername=f"postgresql+{_POSTGRES_DRIVERS[driver]}")
    if backend != "sqlite":
        raise StoreError(_("{value}: only SQLite and PostgreSQL databases are supported").format(value=parsed.render_as_string()))
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
        raise StoreError(_("the {module} driver is not installed; use postgresql+psycopg:// ({POSTGRES_MISSING})").format(module=module, POSTGRES_MISSING=POSTGRES_MISSING)) from exc


def make_engine(url: str | URL, settings: EngineSettings | None = None, *, busy_timeout_ms: int | None = None) -> Engine:
    """Create an engine for `url` with the durability settings the booth relies on.

    SQLite: WAL journal, synchronous=FULL (WAL with NORMAL can lose the last commits on
    power loss), foreign keys on, and writers take the lock at BEGIN (IMMEDIATE) so two
    writers never deadlock on an upgrade from read to write. Transactions opened with the
    `READ_ONLY` execution option begin DEFERRED and never take the write lock.
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
    if settings.stall_timeout_s > 0:
        # A dead link or a vanished server host is noticed by the kernel too.
        connect_args.update(keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
                            tcp_user_timeout=int(settings.stall_timeout_s * 1000))
    engine = create_engine(
        url,
        pool_pre_ping=settings.stall_timeout_s <= 0,  # else pinged under the stall watch
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        connect_args=connect_args,
    )
    if settings.stall_timeout_s > 0:
        from console.store.stall import watch_engine

        watch_engine(engine, settings.stall_timeout_s)
    return engine


def _set_wal(cursor: sqlite3.Cursor, busy_timeout_ms: int) -> None:
    """Switch to write-ahead logging. On a fresh file two booths starting together race
    for it, and SQLite answers "locked" at once, without its busy handler: wait here."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    database = url.database or ""
    uri_filename = database.startswith("file:")
    if uri_filename:  # an SQLite URI filename (uri=true): its path follows
        database = database.removeprefix("file:").split("?", 1)[0]
    file: Path | None = None
    if database and database != ":memory:":
        directory = Path(database).expanduser().parent
        if not directory.exists():
            try:
                # Takings and attendants' PIN hashes: only the booth's user reads them.
                directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise StoreError(_("cannot create database directory {directory}: {strerror}").format(directory=directory, strerror=exc.strerror)) from exc
        path = Path(database).expanduser()
        if not uri_filename:
            file = path
            # Here, where the file would be created, so no opener (migrate, reports, the
            # console) can start new books over a database that went missing.
            refuse_missing_books(path)
            if not path.exists():
                try:  # SQLite gives its -wal and -shm files the database file's mode
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                except OSError:
                    pass  # SQLite reports what is wrong when it opens the file

    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000})
    # The file the open connections write to. Removed or renamed while they are open,
    # SQLite would go on committing to a file nobody will open again (a payment "saved"
    # and lost at the next start), and a new connection would create an empty one in its
    # place: both are refused until the file is back.
    opened: dict[str, Any] = {"identity": None, "live": 0}
    counting = threading.Lock()

    if file is not None:
        watched = file

        @event.listens_for(engine, "do_connect")
        def _same_file(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
            if opened["live"] > 0 and _identity(watched) != opened["identity"]:
                raise sqlite3.OperationalError(FILE_GONE)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, record: Any) -> None:
        if file is not None:
            with counting:
                opened["live"] += 1
                if opened["live"] == 1:
                    opened["identity"] = _identity(file)
                record.info["booth_file"] = opened["identity"]
            fd = _take_shared_lock(file, busy_timeout_ms)
            if fd is not None:
                record.info["booth_lock"] = fd
        # Let SQLAlchemy's begin event, not the sqlite3 module, start transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            _set_wal(cursor, busy_timeout_ms)
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Deleted content (purged portraits, pruned events) is overwritten, not left in
            # free pages of the file.
            cursor.execute("PRAGMA secure_delete=ON")
        finally:
            cursor.close()

    def _release(_dbapi_connection: Any, record: Any) -> None:
        if record.info.pop("booth_file", False) is not False:
            with counting:
                opened["live"] -= 1
        fd = record.info.pop("booth_lock", None)
        if fd is not None:
            os.close(fd)

    event.listen(engine, "close", _release)
    event.listen(engine, "close_detached", _release)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        if file is not None and not read_only and _identity(file) != connection.connection.info.get("booth_file"):
            raise sqlite3.OperationalError(FILE_GONE)
        sql = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        # Straight to the driver: a full statement execution here would cost more than the
        # whole read that follows (listeners still hear it, as they hear every statement).
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            for listener in connection.dispatch.before_cursor_execute:
                listener(connection, cursor, sql, (), None, False)
            cursor.execute(sql)
        except sqlite3.Error as exc:  # as SQLAlchemy's own error, like every other statement's
            raise DBAPIError.instance(sql, (), exc, sqlite3.Error) from exc
        finally:
            cursor.close()

    return engine


def _sqlite_file(engine: Engine) -> Path | None:
    if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(str(engine.url.database))


def _closed_marker(path: Path) -> Path:
    return companion(path, CLOSED)


def _file_stamp(path: Path) -> str | None:
    """What identifies the file as it was left: size, modification time and SQLite's
    change counter (header bytes 24-27). None while a write-ahead log holds changes."""
    wal = companion(path, WAL)
    try:
        if wal.exists() and wal.stat().st_size > 0:
            return None
        stat = path.stat()
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}:{header[24:28].hex()}"


def mark_clean_close(engine: Engine) -> None:
    """After the console's last connection closed: note the SQLite file as it was left,
    so the next start may skip reading every page when nothing touched it since."""
    path = _sqlite_file(engine)
    if path is None:
        return
    engine.dispose()
    stamp = _file_stamp(path)
    if stamp is not None:
        try:
            _closed_marker(path).write_text(stamp, encoding="ascii")
        except OSError:
            pass  # no marker: the next start checks the whole file, as without one


def check_integrity(engine: Engine) -> str:
    """Refuse a damaged SQLite file, naming the way back (a verified backup). Returns
    "checked", or "unchanged" when the file is exactly as the console left it at a clean
    close (then its pages are not read again: on a year of visits that is seconds), or
    "not a file" for PostgreSQL and memory databases.

    The note of a clean close is removed first, so a start that crashes leaves none and
    the next start reads every page; any write by anyone since the close (a new size,
    time or change counter, or a write-ahead log) means a full check as well."""
    path = _sqlite_file(engine)
    if path is None:
        return "not a file"
    marker = _closed_marker(path)
    try:
        left = marker.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        left = None
    if left is not None:
        try:
            marker.unlink()
        except OSError:
            left = None  # a marker that cannot be removed is not trusted
    if left is not None and left == _file_stamp(path):
        return "unchanged"
    try:
        with engine.connect() as conn:
            problems = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
    except DBAPIError as exc:
        problems = [str(exc.orig)]
    if problems != ["ok"]:
        raise StoreError(_(
            "the database {file} is damaged ({problem}); nothing was changed. Stop every booth program, then restore "
            "the last good backup: `booth restore FILE` (`booth backup --status` names the newest)"
        ).format(file=engine.url.database, problem="; ".join(problems)[:300]))
    return "checked"
