"""Apply Alembic migrations from code (on start and by `booth migrate`).

Several booths may start at once against one shared database, so an upgrade is serialized
by the database itself: on PostgreSQL a transaction-scoped advisory lock taken before the
current revision is read; on SQLite the write lock BEGIN IMMEDIATE takes (see engine.py).
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from console.locations import migrations_dir
from console.store.engine import StoreError

# The advisory lock every booth takes to migrate ("booth" in ASCII). Advisory locks are
# scoped to one database, so sites sharing a server do not wait for each other.
MIGRATION_LOCK_KEY = 0x626F6F7468


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head_revision() -> str | None:
    """The newest migration shipped with this build."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _serialize(conn: Connection) -> None:
    """Wait, inside `conn`'s transaction, until no other booth is migrating this database."""
    if conn.dialect.name != "postgresql":
        return  # SQLite: the transaction began with BEGIN IMMEDIATE and holds the write lock
    # A migration may wait for another booth's and may rewrite big tables: neither the
    # site's lock timeout nor its statement timeout applies to it (SET LOCAL ends with it).
    conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision. Returns (before, after).

    Safe to call from several processes at once: one migrates, the others wait for it and
    then find the schema at head.
    """
    try:
        head = head_revision()
        if current_revision(engine) == head:
            return head, head
        with engine.begin() as conn:
            _serialize(conn)
            # Read again under the lock: another booth may have migrated meanwhile.
            before = MigrationContext.configure(conn).get_current_revision()
            if before != head:
                cfg = _config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            after = MigrationContext.configure(conn).get_current_revision()
        return before, after
    except DBAPIError as exc:
        from console.store.booth_store import _explain

        raise StoreError(f"cannot migrate the database: {_explain(exc)}") from exc
