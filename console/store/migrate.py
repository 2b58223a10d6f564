"""Apply Alembic migrations from code (on start and by `booth migrate`).

An upgrade of a database that already holds data is preceded by a verified backup (SQLite
files: into `backups/` beside the database), so a new version that goes wrong can be rolled
back with `booth restore`. A database at a revision this build does not know was written
by a newer booth: it is refused, never "downgraded" by accident.
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
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

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
        raise StoreError(f"the database was not upgraded from {before} to {head}: no backup could be taken first ({exc})") from None
    log.info("database backed up to %s before the upgrade from %s to %s", backup.path, before, head)


def upgrade(engine: Engine, *, backup: bool = True) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision. Returns (before, after).

    A database with data is backed up first (`backup`); one from a newer booth is
    refused with SchemaTooNew."""
    try:
        before = current_revision(engine)
        head = head_revision()
        check_known(before)
        if before == head:
            return before, head
        if backup and before is not None:
            _backup_before_upgrade(engine, before, head)
        cfg = _config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return before, current_revision(engine)
    except DBAPIError as exc:
        raise StoreError(f"cannot migrate the database: {explain(exc)}") from exc
