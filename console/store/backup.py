"""Online, consistent copies of the booth's SQLite database, checked before they count.

A copy is made with SQLite's backup API while the console keeps running (in WAL mode the
copy's read transaction does not hold up the lanes' writes), written as a single
self-contained file, then verified: `PRAGMA integrity_check` and the audit chain. Only a
verified copy gets its final name `booth-YYYYMMDDTHHMMSSZ[-label].sqlite3`, so every file
with that name is a good backup.

A restore never overwrites the live database: the old files are moved aside into
`replaced/` next to it, then the verified copy takes their place.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from console.i18n import _
from console.store.audit import verify_chain
from console.store.companions import CLOSED, companion
from console.store.engine import StoreError, lock_file
from console.store.tables import AuditRow

_NAME = re.compile(r"^booth-(\d{8}T\d{6}Z)(?:-([A-Za-z0-9_.-]+))?\.sqlite3$")
_STAMP = "%Y%m%dT%H%M%SZ"
_AUDIT_TABLE = AuditRow.__table__.name  # type: ignore[attr-defined]

KnownRevision = Callable[[str], bool]


class BackupError(StoreError):
    """A backup could not be made or does not verify."""


class RestoreRefused(StoreError):
    """A restore was refused; the live database is unchanged."""


@dataclass(frozen=True, slots=True)
class BackupFile:
    """A verified backup in a backup folder."""

    path: Path
    taken_at: datetime
    label: str = ""


@dataclass(frozen=True, slots=True)
class Verification:
    """What checking a database copy found."""

    ok: bool
    problem: str = ""
    revision: str | None = None
    audit_entries: int = 0


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A finished restore: what was restored and where the replaced files went."""

    restored: Path
    verification: Verification
    replaced: tuple[Path, ...]


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL; None for other databases and in-memory ones."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - any unreadable URL is "not a file"
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def local_backup_dir(database: Path) -> Path:
    """Where backups go when no folder is configured (before upgrades): beside the database."""
    return database.parent / "backups"


def replaced_dir(database: Path) -> Path:
    """Where a restore moves the database it replaces."""
    return database.parent / "replaced"


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_database(source: Path, target: Path) -> None:
    """Copy a live database to `target` with the backup API, as one self-contained file
    (journal mode DELETE, no -wal beside it), fsynced. Raises sqlite3 / OS errors."""
    if not source.is_file():
        raise FileNotFoundError(_("{source}: no such database file").format(source=source))
    # mode=rw: never create an empty database where the live one should be.
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # one step: a consistent snapshot of the source
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    _fsync(target)


def verify_copy(path: Path) -> Verification:
    """Check a database file: SQLite's integrity check, then the audit chain."""
    if not path.is_file():
        return Verification(False, f"{path}: no such file")
    try:
        con = _read_only(path)
        try:
            result = [row[0] for row in con.execute("PRAGMA integrity_check").fetchall()]
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision = None
            if "alembic_version" in tables:
                row = con.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return Verification(False, f"not a readable SQLite database ({exc})")
    if result != ["ok"]:
        return Verification(False, "integrity check failed: " + "; ".join(result[:3]), revision)
    if _AUDIT_TABLE not in tables:
        return Verification(True, "", revision, 0)
    engine = create_engine("sqlite://", creator=lambda: _read_only(path), poolclass=NullPool)
    try:
        with Session(engine) as session:
            chain = verify_chain(session)
    except Exception as exc:  # noqa: BLE001 - a copy that cannot be read is a failed check
        return Verification(False, f"the audit chain cannot be read ({exc})", revision)
    finally:
        engine.dispose()
    if not chain.ok:
        return Verification(False, f"audit chain broken: {chain.problem}", revision, chain.entries)
    return Verification(True, "", revision, chain.entries)


def _free_name(folder: Path, now: datetime, label: str) -> Path:
    moment = now.astimezone(timezone.utc).replace(microsecond=0)
    while True:
        name = f"booth-{moment:{_STAMP}}" + (f"-{label}" if label else "") + ".sqlite3"
        if not (folder / name).exists():
            return folder / name
        moment += timedelta(seconds=1)


def take_backup(source: Path, folder: Path, now: datetime, *, label: str = "") -> BackupFile:
    """Copy `source` into `folder`, verify the copy, and only then give it its final name
    (mode 0600). Raises BackupError with a message for people; nothing half-made is left."""
    if label and not re.fullmatch(r"[A-Za-z0-9_.-]+", label):
        raise ValueError(_("backup label {label!r}: letters, digits, '.', '_' and '-' only").format(label=label))
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError(_("cannot create the backup folder {folder}: {value}").format(folder=folder, value=exc.strerror or exc)) from None
    final = _free_name(folder, now, label)
    partial = folder / f".{final.name}.partial"
    try:
        copy_database(source, partial)
        os.chmod(partial, 0o600)
        check = verify_copy(partial)
        if not check.ok:
            raise BackupError(_("the copy of {source} does not verify: {problem}; the database may be damaged").format(source=source, problem=check.problem))
        os.replace(partial, final)
        _fsync(folder)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(_("cannot back {source} up to {folder}: {value}").format(source=source, folder=folder, value=getattr(exc, 'strerror', None) or exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupFile(final, now.astimezone(timezone.utc).replace(microsecond=0), label)


def list_backups(folder: Path) -> list[BackupFile]:
    """The verified backups in `folder`, oldest first (an absent folder has none)."""
    found: list[BackupFile] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return found
    for path in entries:
        match = _NAME.match(path.name)
        if match and path.is_file():
            taken = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=timezone.utc)
            found.append(BackupFile(path, taken, match.group(2) or ""))
    return sorted(found, key=lambda b: (b.taken_at, b.path.name))


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete the oldest scheduled backups beyond the newest `keep`; labelled ones (taken
    before an upgrade) stay. Returns what was deleted."""
    scheduled = [b for b in list_backups(folder) if not b.label]
    doomed = scheduled[: max(0, len(scheduled) - keep)]
    for backup in doomed:
        backup.path.unlink(missing_ok=True)
    return [b.path for b in doomed]


def _exclusive(database: Path) -> int:
    """Take the database's lock exclusively, or refuse: someone has it open."""
    try:
        fd = os.open(lock_file(database), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise RestoreRefused(_("cannot lock {database}: {value}").format(database=database, value=exc.strerror or exc)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RestoreRefused(_("{database} is in use (stop the console first: `systemctl stop booth`); nothing was changed").format(database=database)) from None
    return fd


def restore(copy: Path, database: Path, now: datetime, *, known_revision: KnownRevision) -> RestoreResult:
    """Put a verified copy in place of the live database.

    Refuses (RestoreRefused, nothing changed) a copy that does not verify, one with a
    schema this build does not know, or a database some program has open. The live files
    (database, -wal, -shm) are moved, unchanged, into `replaced/`."""
    check = verify_copy(copy)
    if not check.ok:
        raise RestoreRefused(_("{copy}: {problem}; the live database was not changed").format(copy=copy, problem=check.problem))
    if check.revision is not None and not known_revision(check.revision):
        raise RestoreRefused(_("{copy}: schema revision {revision} is newer than this booth knows; the live database was not changed").format(copy=copy, revision=check.revision))
    database.parent.mkdir(parents=True, exist_ok=True)
    fd = _exclusive(database)
    try:
        partial = database.with_name(f".{database.name}.restoring")
        try:
            src = _read_only(copy)
            try:
                dst = sqlite3.connect(partial)
                try:
                    src.backup(dst)
                    dst.execute("PRAGMA journal_mode=WAL")
                finally:
                    dst.close()
            finally:
                src.close()
            os.chmod(partial, 0o600)
            _fsync(partial)
            moved = _move_aside(database, now)
            os.replace(partial, database)
            _fsync(database.parent)
        except (OSError, sqlite3.Error) as exc:
            raise RestoreRefused(_("cannot restore {copy}: {value}; the live database was not changed").format(copy=copy, value=getattr(exc, 'strerror', None) or exc)) from None
        finally:
            partial.unlink(missing_ok=True)
    finally:
        os.close(fd)
    return RestoreResult(copy, check, moved)


def _move_aside(database: Path, now: datetime) -> tuple[Path, ...]:
    """Move the live database and its -wal / -shm, byte for byte, into `replaced/`."""
    # The note of the old file's clean close does not describe the restored one.
    companion(database, CLOSED).unlink(missing_ok=True)
    if database.exists():
        try:
            # Nobody else has it open (we hold the lock): closing the only connection
            # folds the WAL into the file, so one file holds the whole old database.
            con = sqlite3.connect(f"file:{quote(str(database))}?mode=rw", uri=True)
            try:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                con.close()
        except sqlite3.Error:
            pass  # a damaged database: its -wal and -shm move with it below
    files = [p for p in (Path(f"{database}-wal"), Path(f"{database}-shm"), database) if p.exists()]
    if not files:
        return ()
    folder = replaced_dir(database)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    base = f"{database.stem}-{now.astimezone(timezone.utc):{_STAMP}}{database.suffix}"
    while (folder / base).exists():
        base = "x" + base
    moved = []
    for path in files:
        target = folder / (base + path.name[len(database.name):])
        try:
            os.replace(path, target)
        except OSError:  # another file system: copy, then remove
            shutil.copy2(path, target)
            path.unlink()
        moved.append(target)
    return tuple(moved)

