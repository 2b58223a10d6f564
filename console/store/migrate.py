"""Apply Alembic migrations from code (on start and by `booth migrate`).

An upgrade of a database that already holds data is preceded by a verified backup (SQLite
files: into `backups/` beside the database), so a new version that goes wrong can be rolled
back with `booth restore`. A database at a revision this build does not know was written
by a newer booth: it is refused, never "downgraded" by accident.

Several booths may start at once against one shared database, so an upgrade is serialized
by the database itself: on PostgreSQL a transaction-scoped advisory lock taken before the
current revision is read; on SQLite the write lock BEGIN IMMEDIATE takes (see engine.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from importlib import metadata

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from console.i18n import _
from console.locations import migrations_dir
from console.store.engine import StoreError, explain

log = logging.getLogger(__name__)


class SchemaTooNew(StoreError):
    """The database was written by a newer booth (a schema revision this build lacks)."""


def booth_version() -> str:
    """The installed booth's version."""
    try:
        return metadata.version("booth")
    except metadata.PackageNotFoundError:
        return "(not installed)"

# The advisory lock every booth takes to migrate ("booth" in ASCII). Advisory locks are
# scoped to one database, so sites sharing a server do not wait for each other.
MIGRATION_LOCK_KEY = 0x626F6F7468


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str | None:
    """The newest migration shipped with this build."""
    return _script().get_current_head()


def is_known_revision(revision: str) -> bool:
    """Whether this build ships the migration `revision`."""
    try:
        return _script().get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_known(revision: str | None) -> None:
    """Refuse a database whose schema is newer than this build (SchemaTooNew)."""
    if revision is None or is_known_revision(revision):
        return
    raise SchemaTooNew(
        f"the database is at schema revision {revision}, written by a newer booth; this is booth "
        f"{booth_version()}, whose newest schema revision is {head_revision()}. Nothing was changed: "
        "install the newer booth again, or restore a backup this version made (`booth restore FILE`)."
    )


def _backup_before_upgrade(engine: Engine, before: str, head: str | None) -> None:
    from console.store.backup import (
        BackupError,
        local_backup_dir,
        sqlite_file,
        take_backup,
    )

    database = sqlite_file(str(engine.url))
    if database is None:
        if engine.url.get_backend_name() != "sqlite":
            log.warning("upgrading the database from %s to %s; take a pg_dump first (see packaging/INSTALL.md)", before, head)
        return
    try:
        backup = take_backup(database, local_backup_dir(database), datetime.now(timezone.utc), label=f"before-{head}")
    except BackupError as exc:
        raise StoreError(_("the database was not upgraded from {before} to {head}: no backup could be taken first ({exc})").format(before=before, head=head, exc=exc)) from None
    log.info("database backed up to %s before the upgrade from %s to %s", backup.path, before, head)


def _serialize(conn: Connection) -> None:
    """Wait, inside `conn`'s transaction, until no other booth is migrating this database."""
    if conn.dialect.name != "postgresql":
        return  # SQLite: the transaction began with BEGIN IMMEDIATE and holds the write lock
    # A migration may wait for another booth's and may rewrite big tables: neither the
    # site's lock timeout nor its statement timeout applies to it (SET LOCAL ends with it).
    conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(engine: Engine, *, backup: bool = True) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision. Returns (before, after).

    A database with data is backed up first (`backup`); one from a newer booth is refused
    with SchemaTooNew. Safe to call from several processes at once: one migrates, the
    others wait for it and then find the schema at head.
    """
    try:
        head = head_revision()
        before = current_revision(engine)
        check_known(before)
        if before == head:
            return head, head
        if backup and before is not None:
            _backup_before_upgrade(engine, before, head)
        with engine.begin() as conn:
            _serialize(conn)
            # Read again under the lock: another booth may have migrated meanwhile.
            before = MigrationContext.configure(conn).get_current_revision()
            check_known(before)
            if before != head:
                cfg = _config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            after = MigrationContext.configure(conn).get_current_revision()
        return before, after
    except DBAPIError as exc:
        raise StoreError(_("cannot migrate the database: {exc}").format(exc=explain(exc))) from exc
