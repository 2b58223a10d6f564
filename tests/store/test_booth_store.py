"""The store against a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from console.domain.money import Money
from console.domain.payments import NewPayment, PaymentError
from console.domain.quote import Quote, QuoteItem
from console.domain.visits import VisitError
from console.site.build import open_store
from console.store import visits
from console.store.audit import verify_chain
from console.store.database import Store
from console.store.engine import StoreError, sqlite_url
from console.store.outbox import backlog, fetch_unsent, mark_sent
from console.store.tables import AuditRow, OutboxRow, PaymentRow, VisitRow
from console.store.visits import AlreadyInside
from tests.conftest import T0


def _quote(minor: int) -> Quote:
    return Quote(Money(minor, "EUR"), "test/1", (QuoteItem("stay", Money(minor, "EUR")),))


def _rows(store: Store, table: type) -> list:  # type: ignore[type-arg]
    with Session(store.engine) as s:
        return list(s.exec(select(table)).all())


@pytest.mark.sqlite_only
def test_sqlite_durability_settings_are_on(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_entry_writes_visit_audit_and_outbox_together(store: Store) -> None:
    visit = store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")
    assert [v.id for v in _rows(store, VisitRow)] == [visit.id]
    assert [a.action for a in _rows(store, AuditRow)] == ["visit.entry"]
    events = _rows(store, OutboxRow)
    assert [e.type for e in events] == ["visit.opened"]
    assert visit.id in events[0].payload
    assert store.query(visits.occupancy_counts) == {"P1": 1}


def test_second_entry_of_a_plate_inside_is_refused_and_writes_nothing(store: Store) -> None:
    store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")
    with pytest.raises(AlreadyInside):
        store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0 + timedelta(minutes=5), currency="EUR")
    assert len(_rows(store, VisitRow)) == 1
    assert len(_rows(store, AuditRow)) == 1
    assert len(_rows(store, OutboxRow)) == 1


def test_exit_payment_is_one_transaction_and_idempotent(store: Store) -> None:
    visit = store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")
    pay = [NewPayment("cash", Money(750, "EUR"), Money(1000, "EUR"), Money(250, "EUR"))]
    kwargs = dict(visit_id=visit.id, exit_lane="OUT1", exit_at=T0 + timedelta(hours=3), quote=_quote(750), payments=pay, attendant="ann", idempotency_key="k-1")
    first = store.apply(visits.close_visit, **kwargs)  # type: ignore[arg-type]
    again = store.apply(visits.close_visit, **kwargs)  # type: ignore[arg-type]
    assert not first.replayed and again.replayed
    assert first.payments[0].id == again.payments[0].id
    assert len(_rows(store, PaymentRow)) == 1
    assert store.query(visits.totals) == {"entries": 1, "exits": 1, "revenue_minor": 750}
    assert [e.type for e in _rows(store, OutboxRow)] == ["visit.opened", "visit.closed", "payment.recorded"]
    assert store.query(visits.occupancy_counts) == {}


def test_double_exit_is_refused_with_a_message(store: Store) -> None:
    visit = store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")
    store.apply(visits.close_visit, visit_id=visit.id, exit_lane="OUT1", exit_at=T0 + timedelta(hours=1), quote=_quote(0), payments=[], attendant="ann", idempotency_key="k-1")
    with pytest.raises(VisitError, match="already left"):
        store.apply(visits.close_visit, visit_id=visit.id, exit_lane="OUT1", exit_at=T0 + timedelta(hours=2), quote=_quote(0), payments=[], attendant="ann", idempotency_key="k-2")


@pytest.mark.parametrize(
    ("payments", "message"),
    [
        ([NewPayment("cash", Money(500, "EUR"))], "add up"),
        ([NewPayment("cash", Money(-750, "EUR")), NewPayment("cash", Money(1500, "EUR"))], "negative"),
    ],
)
def test_payments_that_do_not_settle_the_fee_change_nothing(store: Store, payments: list[NewPayment], message: str) -> None:
    visit = store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")
    with pytest.raises(PaymentError, match=message):
        store.apply(visits.close_visit, visit_id=visit.id, exit_lane="OUT1", exit_at=T0 + timedelta(hours=3), quote=_quote(750), payments=payments, attendant="ann", idempotency_key="k")
    assert _rows(store, PaymentRow) == []
    assert store.query(visits.open_visit_for, "AB1234") is not None
    assert len(_rows(store, OutboxRow)) == 1


def test_exit_before_entry_is_refused(store: Store) -> None:
    visit = store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")
    with pytest.raises(VisitError, match="before entry"):
        store.apply(visits.close_visit, visit_id=visit.id, exit_lane="OUT1", exit_at=T0 - timedelta(minutes=1), quote=_quote(0), payments=[], attendant="ann", idempotency_key="k")


def test_locked_database_gives_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "b.sqlite3")
    store = open_store(url, busy_timeout_ms=100)
    other = sqlite3.connect(tmp_path / "b.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="busy"):
            store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.query(visits.totals)["entries"] == 0
    assert _rows(store, AuditRow) == [] and _rows(store, OutboxRow) == []
    store.engine.dispose()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    open_store(sqlite_url(path)).engine.dispose()
    path.chmod(stat.S_IRUSR)
    store = Store(open_store(sqlite_url(path), migrate=False).engine)
    with pytest.raises(StoreError, match="read-only"):
        store.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")


def test_read_only_database_via_sqlite_uri_gives_a_clear_error(tmp_path: Path) -> None:
    # Works as root too: the connection itself is opened read-only.
    path = tmp_path / "ro.sqlite3"
    open_store(sqlite_url(path)).engine.dispose()
    ro = open_store(f"sqlite:///file:{path}?mode=ro&uri=true", migrate=False)
    with pytest.raises(StoreError, match="read-only"):
        ro.apply(visits.record_entry, plate="AB1234", zone="P1", lane="IN1", at=T0, currency="EUR")
    ro.engine.dispose()
    rw = open_store(sqlite_url(path))
    assert rw.query(visits.totals)["entries"] == 0


def test_missing_database_directory_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create"):
        open_store(sqlite_url(blocker / "sub" / "b.sqlite3"))


def test_damaged_database_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        open_store(sqlite_url(path))


def test_audit_chain_detects_edit_and_delete(store: Store) -> None:
    for i in range(5):
        store.apply(visits.record_entry, plate=f"AB{i}", zone="P1", lane="IN1", at=T0 + timedelta(minutes=i), currency="EUR")
    with Session(store.engine) as s:
        assert verify_chain(s).ok and verify_chain(s).entries == 5
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_entry SET detail = replace(detail, 'AB2', 'ZZ9') WHERE seq = 3")
    with Session(store.engine) as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_seq == 3 and "altered" in report.problem
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_entry WHERE seq = 3")
    with Session(store.engine) as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_seq == 3 and "missing" in report.problem


def test_outbox_fetch_and_mark_sent(store: Store) -> None:
    for i in range(3):
        store.apply(visits.record_entry, plate=f"AB{i}", zone="P1", lane="IN1", at=T0 + timedelta(minutes=i), currency="EUR")
    with store.write() as s:
        events = fetch_unsent(s, 10)
    assert [e.payload["plate"] for e in events] == ["AB0", "AB1", "AB2"]
    assert events == sorted(events, key=lambda e: e.id)  # ids are time-ordered
    with store.write() as s:
        assert mark_sent(s, [events[0].id], T0) == 1
        assert mark_sent(s, [events[0].id], T0) == 0  # a repeated acknowledgement changes nothing
    with store.write() as s:
        count, oldest = backlog(s)
    assert count == 2 and oldest == T0 + timedelta(minutes=1)


def test_two_booths_adding_one_user_name_at_once_refuse_the_second(store: Store) -> None:
    """Two booths of a shared site add the same user at the same moment (two demo booths
    starting together): the first is kept, the second is refused as a user that exists, in
    words, never as a raw unique-index error; nothing of the second is written."""
    from console.domain.staff import Role, StaffError
    from console.store import staff
    from console.store.tables import UserRow

    started, go_on = threading.Event(), threading.Event()
    refused: list[BaseException] = []

    def first() -> None:
        with store.write() as tx:
            staff.add_user(tx, name="demo", role=Role.MANAGER, pin="2468", at=T0, actor="booth-1")
            started.set()
            go_on.wait(5)

    def second() -> None:
        started.wait(5)
        try:
            store.apply(staff.add_user, name="demo", role=Role.MANAGER, pin="1357", at=T0, actor="booth-2")
        except BaseException as exc:  # noqa: BLE001 - what reached the caller is the result
            refused.append(exc)

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    two.start()
    started.wait(5)
    time.sleep(0.1)  # the second is waiting for the first now (its index entry or its lock)
    go_on.set()
    one.join(10)
    two.join(10)
    assert len(refused) == 1 and isinstance(refused[0], StaffError), refused
    assert "already a user called demo" in str(refused[0])
    with store.read() as s:
        assert len(s.exec(select(UserRow).where(UserRow.name == "demo")).all()) == 1
        actors = [row.actor for row in s.exec(select(AuditRow).where(AuditRow.action == "user.add")).all()]
    assert actors == ["booth-1"]


@pytest.mark.postgresql
def test_a_merge_holding_the_site_lock_gives_way_to_an_entry_of_the_same_plate(pg_migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry writes its open visit, then waits for the site's lock; meanwhile a
    transaction that took the lock first (the emergency journal's merge) writes an open
    visit of the same plate. Without a bound that is a deadlock the server breaks after a
    second, often by failing the lane's entry. The lock holder gives way within its short
    wait instead, and the entry is recorded."""
    from console.store.locks import SHORT_WAIT_MS, lock_site_writes

    store = open_store(pg_migrated_url)
    try:
        locked, entry_waiting = threading.Event(), threading.Event()
        outcome: dict[str, object] = {}

        def merge() -> None:
            began = time.monotonic()
            try:
                with store.write() as tx:
                    lock_site_writes(tx)
                    locked.set()
                    entry_waiting.wait(5)
                    time.sleep(0.2)  # the entry is waiting for the lock now
                    visits.record_entry(tx, plate="MERGE1", zone="P1", lane="IN1", at=T0, currency="EUR", note="let in by hand")
                outcome["merge"] = "recorded"
            except (StoreError, AlreadyInside) as exc:
                outcome["merge"] = exc
            outcome["merge_s"] = time.monotonic() - began

        def entry() -> None:
            locked.wait(5)
            try:
                with store.write() as tx:
                    visits.record_entry(tx, plate="MERGE1", zone="P1", lane="IN2", at=T0, currency="EUR",
                                        admit=lambda counts: None)
                outcome["entry"] = "recorded"
            except BaseException as exc:  # noqa: BLE001 - what reached the lane is the result
                outcome["entry"] = exc

        # The entry's insert comes before its lock: signal just before it asks for the lock.
        real = visits.occupancy_for_entry

        def counting(db: Session) -> dict[str, int]:
            entry_waiting.set()
            return real(db)

        monkeypatch.setattr(visits, "occupancy_for_entry", counting)
        threads = [threading.Thread(target=merge), threading.Thread(target=entry)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        assert outcome["entry"] == "recorded", outcome
        assert isinstance(outcome["merge"], StoreError), outcome
        took = outcome["merge_s"]
        assert isinstance(took, float) and took < 0.2 + SHORT_WAIT_MS / 1000 + 0.6  # gave way, no deadlock second
        with store.read() as s:
            lanes = [r.entry_lane for r in s.exec(select(VisitRow).where(VisitRow.plate == "MERGE1")).all()]
        assert lanes == ["IN2"]
    finally:
        store.engine.dispose()
