"""The site's write lock on a shared PostgreSQL database.

Several booths write to one database. Changes whose correctness depends on what the
others wrote just before (the next audit entry's number and hash, a zone's last free
space, a plate's open visit) are made under one transaction-level advisory lock per
site: taken before the read they depend on and released by the commit or rollback.
SQLite needs nothing: its write transactions already hold the database's write lock
from `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

__all__ = ["SITE_WRITE_LOCK_KEY", "lock_site_writes"]

# "booth-w" in ASCII; distinct from the migration lock ("booth"). Advisory lock keys
# share one namespace per database, so the value is chosen to be unlikely elsewhere.
SITE_WRITE_LOCK_KEY = 0x626F6F74682D77

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


_HELD = "booth_site_lock"  # session.info key: the transaction that holds the lock


def lock_site_writes(db: Session) -> None:
    """Serialize this transaction's dependent writes with every other booth's.

    On PostgreSQL, waits for the site's advisory lock and holds it until the caller's
    transaction ends; asked again in the same transaction, it costs nothing (no second
    round trip while every other booth waits). On SQLite, does nothing: the write
    transaction already excludes every other writer."""
    conn = db.connection()
    if conn.dialect.name != "postgresql":
        return
    transaction = db.get_transaction()
    if transaction is not None and db.info.get(_HELD) is transaction:
        return
    conn.execute(_LOCK, {"key": SITE_WRITE_LOCK_KEY})
    db.info[_HELD] = transaction
