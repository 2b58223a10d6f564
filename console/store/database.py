"""The booth's database: one object that opens transactions.

Every read and every change goes through `Store.read()` or `Store.write()`; the
repository functions (`console.store.visits`, `shifts`, `receipts`, `rides`,
`charging`, `cloud_copies`, `outbox`, `audit`...) take the session of the transaction
their caller opened, so a state change, its audit entry and its outbox event always
commit together or not at all.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager
from typing import Any, Callable, Concatenate, Iterator, ParamSpec, TypeVar

from sqlalchemy.engine import Engine, Result
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from console.i18n import N_
from console.store.engine import READ_ONLY, StoreError, explain, mark_clean_close
from console.store.stall import WATCHDOG, stall_timeout_of

log = logging.getLogger(__name__)

__all__ = ["Store", "StoreError", "affected", "database_errors"]

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn driver failures into StoreError with a message for people. Integrity errors
    pass through: the repository that knows the constraint says what it means."""
    try:
        yield
    except IntegrityError:
        raise
    except (OperationalError, sqlite3.OperationalError, DBAPIError) as exc:
        raise StoreError(explain(exc)) from exc


def affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return int(getattr(result, "rowcount", 0) or 0)


class Store:
    """Transactions on one database (SQLite file or PostgreSQL server)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})
        # PostgreSQL: transactions are watched for a server that stops answering.
        self._stall_s = stall_timeout_of(engine)

    @contextmanager
    def _watched(self) -> Iterator[None]:
        if not self._stall_s:
            yield
            return
        watch = WATCHDOG.arm(self._stall_s)
        try:
            yield
        except (StoreError, SQLAlchemyError) as exc:
            if watch.fired:
                raise StoreError(N_("the database did not answer in time (server stalled or unreachable); nothing was recorded")) from exc
            raise
        finally:
            WATCHDOG.disarm(watch)

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits at the end of the block or not at all. On SQLite it
        takes the write lock at its start, so two writers never deadlock."""
        session = Session(self.engine, expire_on_commit=False)
        with self._watched():
            try:
                with database_errors():
                    yield session
                    session.commit()
            except BaseException:
                with database_errors():
                    session.rollback()
                raise
            finally:
                session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: a consistent snapshot that never takes the write lock
        (it is rolled back at the end; nothing written in it is kept)."""
        session = Session(self._reader, expire_on_commit=False)
        with self._watched():
            try:
                with database_errors():
                    yield session
            finally:
                with database_errors():
                    session.rollback()
                session.close()

    def apply(self, change: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one repository change in a transaction of its own: `store.apply(f, x)` is
        `with store.write() as tx: return f(tx, x)`."""
        with self.write() as tx:
            return change(tx, *args, **kwargs)

    def query(self, read: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one repository read in a read-only transaction of its own."""
        with self.read() as tx:
            return read(tx, *args, **kwargs)

    def forget_old_pages(self) -> None:
        """After deleting what must be gone (purged portraits): on SQLite, copy the
        write-ahead log into the file and empty it, so no old copy of a deleted page stays
        in the -wal file (the file itself overwrites deleted content: secure_delete).
        Nothing to do on PostgreSQL, whose vacuum reclaims dead rows."""
        if self.dialect != "sqlite":
            return
        try:
            # Outside any transaction (a checkpoint cannot run in one): the raw connection.
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()
                cursor.close()
            finally:
                raw.close()
            if busy and busy[0]:
                log.warning("write-ahead log not emptied after a purge (readers were busy); the next checkpoint does it")
        except (SQLAlchemyError, sqlite3.Error) as exc:
            log.warning("write-ahead log not emptied after a purge: %s", exc)

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, and in tests)."""
        self.engine.dispose()

    def close_cleanly(self) -> None:
        """Close every pooled connection at the end of a run and note an SQLite file as
        it was left, so the next start need not read all of it (engine.check_integrity)."""
        mark_clean_close(self.engine)
