"""The emergency journal: what the booth decided while the database could not be written.

The barrier never waits for the database. When a decision's record cannot be committed
(the database locked, read-only, full, or the shared server cut off) the decision is
appended to a small local file instead, one JSON line, flushed and fsynced before the
barrier moves, and merged into the database, with its audit entry and outbox event, as
soon as the database takes writes again. A line is one of the booth's decisions:

- `gate`: a barrier moved by hand (lane, open or close, reason, note, plate);
- `exit`: a decided exit: the stay (visit, plate, lane, time), the fee and the tariff it
  was quoted from, what was taken (method, amount, tendered, change, reference), who
  took it and why; merged as the exit's settlement, with the ticket's id as its
  idempotency key, so it pays once;
- `entry`: a vehicle let in by hand with its plate read: merged as its visit;
- `left`: a vehicle let out by hand with its plate read but no fee quoted (the stay
  could not be looked up): listed for the manager, its visit stays open.

Each line carries an id. Its merge is one transaction that writes the records and an
`emergency.merged` audit entry for that id; a merge finds that entry first and skips the
line, so a merge cut short after its commit (the process killed before the file was
rewritten) applies nothing twice. What the database cannot take as decided (the stay
settled at another booth meanwhile, the plate already inside) is written as a conflict
for the manager (`booth emergency conflicts`), never as a second payment or visit.

Emergency mode: after a write failed, the booth says so on the status bar and sends
manual moves and decided exits straight to the journal (a frozen server would make each
wait for the stall timeout); the background thread merges every `retry_s`, and once the
database takes a write again (a merge, or a probe when nothing waits) the mode ends.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from console.domain.errors import DomainError
from console.domain.money import Money
from console.domain.payments import NewPayment
from console.domain.quote import Quote
from console.i18n import N_, _, ngettext
from console.site.bus import Level
from console.store import emergency_records, gate_actions, shifts, visits
from console.store.database import Store
from console.store.errors import StoreError
from console.store.ids import new_id
from console.store.locks import lock_site_writes
from console.store.tables import GateActionRow

log = logging.getLogger(__name__)

VERSION = 2

# How each kind of conflict is named for the manager (the details follow it).
CONFLICT_KINDS = {
    "settled_elsewhere": N_("settled at another booth meanwhile: what was taken here is NOT booked"),
    "entered_twice": N_("entered twice: the plate was already inside; no second visit"),
    "left_unsettled": N_("let out by hand with no fee taken: the visit stays open"),
    "refused": N_("the database refused the record"),
}

Report = Callable[[Level, str], None]


class EmergencyJournal:
    """Decisions waiting for the database, kept in `path` (JSON lines), merged by a thread."""

    def __init__(self, path: Path, store: Store, *, booth_id: str = "booth-1", retry_s: float = 5.0, report: Report = lambda severity, text: None,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.path = path
        self.store = store
        self.booth_id = booth_id
        self.retry_s = retry_s
        self._report = report
        self._now = now
        self._lock = threading.Lock()  # the file
        self._merging = threading.Lock()  # one merge at a time
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Why the booth is in emergency mode (a catalog message), None when it is not.
        self.offline_why: str | None = None
        self.conflict_count = 0  # open conflicts, as of the last merge
        self._repair_tail()
        # How many decisions wait, kept in memory so the status bar can show it without I/O.
        self.pending_count = len(self._read())

    # -- emergency mode --------------------------------------------------------------------
    @property
    def offline(self) -> bool:
        """The database failed a write and has not taken one since."""
        return self.offline_why is not None

    def note_failure(self, why: str) -> None:
        """A write failed (`why`, a catalog message): the booth is in emergency mode."""
        entering = self.offline_why is None
        self.offline_why = why
        if entering:
            log.warning("emergency mode: %s", why)
            self._report("error", _("EMERGENCY MODE: the database cannot be written ({why}); barriers and decided exits go to the local journal").format(why=_(why)))

    def _back_online(self) -> None:
        if self.offline_why is not None:
            self.offline_why = None
            log.info("emergency mode over: the database takes writes again")
            self._report("info", _("the database takes writes again: emergency mode is over"))

    # -- writing ---------------------------------------------------------------------------
    def append_line(self, line: dict[str, Any]) -> None:
        """Keep one decision on disk (fsynced) before it takes effect. Raises OSError when
        even the local disk refuses (the caller then says so and does not act)."""
        data = (json.dumps({"v": VERSION, **line}, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock, _file_lock(self.path):
            created = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:  # the new file's name must survive a power cut too
                _fsync_dir(self.path.parent)
            self.pending_count += 1
        self._wake.set()

    def append(self, *, action_id: str, lane: str, action: str, reason: str, note: str, actor: str, at: datetime, plate: str | None) -> None:
        """Keep one manual barrier move (and nothing else) on disk; see `append_line`."""
        self.append_line(gate_line(action_id, lane=lane, action=action, reason=reason, note=note, actor=actor, at=at, plate=plate))

    def pending(self) -> list[dict[str, Any]]:
        """The decisions not merged yet, oldest first (a torn last line, from a crash while
        it was written, was never acted on and is left out)."""
        with self._lock:
            return self._read()

    def _read(self) -> list[dict[str, Any]]:
        try:
            raw_text = self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        entries: list[dict[str, Any]] = []
        for raw in raw_text.splitlines():
            line = _parse(raw)
            if line is not None:
                entries.append(line)
            elif raw.strip():
                log.warning("emergency journal %s: unreadable line skipped: %r", self.path, raw[:80])
        return entries

    def _repair_tail(self) -> None:
        """End a line torn by a crash mid-write, so the next line does not join it."""
        if not self.path.exists():
            return
        try:
            with _file_lock(self.path), open(self.path, "rb+") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() == 0:
                    return
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")
                    f.flush()
                    os.fsync(f.fileno())
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("emergency journal %s: torn last line not ended: %s", self.path, exc)

    def _set_aside(self, line: dict[str, Any], exc: Exception) -> None:
        """Keep a line the merge cannot read beside the journal, for people, and say so."""
        side = self.path.with_name(self.path.name + ".unreadable")
        log.error("emergency journal %s: line %s set aside: %r", self.path, line.get("id"), exc)
        with open(side, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._report("error", _("emergency journal: a decision could not be merged and was set aside in {path}").format(path=side))

    def _drop(self, done: set[str]) -> None:
        """Rewrite the file without the lines merged (`done`): a new file renamed over the
        old one, so a crash leaves either, never half of one."""
        with self._lock, _file_lock(self.path):
            try:
                raw_lines = self.path.read_bytes().decode("utf-8", errors="replace").splitlines()
            except FileNotFoundError:
                self.pending_count = 0
                return
            kept = [raw for raw in raw_lines if (parsed := _parse(raw)) is not None and parsed["id"] not in done]
            unreadable = [raw for raw in raw_lines if raw.strip() and _parse(raw) is None]
            if unreadable:  # kept aside for people to read, never merged
                with open(self.path.with_name(self.path.name + ".unreadable"), "a", encoding="utf-8") as side:
                    side.write("\n".join(unreadable) + "\n")
            fresh = self.path.with_name(self.path.name + ".new")
            with open(fresh, "wb") as f:
                f.write("".join(raw + "\n" for raw in kept).encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(fresh, self.path)
            _fsync_dir(self.path.parent)
            self.pending_count = len(kept)

    # -- merging ----------------------------------------------------------------------------
    def merge(self) -> int:
        """Write every pending decision into the database (each line in its own
        transaction, with its audit entry), then take the merged lines out of the file.
        Returns how many lines were written now; stops at the first database failure and
        keeps the rest for the next try. Appending never waits for a merge's database
        work (only for the file's rewrite)."""
        with self._merging:
            lines = self.pending()
            if not lines:
                self.pending_count = 0
                return 0
            done: set[str] = set()
            written = 0
            conflicts: list[str] = []
            failed = False
            try:
                for line in lines:
                    try:
                        found = self._merge_line(line)
                    except StoreError:
                        raise
                    except (KeyError, TypeError, ValueError, IntegrityError) as exc:
                        # A line this build cannot read must not hold back the others.
                        self._set_aside(line, exc)
                        done.add(line["id"])
                        continue
                    done.add(line["id"])
                    if found is not None:
                        written += 1
                        conflicts += found
            except StoreError as exc:
                log.info("emergency journal not merged yet: %s", exc)
                self.note_failure(str(exc))
                failed = True
            finally:
                if done:
                    try:
                        self._drop(done)
                    except OSError as exc:  # merged lines left in the file are skipped next time
                        log.warning("emergency journal %s not rewritten: %s", self.path, exc)
        if not failed:
            self._back_online()
        if written:
            self._report("info", ngettext_merged(written))
            self.refresh_conflicts()
        for conflict in conflicts:
            self._report("error", _("emergency journal conflict for the manager: {conflict}").format(conflict=conflict))
        return written

    def refresh_conflicts(self) -> None:
        """Count the open conflicts (for the status bar)."""
        try:
            self.conflict_count = self.store.query(emergency_records.open_conflict_count)
        except StoreError as exc:
            log.info("emergency conflicts not counted: %s", exc)

    def probe(self) -> bool:
        """Whether the database takes a write transaction now (ends emergency mode)."""
        try:
            with self.store.write() as tx:
                tx.execute(text("SELECT 1"))
        except StoreError as exc:
            self.note_failure(str(exc))
            return False
        self._back_online()
        return True

    def _merge_line(self, line: dict[str, Any]) -> list[str] | None:
        """One journal line into the database in one transaction; None when an earlier
        merge wrote it, else the conflicts found (as text for the attendant)."""
        line_id = line["id"]
        merged_at = self._now()
        with self.store.write() as tx:
            lock_site_writes(tx)  # two merges (or booths) never both find a line missing
            if emergency_records.is_merged(tx, line_id):
                return None
            gate = line.get("gate")
            if line.get("legacy") and tx.get(GateActionRow, line_id) is not None:
                return None  # a move an older merge wrote without the mark
            at = datetime.fromisoformat(line["at"])
            actor = str(line.get("actor", ""))
            found: list[str] = []
            if gate is not None and tx.get(GateActionRow, line_id) is None:
                gate_actions.record_gate_action(
                    tx, action_id=line_id, lane=gate["lane"], action=gate["action"], reason=gate["reason"],
                    note=(str(gate.get("note", "")) + " (emergency journal)").strip()[:200], actor=actor, at=at, plate=gate.get("plate"),
                    booth_id=str(line.get("booth", self.booth_id)),  # the other booths' logs show whose move it was
                )
            if line.get("entry") is not None:
                found += self._entry(tx, line, line["entry"], at, actor, merged_at)
            if line.get("exit") is not None:
                found += self._exit(tx, line, line["exit"], at, actor, merged_at)
            if line.get("left") is not None:
                found += self._left(tx, line, line["left"], at, actor, merged_at)
            emergency_records.mark_merged(tx, line_id=line_id, at=merged_at, actor=actor,
                                          detail={"booth": line.get("booth", self.booth_id), "at": line["at"], "parts": sorted(k for k in ("gate", "entry", "exit", "left") if line.get(k) is not None),
                                                  "conflicts": len(found)})
        return found

    def _conflict(self, tx: Session, line: dict[str, Any], kind: str, *, at: datetime, actor: str, merged_at: datetime, lane: str, plate: str,
                  message: str, paid_minor: int = 0, currency: str = "") -> str:
        emergency_records.record_conflict(
            tx, line_id=line["id"], kind=kind, at=at, merged_at=merged_at, booth=str(line.get("booth", self.booth_id)), lane=lane, plate=plate,
            actor=actor, message=message, paid_minor=paid_minor, currency=currency,
        )
        return _("{lane}: {plate}: {kind} ({message})").format(lane=lane, plate=plate, kind=_(CONFLICT_KINDS[kind]), message=message)

    def _entry(self, tx: Session, line: dict[str, Any], part: dict[str, Any], at: datetime, actor: str, merged_at: datetime) -> list[str]:
        plate, lane = str(part["plate"]), str(part["lane"])
        try:
            visits.record_entry(tx, plate=plate, zone=part["zone"], lane=lane, at=at, currency=part["currency"], actor=actor,
                                note=f"let in by hand in emergency mode: {part.get('reason', '')}".strip())
        except visits.AlreadyInside as exc:
            return [self._conflict(tx, line, "entered_twice", at=at, actor=actor, merged_at=merged_at, lane=lane, plate=plate, message=str(exc))]
        return []

    def _exit(self, tx: Session, line: dict[str, Any], part: dict[str, Any], at: datetime, actor: str, merged_at: datetime) -> list[str]:
        currency = str(part["currency"])
        payments = [
            NewPayment(p["method"], Money(int(p["amount_minor"]), currency),
                       Money(int(p["tendered_minor"]), currency) if p.get("tendered_minor") is not None else None,
                       Money(int(p["change_minor"]), currency) if p.get("change_minor") is not None else None,
                       p.get("reference"))
            for p in part.get("payments", [])
        ]
        paid = sum(p.amount.minor for p in payments)
        lane, plate = str(part["lane"]), str(part["plate"])
        booth = str(line.get("booth", self.booth_id))
        shift_id = part.get("shift")
        if shift_id is None and payments:
            # The drawer the money went into: the booth's open shift (no shift can be
            # closed or handed over while the database cannot be written).
            shift = shifts.current_shift(tx, booth)
            shift_id = shift.id if shift is not None else None
        try:
            visits.close_visit(
                tx, visit_id=part["visit"], exit_lane=lane, exit_at=datetime.fromisoformat(part["exit_at"]),
                quote=Quote(Money(int(part["fee_minor"]), currency), str(part["tariff_id"])), payments=payments, attendant=actor,
                idempotency_key=part["ticket"], reason=str(part["reason"]), allow_unpaid=bool(part.get("unpaid")), booth_id=booth,
                shift_id=shift_id, settles_debts=tuple(part.get("debts", ())) if payments else (), overrides=tuple(part.get("overrides", ())),
                change_left=int(part.get("change_left", 0)),
            )
        except visits.AlreadySettled as exc:
            return [self._conflict(tx, line, "settled_elsewhere", at=at, actor=actor, merged_at=merged_at, lane=lane, plate=plate, message=str(exc),
                                   paid_minor=paid, currency=currency)]
        except DomainError as exc:  # refused before anything was written (no such visit, amounts)
            return [self._conflict(tx, line, "refused", at=at, actor=actor, merged_at=merged_at, lane=lane, plate=plate, message=str(exc),
                                   paid_minor=paid, currency=currency)]
        return []

    def _left(self, tx: Session, line: dict[str, Any], part: dict[str, Any], at: datetime, actor: str, merged_at: datetime) -> list[str]:
        plate, lane = str(part["plate"]), str(part["lane"])
        visit = visits.open_visit_for(tx, plate)
        if visit is None:
            return []
        message = f"visit {visit.id} entered {visit.entry_at:%Y-%m-%d %H:%M} UTC"
        return [self._conflict(tx, line, "left_unsettled", at=at, actor=actor, merged_at=merged_at, lane=lane, plate=plate, message=message)]

    # -- retrying in the background ------------------------------------------------------------
    def start(self) -> None:
        """Merge what an earlier run left, then retry every `retry_s` (at once when a new
        line is appended in emergency mode)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="emergency-journal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop retrying (pending decisions stay on disk). Idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        self.refresh_conflicts()
        while not self._stop.is_set():
            # Cleared before the pass: a line appended during it wakes the next one.
            self._wake.clear()
            try:
                self.merge()
                if self.offline and not self.pending_count:
                    self.probe()
            except Exception:  # never let the retry loop die silently
                log.exception("emergency journal merge failed")
            self._wake.wait(self.retry_s)


def ngettext_merged(n: int) -> str:
    """"N decisions merged" in the attendant's language."""
    return ngettext("emergency journal: {n} decision merged into the database",
                    "emergency journal: {n} decisions merged into the database", n).format(n=n)


def pending_in(path: Path) -> int:
    """How many decisions wait in the journal at `path` (read only: for the doctor)."""
    try:
        raw_text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return 0
    return sum(1 for raw in raw_text.splitlines() if _parse(raw) is not None)


def _parse(raw: str) -> dict[str, Any] | None:
    """A journal line as a v2 record (an older line, a barrier move only, converted);
    None for a torn or unreadable line."""
    if not raw.strip():
        return None
    try:
        line = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(line, dict) or "id" not in line or "at" not in line:
        return None
    if "v" not in line:  # the first format: one barrier move per line
        return {"v": VERSION, "legacy": True, "id": line["id"], "at": line["at"], "actor": line.get("actor", ""),
                "gate": {k: line.get(k) for k in ("lane", "action", "reason", "note", "plate")}}
    return line


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive across processes (the console and `booth emergency merge`): an append
    never goes to a file another process is replacing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def gate_line(line_id: str, *, lane: str, action: str, reason: str, note: str, actor: str, at: datetime, plate: str | None) -> dict[str, Any]:
    """A journal line for a barrier moved by hand."""
    return {"id": line_id, "at": at.isoformat(), "actor": actor,
            "gate": {"lane": lane, "action": action, "reason": reason, "note": note, "plate": plate}}


def exit_part(*, ticket_id: str, visit_id: str, plate: str, lane: str, exit_at: datetime, fee: Money, tariff_id: str,
              payments: list[NewPayment], reason: str, unpaid: bool, shift_id: str | None = None, debts: tuple[str, ...] = (),
              overrides: tuple[dict[str, object], ...] = (), change_left: int = 0) -> dict[str, Any]:
    """The journal's record of a decided exit: the stay, its fee, what was taken."""
    return {
        "ticket": ticket_id, "visit": visit_id, "plate": plate, "lane": lane, "exit_at": exit_at.isoformat(), "fee_minor": fee.minor,
        "currency": fee.currency, "tariff_id": tariff_id, "reason": reason, "unpaid": unpaid, "shift": shift_id, "debts": list(debts),
        "overrides": list(overrides), "change_left": change_left,
        "payments": [{"method": p.method, "amount_minor": p.amount.minor, "tendered_minor": p.tendered.minor if p.tendered else None,
                      "change_minor": p.change.minor if p.change else None, "reference": p.reference} for p in payments],
    }


def keep_in_journal(journal: EmergencyJournal, failure: StoreError | str, line: dict[str, Any]) -> str:
    """A decision the database refused (`failure`, or the reason emergency mode is on),
    kept in the journal instead. Returns the line's id; raises StoreError naming both
    failures when the local disk refuses too (then nothing takes effect)."""
    line = {"booth": journal.booth_id, **line}
    line["id"] = line.get("id") or new_id()
    why = str(failure)
    if isinstance(failure, StoreError):
        journal.note_failure(why)
    try:
        journal.append_line(line)
    except OSError as exc:
        raise StoreError(_("{why}; the emergency journal cannot be written either: {error}").format(why=_(why), error=exc.strerror or exc)) from exc
    return str(line["id"])
