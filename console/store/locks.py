"""The site's write lock on a shared PostgreSQL database.

Several booths write to one database. Changes whose correctness depends on what the
others wrote just before (the next audit entry's number and hash, a zone's last free
space, a plate's open visit) are made under one transaction-level advisory lock per
site: taken before the read they depend on and released by the commit or rollback.
SQLite needs nothing: its write transactions already hold the database's write lock
from `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from console.store.database import database_errors

__all__ = ["OUTBOX_DRAIN_LOCK_KEY", "SITE_WRITE_LOCK_KEY", "brief_waits_if_locked", "holds_site_lock", "lock_site_writes", "outbox_drain_turn"]

# "booth-w" in ASCII; distinct from the migration lock ("booth"). Advisory lock keys
# share one namespace per database, so the value is chosen to be unlikely elsewhere.
SITE_WRITE_LOCK_KEY = 0x626F6F74682D77

# "booth-o": one booth at a time sends the shared outbox to the cloud.
OUTBOX_DRAIN_LOCK_KEY = 0x626F6F74682D6F

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_TRY_SESSION_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_SESSION_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


_HELD = "booth_site_lock"  # session.info key: the transaction that holds the lock

# How long a transaction holding the site's lock waits for a row (see brief_waits_if_locked):
# well under PostgreSQL's deadlock_timeout (1 s by default).
SHORT_WAIT_MS = 200


def lock_site_writes(db: Session) -> None:
    """Serialize this transaction's dependent writes with every other booth's.

    On PostgreSQL, waits for the site's advisory lock and holds it until the caller's
    transaction ends; asked again in the same transaction, it costs nothing (no second
    round trip while every other booth waits). On SQLite, does nothing: the write
    transaction already excludes every other writer."""
    conn = db.connection()
    if conn.dialect.name != "postgresql":
        return
    if holds_site_lock(db):
        return
    transaction = db.get_transaction()
    conn.execute(_LOCK, {"key": SITE_WRITE_LOCK_KEY})
    db.info[_HELD] = transaction


def holds_site_lock(db: Session) -> bool:
    """Whether this transaction already holds the site's write lock (never on SQLite)."""
    transaction = db.get_transaction()
    return transaction is not None and db.info.get(_HELD) is transaction


@contextmanager
def brief_waits_if_locked(db: Session, ms: int = SHORT_WAIT_MS) -> Iterator[None]:
    """Inside the block, a transaction that holds the site's lock waits at most `ms` for
    a row another transaction holds.

    An entry writes its open visit before it takes the site's lock (`record_entry`). A
    transaction that took the lock first and then writes an open visit of the same plate
    would wait for that entry while the entry waits for the lock: a deadlock, which the
    server breaks after a second by failing one of them, often the lane's entry. With the
    wait bounded well under that, the lock holder gives up instead (its caller retries,
    as the emergency journal's merge does) and the lane's entry goes through. Outside
    the lock, or on SQLite, the block runs as it is."""
    if not holds_site_lock(db):
        yield
        return
    conn = db.connection()
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(ms)}")
    yield
    # Not on an error: the transaction is abandoned then, and its SET LOCAL with it.
    conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")


@contextmanager
def outbox_drain_turn(engine: Engine) -> Iterator[bool]:
    """Whether this booth's sync pump may send the shared outbox now (True) or another
    booth is sending it (False), held for the block.

    Booths sharing one PostgreSQL database share one outbox; sending it from all of them
    at once would post every page several times (the cloud counts each event once, but
    the link and the cloud pay for each copy, and the pages race each other). So one
    booth drains at a time, under a session-level advisory lock that is never waited for:
    a booth that finds it taken leaves the page to the one sending it. The server drops
    the lock with the connection, so a booth killed or cut off mid-drain hands over by
    itself. On SQLite, one database is one booth's: always True."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with database_errors():
        conn = engine.connect()
    try:
        with database_errors():
            got = bool(conn.execute(_TRY_SESSION_LOCK, {"key": OUTBOX_DRAIN_LOCK_KEY}).scalar())
            conn.commit()  # the lock outlives the transaction; no transaction left idle
    except BaseException:
        conn.close()
        raise
    try:
        yield got
    finally:
        if got:
            try:
                conn.execute(_SESSION_UNLOCK, {"key": OUTBOX_DRAIN_LOCK_KEY})
                conn.commit()
            except DBAPIError:
                # Not released: the connection must not go back to the pool holding it.
                conn.invalidate()
        conn.close()
