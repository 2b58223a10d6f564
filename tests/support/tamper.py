"""A tamper campaign against a booth's SQLite file: a real site records a day's money,
gate and shift work with its audit chain sealed; then each kind of edit an insider with
write access to the database might make is applied to a fresh copy of that file with
plain sqlite3 (as such an insider would), and `booth audit verify` must report it.

Used by tests/store/test_tamper_evidence.py (one test per kind) and by
tests/perf/tamper_campaign.py (the figure: N kinds tried, N detected)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from console.commands import reports
from console.domain.clock import FixedClock
from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.site.events import ExitPending, ExitTicket
from console.site.tender import Tender
from console.store import visits
from console.store.engine import sqlite_url
from drivers.gate.simworld import Traffic
from tests.conftest import HOURLY_TARIFF, SMALL_SITE, Recorder

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Day:
    """The recorded day: the site file, the database and the ids the edits aim at."""

    site_file: Path
    db: Path
    pristine: Path
    paid_visit: str  # left paying cash with change (has a payment and a receipt)
    card_visit: str  # paid cash + card
    override_visit: str  # fee lowered by an override
    shift: str


def record_day(folder: Path) -> Day:
    """Run a real site on an SQLite file through a small day and keep a pristine copy."""
    folder.mkdir(parents=True, exist_ok=True)
    site_file = folder / "site.toml"
    key_file = folder / "secret.key"
    site_file.write_text(
        SMALL_SITE.format(capacity=50, tariff=HOURLY_TARIFF)
        + f'\n[cloud]\nsecrets = "encrypted-file"\nkey_file = "{key_file}"\n',
        encoding="utf-8",
    )
    config = parse_site(site_file.read_text(encoding="utf-8"), str(site_file))
    db = folder / "booth.sqlite3"
    store = open_store(sqlite_url(db))
    clock = FixedClock(T0)
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=3))
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    try:
        assert site.seal is not None and site.seal.seal is not None, site.seal
        shift = site.staff.open_shift("ann", "50")

        def waiting(plate: str, hours: float) -> ExitTicket:
            site.lanes.gates["IN1"].arrive(plate)
            rec.wait_for(lambda: site.store.query(visits.open_visit_for, plate) is not None)
            clock.advance(hours=hours)
            before = len(rec.of(ExitPending))
            site.lanes.gates["OUT1"].arrive(plate)
            rec.wait_for(lambda: len(rec.of(ExitPending)) > before)
            return rec.of(ExitPending)[-1].ticket

        paid = waiting("TMP1", 2.1)  # 7.50
        site.desk.pay_cash(paid.id, "10", attendant="ann")
        card = waiting("TMP2", 3.1)  # 10.00
        site.desk.pay(card.id, [Tender("cash", "5", "5"), Tender("card", reference="AUTH77")], attendant="ann")
        lowered = waiting("TMP3", 1.1)  # 5.00 -> 4.00
        site.desk.override(lowered.id, "fee_change", new_amount_text="4.00", reason="left early", actor="ann")
        site.desk.pay_cash(lowered.id, "4", attendant="ann")
        site.lanes.manual_gate("OUT1", "open", reason="emergency vehicle", actor="ann")
        clock.advance(minutes=5)
        waiting_more = waiting("TMP4", 0.6)
        site.desk.pay_cash(waiting_more.id, "2.50", attendant="ann")
        site.staff.close_shift("50x1 10x1 5x1 2x2", actor="ann")
    finally:
        site.stop()
        store.engine.dispose()
    pristine = folder / "pristine.sqlite3"
    _copy(db, pristine)
    return Day(site_file, db, pristine, paid.visit.id, card.visit.id, lowered.visit.id, shift.id)


def _copy(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def restore(day: Day) -> None:
    """Put the pristine day back in place (the anchor file beside it is kept)."""
    _copy(day.pristine, day.db)


@dataclass(frozen=True)
class Verdict:
    code: int
    output: str


def verify(day: Day, *extra: str) -> Verdict:
    """`booth audit verify` on the day's database, as the manager runs it."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = reports.main(["audit", "verify", "--site", str(day.site_file), "--db", str(day.db), *extra])
    return Verdict(code, out.getvalue())


# -- the edits --------------------------------------------------------------------------------


@contextlib.contextmanager
def _sql(day: Day) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(day.db)
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def _plain_digest(prev: str, seq: int, at: str, actor: str, action: str, subject: str, detail: str) -> str:
    """The unkeyed digest, computed as someone without the key would (the chain's format is public)."""
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    material = json.dumps([prev, seq, moment.isoformat(), actor, action, subject, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _rechain_from(conn: sqlite3.Connection, first: int) -> None:
    rows = conn.execute("SELECT seq, at, actor, action, subject, detail FROM audit_entry WHERE seq >= ? ORDER BY seq", (first,)).fetchall()
    prev = conn.execute("SELECT hash FROM audit_entry WHERE seq = ?", (first - 1,)).fetchone()[0]
    for seq, at, actor, action, subject, detail in rows:
        digest = _plain_digest(prev, seq, at, actor, action, subject, detail)
        conn.execute("UPDATE audit_entry SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
        prev = digest


def _exit_entry(conn: sqlite3.Connection, visit_id: str) -> int:
    return int(conn.execute("SELECT seq FROM audit_entry WHERE action = 'visit.exit' AND subject = ?", (visit_id,)).fetchone()[0])


def delete_tail(day: Day) -> str:
    with _sql(day) as c:
        last = c.execute("SELECT max(seq) FROM audit_entry").fetchone()[0]
        c.execute("DELETE FROM audit_entry WHERE seq > ?", (last - 6,))
    return "entries were deleted from its end"


def change_payment_and_paid(day: Day) -> str:
    with _sql(day) as c:
        c.execute("UPDATE payment SET amount_minor = 250 WHERE visit_id = ? AND method = 'cash'", (day.paid_visit,))
        c.execute("UPDATE visit SET paid_minor = 250 WHERE id = ?", (day.paid_visit,))
    return "its paid amount is 250, the audit entry says 750"


def delete_paid_visit(day: Day) -> str:
    with _sql(day) as c:
        c.execute("DELETE FROM receipt WHERE visit_id = ?", (day.paid_visit,))
        c.execute("DELETE FROM payment WHERE visit_id = ?", (day.paid_visit,))
        c.execute("DELETE FROM cash_movement WHERE visit_id = ?", (day.paid_visit,))
        c.execute("DELETE FROM visit WHERE id = ?", (day.paid_visit,))
    return "the visit of TMP1 that left paying 750 (minor units) is gone"


def edit_receipt(day: Day) -> str:
    with _sql(day) as c:
        row = c.execute("SELECT id, content FROM receipt WHERE visit_id = ?", (day.card_visit,)).fetchone()
        content = json.loads(row[1])
        content["plate"] = "OTHER1"
        c.execute("UPDATE receipt SET content = ? WHERE id = ?", (json.dumps(content, ensure_ascii=False, sort_keys=True), row[0]))
    return "its content was changed after it was issued"


def change_override(day: Day) -> str:
    with _sql(day) as c:
        c.execute("UPDATE fee_override SET new_minor = 0 WHERE visit_id = ?", (day.override_visit,))
    return "changed after it was audited: the entry says fee_change 500 -> 400"


def delete_gate_action(day: Day) -> str:
    with _sql(day) as c:
        c.execute("DELETE FROM gate_action")
    return "the audited manual barrier move"


def rewrite_chain_unkeyed(day: Day) -> str:
    with _sql(day) as c:
        seq = _exit_entry(c, day.paid_visit)
        detail = json.loads(c.execute("SELECT detail FROM audit_entry WHERE seq = ?", (seq,)).fetchone()[0])
        detail["paid_minor"] = 250
        c.execute("UPDATE audit_entry SET detail = ? WHERE seq = ?", (json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":")), seq))
        c.execute("UPDATE visit SET paid_minor = 250 WHERE id = ?", (day.paid_visit,))
        c.execute("UPDATE payment SET amount_minor = 250 WHERE visit_id = ? AND method = 'cash'", (day.paid_visit,))
        _rechain_from(c, seq)
    return "was written without the site's audit key"


def delete_seal_record(day: Day) -> str:
    with _sql(day) as c:
        c.execute("DELETE FROM audit_seal")
    return "record of the audit key was removed"


def change_shift_count(day: Day) -> str:
    with _sql(day) as c:
        c.execute("UPDATE shift SET counted_cash_minor = counted_cash_minor + 2000 WHERE id = ?", (day.shift,))
    return "the entry says expected 6900, counted 6900, the record says expected 6900, counted 8900"


def edit_entry_in_place(day: Day) -> str:
    with _sql(day) as c:
        seq = _exit_entry(c, day.card_visit)
        c.execute("UPDATE audit_entry SET actor = 'nobody' WHERE seq = ?", (seq,))
    return "was altered after it was written"


def delete_middle_entry(day: Day) -> str:
    with _sql(day) as c:
        seq = _exit_entry(c, day.override_visit)
        c.execute("DELETE FROM audit_entry WHERE seq = ?", (seq,))
    return "is missing"


def add_payment(day: Day) -> str:
    with _sql(day) as c:
        row = c.execute("SELECT * FROM payment WHERE visit_id = ? LIMIT 1", (day.card_visit,)).fetchone()
        names = [d[0] for d in c.execute("SELECT * FROM payment LIMIT 1").description]
        values = dict(zip(names, row))
        values["id"] = "forged-payment"
        values["amount_minor"] = 5000
        c.execute(f"INSERT INTO payment ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})", list(values.values()))
    return "is not the payment the audit entry records"


def delete_receipt_only(day: Day) -> str:
    with _sql(day) as c:
        c.execute("DELETE FROM receipt WHERE visit_id = ?", (day.override_visit,))
    return "is gone"


TAMPERS: dict[str, Callable[[Day], str]] = {
    "the last audit entries deleted (tail)": delete_tail,
    "a payment's amount changed with the visit's paid amount": change_payment_and_paid,
    "a paid visit deleted with its payment and receipt": delete_paid_visit,
    "a receipt's content edited": edit_receipt,
    "an override's new fee changed": change_override,
    "a manual barrier move deleted": delete_gate_action,
    "the chain re-computed after an edit, without the key": rewrite_chain_unkeyed,
    "the database's record of the audit key deleted": delete_seal_record,
    "a shift's counted cash changed": change_shift_count,
    "an audit entry edited in place": edit_entry_in_place,
    "an audit entry deleted from the middle": delete_middle_entry,
    "a payment added with no audit entry": add_payment,
    "a receipt deleted": delete_receipt_only,
}


@dataclass(frozen=True)
class Attempt:
    kind: str
    detected: bool
    expected: str
    output: str
    seconds: float


def attempt(day: Day, kind: str) -> Attempt:
    """Apply one edit to a fresh copy of the day and verify it."""
    restore(day)
    expected = TAMPERS[kind](day)
    started = time.perf_counter()
    verdict = verify(day)
    elapsed = time.perf_counter() - started
    return Attempt(kind, verdict.code == reports.EXIT_BROKEN and expected in verdict.output, expected, verdict.output, elapsed)

