"""The files the console keeps beside an SQLite database, named after it.

They belong to that database's books: the write-ahead log, the note of a clean close,
the audit chain's anchors and the emergency journal. One list here, so that whatever
removes a database (a fresh demo) removes them with it, and whatever opens one can tell
that books were kept at a path whose database is gone.
"""

from __future__ import annotations

from pathlib import Path

from console.i18n import _
from console.store.errors import StoreError

WAL = "-wal"
SHM = "-shm"
CLOSED = ".closed"
ANCHORS = ".anchors.jsonl"
EMERGENCY_JOURNAL = ".emergency.jsonl"
# The lock file (`.lock`) is left out: every connection creates it, before SQLite
# creates the database itself, so it says nothing about books having been kept.
COMPANION_SUFFIXES = (WAL, SHM, CLOSED, ANCHORS, EMERGENCY_JOURNAL)


def companion(database: Path, suffix: str) -> Path:
    """The companion file of `database` with `suffix` (one of the constants above)."""
    return database.with_name(database.name + suffix)


def remove_database_files(database: Path) -> None:
    """Remove an SQLite database and every companion file (a fresh demo's books)."""
    for path in (database, *(companion(database, suffix) for suffix in COMPANION_SUFFIXES)):
        path.unlink(missing_ok=True)


def traces_of_books(database: Path) -> list[Path]:
    """What shows that books were kept in `database`: its non-empty companion files.
    (Backups are not counted: their names do not say which database they copy.)"""
    traces = []
    for suffix in (WAL, CLOSED, ANCHORS, EMERGENCY_JOURNAL):
        path = companion(database, suffix)
        try:
            if path.stat().st_size > 0:
                traces.append(path)
        except OSError:
            continue
    return traces


def refuse_missing_books(database: Path) -> None:
    """Raise StoreError when `database` is missing (or empty) but its books were kept
    there: creating a new empty file would start the site's books again from nothing
    (occupancy, drawers and the audit chain gone) without anyone deciding it."""
    try:
        if database.stat().st_size > 0:
            return
    except FileNotFoundError:
        pass
    except OSError:
        return  # cannot tell; opening it says what is wrong
    traces = traces_of_books(database)
    if not traces:
        return
    shown = ", ".join(str(path) for path in traces)
    raise StoreError(_(
        "the database {file} is missing, but this booth kept its books there ({traces}); nothing was created. "
        "Restore the last good backup: `booth restore FILE` (`booth backup --status` names the newest). "
        "To begin new books on purpose, first move those files into another folder"
    ).format(file=database, traces=shown))
