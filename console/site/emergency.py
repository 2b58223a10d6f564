"""The emergency journal: barriers moved by hand while the database cannot be written.

A manual open never waits for the database. When its record cannot be committed it is
appended to a small local file instead (one JSON line, flushed and fsynced before the
barrier moves), and merged into the database, with its audit entry and outbox event, as
soon as the database takes writes again. Each line carries the record's id, so a merge
interrupted after its commit (the process killed before the file was emptied) applies
nothing twice: the next merge finds the record and skips it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from console.i18n import _
from console.store import gate_actions
from console.store.database import Store
from console.store.errors import StoreError
from console.store.ids import new_id
from console.store.tables import GateActionRow

log = logging.getLogger(__name__)


class EmergencyJournal:
    """Manual barrier moves waiting for the database, kept in `path` (JSON lines)."""

    def __init__(self, path: Path, store: Store, *, retry_s: float = 5.0, merged: Callable[[int], None] = lambda n: None) -> None:
        self.path = path
        self.store = store
        self.retry_s = retry_s
        self._merged = merged
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # How many moves wait, kept in memory so the status bar can show it without I/O.
        self.pending_count = len(self._read())

    # -- writing ---------------------------------------------------------------------------
    def append(self, *, action_id: str, lane: str, action: str, reason: str, note: str, actor: str, at: datetime, plate: str | None) -> None:
        """Keep one manual move on disk (fsynced) before the barrier moves. Raises OSError
        when even the local disk refuses (the caller then says so and does not move)."""
        line = json.dumps({"id": action_id, "lane": lane, "action": action, "reason": reason, "note": note, "actor": actor,
                           "at": at.isoformat(), "plate": plate}, ensure_ascii=False)
        with self._lock:
            created = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
            if created:  # the new file's name must survive a power cut too
                _fsync_dir(self.path.parent)
            self.pending_count += 1

    def pending(self) -> list[dict[str, Any]]:
        """The moves not merged yet, oldest first (a torn last line, from a crash while
        it was written, was never acted on and is left out)."""
        with self._lock:
            return self._read()

    def _read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries: list[dict[str, Any]] = []
        for raw in text.splitlines():
            try:
                entries.append(json.loads(raw))
            except json.JSONDecodeError:
                log.warning("emergency journal %s: unreadable line skipped: %r", self.path, raw[:80])
        return entries

    # -- merging ----------------------------------------------------------------------------
    def merge(self) -> int:
        """Write every pending move into the database (each in its own transaction, with
        its audit entry), then empty the file. Returns how many were written now; stops
        at the first database failure and keeps the rest for the next try."""
        with self._lock:
            entries = self._read()
            if not entries:
                return 0
            written = 0
            try:
                for entry in entries:
                    if self._record_once(entry):
                        written += 1
            except StoreError as exc:
                log.info("emergency journal not merged yet: %s", exc)
                self.pending_count = len(entries)
                return written
            # Everything is in the database: empty the file (a crash before this line
            # leaves entries the next merge finds already recorded).
            with open(self.path, "w", encoding="utf-8") as f:
                f.flush()
                os.fsync(f.fileno())
            self.pending_count = 0
        if written:
            self._merged(written)
        return written

    def _record_once(self, entry: dict[str, Any]) -> bool:
        """One journal line into the database, unless an earlier merge wrote it."""
        with self.store.write() as tx:
            if tx.get(GateActionRow, entry["id"]) is not None:
                return False
            gate_actions.record_gate_action(
                tx, action_id=entry["id"], lane=entry["lane"], action=entry["action"], reason=entry["reason"],
                note=(entry["note"] + " (emergency journal)").strip()[:200], actor=entry["actor"],
                at=datetime.fromisoformat(entry["at"]), plate=entry["plate"],
            )
        return True

    # -- retrying in the background ------------------------------------------------------------
    def start(self) -> None:
        """Merge what an earlier run left, then retry every `retry_s` while moves wait."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="emergency-journal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop retrying (pending moves stay on disk). Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                self.merge()
            except Exception:  # never let the retry loop die silently
                log.exception("emergency journal merge failed")
            if self._stop.wait(self.retry_s):
                return


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def keep_in_journal(
    journal: EmergencyJournal, failure: StoreError, *, lane: str, action: str, reason: str, note: str, actor: str, at: datetime, plate: str | None
) -> str:
    """A manual move the database refused (`failure`), kept in the journal instead.
    Returns its record id; raises StoreError naming both failures when the local disk
    refuses too (then the barrier does not move)."""
    action_id = new_id()
    try:
        journal.append(action_id=action_id, lane=lane, action=action, reason=reason, note=note, actor=actor, at=at, plate=plate)
    except OSError as exc:
        raise StoreError(_("{why}; the emergency journal cannot be written either: {error}").format(why=_(str(failure)), error=exc.strerror or exc)) from exc
    return action_id
