"""Several booths on one real PostgreSQL database, at the same time.

Every booth is a `Site` of its own with its own `Store` (its own pool of connections), run
in a thread (or, for the soak, in a process) of its own; they meet only in the database.
The threads start together at a barrier, so their transactions really overlap.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Callable, Iterator, TypeVar

import pytest
from sqlalchemy import func, select, text
from sqlmodel import Session

from console.site.errors import SettledElsewhere
from console.site.lanes import EntryOutcome
from console.site.site import Site
from console.store import visits
from console.store.audit import verify_chain
from console.store.engine import make_engine
from console.store.migrate import current_revision, head_revision, upgrade
from console.store.tables import AuditRow, PaymentRow, ReceiptRow
from tests.support.booths import STAY, pay_exit, plate, start_booth, stop_booth

pytestmark = pytest.mark.postgresql

R = TypeVar("R")


def together(*calls: Callable[[], R], timeout: float = 60.0) -> list[R]:
    """Run every call in a thread of its own, all released at once; their results in
    order. A call that does not finish in `timeout` fails the test (a hang)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], R]) -> R:
        barrier.wait(timeout=timeout)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [f.result(timeout=timeout) for f in futures]


@pytest.fixture
def booths(pg_migrated_url: str) -> Iterator[Callable[..., list[Site]]]:
    """Start booths 1..n on the test's database (each its own Site and Store)."""
    started: list[Site] = []
    epoch = time.time()

    def _start(count: int = 2, *, capacity: int = 10_000) -> list[Site]:
        for n in range(1, count + 1):
            started.append(start_booth(pg_migrated_url, n, epoch=epoch, capacity=capacity))
        return started[-count:]

    yield _start
    for site in started:
        stop_booth(site)


def _chain_ok(site: Site) -> int:
    with Session(site.store.engine) as session:
        report = verify_chain(session)
    assert report.ok, report.problem
    return report.entries


def test_entries_of_different_plates_at_two_booths_are_never_refused(booths) -> None:  # type: ignore[no-untyped-def]
    one, two = booths(2)
    per_booth = 40

    def enter_all(site: Site, n: int) -> list[EntryOutcome]:
        return [site.lanes.enter(f"IN{n}", plate(n, i)) for i in range(per_booth)]

    first, second = together(lambda: enter_all(one, 1), lambda: enter_all(two, 2))
    assert first == second == [EntryOutcome.ENTERED] * per_booth
    assert one.store.query(visits.occupancy_counts) == {"P1": 2 * per_booth}
    assert _chain_ok(one) >= 2 * per_booth + 2  # two shift openings, every entry


def test_the_same_plate_at_two_entries_at_once_enters_once(booths) -> None:  # type: ignore[no-untyped-def]
    one, two = booths(2)
    for i in range(10):
        outcomes = together(lambda: one.lanes.enter("IN1", f"SAME{i}"), lambda: two.lanes.enter("IN2", f"SAME{i}"))
        assert sorted(outcomes) == sorted([EntryOutcome.ENTERED, EntryOutcome.INSIDE])
    assert one.store.query(visits.totals)["entries"] == 10


def test_concurrent_payments_at_two_booths_all_commit(booths) -> None:  # type: ignore[no-untyped-def]
    one, two = booths(2)
    per_booth = 10
    for site, n in ((one, 1), (two, 2)):
        assert all(site.lanes.enter(f"IN{n}", plate(n, i)) is EntryOutcome.ENTERED for i in range(per_booth))

    def pay_all(site: Site, n: int) -> list[str]:
        return [pay_exit(site, f"OUT{n}", plate(n, i), ("cash", "card")[i % 2], attendant=f"att{n}") for i in range(per_booth)]

    started = time.perf_counter()
    first, second = together(lambda: pay_all(one, 1), lambda: pay_all(two, 2), timeout=30)
    assert first == second == ["paid"] * per_booth
    assert time.perf_counter() - started < 30
    with Session(one.store.engine) as s:
        paid = s.execute(select(func.count(), func.sum(PaymentRow.amount_minor))).one()  # type: ignore[arg-type]
    assert tuple(paid) == (2 * per_booth, 2 * per_booth * 750)
    assert one.store.query(visits.occupancy_counts).get("P1", 0) == 0
    _chain_ok(one)


def test_one_stay_settled_at_two_exits_at_once_is_paid_once(booths) -> None:  # type: ignore[no-untyped-def]
    one, two = booths(2)
    for round_ in range(5):
        car = f"TWICE{round_}"
        assert one.lanes.enter("IN1", car) is EntryOutcome.ENTERED
        now = one.clock.now() + STAY
        tickets = [site.exits.open_exit(f"OUT{n}", car, now=now) for site, n in ((one, 1), (two, 2))]
        assert all(t is not None for t in tickets)

        def pay(site: Site, ticket_id: str, attendant: str) -> str:
            try:
                site.desk.pay_cash(ticket_id, "10", attendant=attendant)
                return "paid"
            except SettledElsewhere as exc:
                return str(exc)

        # Each attendant takes cash into the drawer of their own booth's shift.
        outcomes = together(lambda: pay(one, tickets[0].id, "att1"), lambda: pay(two, tickets[1].id, "att2"))  # type: ignore[union-attr]
        assert outcomes.count("paid") == 1, outcomes
        refusal = next(o for o in outcomes if o != "paid")
        winner = ("booth-1", "OUT1", "att1") if outcomes[0] == "paid" else ("booth-2", "OUT2", "att2")
        assert all(part in refusal for part in winner), refusal
        assert "nothing was charged" in refusal
        loser = two if outcomes[0] == "paid" else one
        assert loser.board.pending_tickets() == []  # the loser's ticket is gone, its gate closed
    with Session(one.store.engine) as s:
        rows = s.execute(select(PaymentRow.visit_id, func.count()).group_by(PaymentRow.visit_id)).all()  # type: ignore[call-overload]
        receipts = s.execute(select(func.count()).select_from(ReceiptRow)).scalar_one()
    assert len(rows) == 5 and all(n == 1 for _, n in rows)
    assert receipts == 5  # only the paying booth printed a receipt
    _chain_ok(one)


def test_two_booths_racing_for_the_last_space_never_overfill_the_zone(booths) -> None:  # type: ignore[no-untyped-def]
    one, two = booths(2, capacity=5)
    assert all(one.lanes.enter("IN1", plate(1, i)) is EntryOutcome.ENTERED for i in range(4))
    for round_ in range(6):
        outcomes = together(lambda: one.lanes.enter("IN1", f"LAST1X{round_}"), lambda: two.lanes.enter("IN2", f"LAST2X{round_}"))
        assert sorted(outcomes) == sorted([EntryOutcome.ENTERED, EntryOutcome.FULL]), outcomes
        assert one.store.query(visits.occupancy_counts) == {"P1": 5}
        # Both boards show the site-wide count after their own decision.
        assert one.board.occupied("P1") == two.board.occupied("P1") == 5
        winner = f"LAST{1 if outcomes[0] is EntryOutcome.ENTERED else 2}X{round_}"
        assert pay_exit(two, "OUT2", winner, "card", attendant="att2") == "paid"
    assert one.store.query(visits.occupancy_counts) == {"P1": 4}
    assert _max_occupancy_in_audit(one) == 5


def _max_occupancy_in_audit(site: Site) -> int:
    """The zone's count after every entry and exit, replayed in the audit chain's order
    (one order for the whole site): its highest value."""
    with Session(site.store.engine) as s:
        actions = s.execute(select(AuditRow.action).order_by(AuditRow.seq)).scalars().all()  # type: ignore[arg-type]
    inside = highest = 0
    for action in actions:
        if action == "visit.entry":
            inside += 1
        elif action in ("visit.exit", "visit.close_stale"):
            inside -= 1
        highest = max(highest, inside)
    return highest


def test_two_booths_migrate_a_fresh_database_at_once(pg_url: str) -> None:
    engines = [make_engine(pg_url) for _ in range(3)]
    try:
        results = together(*(lambda e=e: upgrade(e) for e in engines), timeout=120)
        assert all(after == head_revision() for _, after in results)
        # One of them migrated from nothing; the others found the schema at head.
        assert sorted(before is None for before, _ in results) == [False, False, True]
        assert current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()


def test_audit_entries_from_two_booths_form_one_chain(booths) -> None:  # type: ignore[no-untyped-def]
    one, two = booths(2)

    def work(site: Site, n: int) -> None:
        for i in range(15):
            assert site.lanes.enter(f"IN{n}", plate(n, i)) is EntryOutcome.ENTERED
            if i % 3 == 2:
                assert pay_exit(site, f"OUT{n}", plate(n, i - 1), "override", attendant=f"att{n}") == "paid"

    together(lambda: work(one, 1), lambda: work(two, 2))
    entries = _chain_ok(one)
    with Session(one.store.engine) as s:
        seqs = s.execute(text("SELECT seq FROM audit_entry ORDER BY seq")).scalars().all()
    assert seqs == list(range(1, entries + 1))


def test_receipts_are_numbered_without_gaps_per_booth(booths) -> None:  # type: ignore[no-untyped-def]
    sites = booths(3)
    per_booth = 12
    for n, site in enumerate(sites, start=1):
        assert all(site.lanes.enter(f"IN{n}", plate(n, i)) is EntryOutcome.ENTERED for i in range(per_booth))

    def pay_all(site: Site, n: int) -> None:
        # Two desks of one booth at once (its exit lane and a second thread), as when a
        # phone payment is settled while the attendant takes cash.
        together(*(lambda i=i: pay_exit(site, f"OUT{n}", plate(n, i), "cash", attendant=f"att{n}") for i in range(per_booth)))

    together(*(lambda site=site, n=n: pay_all(site, n) for n, site in enumerate(sites, start=1)))
    with Session(sites[0].store.engine) as s:
        numbers = s.execute(select(ReceiptRow.booth_id, ReceiptRow.number).order_by(ReceiptRow.booth_id, ReceiptRow.number)).all()  # type: ignore[call-overload]
    for n in range(1, 4):
        assert [number for booth, number in numbers if booth == f"booth-{n}"] == list(range(1, per_booth + 1))


def test_exit_quoted_before_another_booths_entry_still_settles(booths) -> None:  # type: ignore[no-untyped-def]
    # The exit's time is the booth's own clock reading: a stay entered at one booth and
    # left at another keeps its order of entry and exit.
    one, two = booths(2)
    assert one.lanes.enter("IN1", "CROSS1") is EntryOutcome.ENTERED
    ticket = two.exits.open_exit("OUT2", "CROSS1", now=two.clock.now() + timedelta(minutes=40))
    assert ticket is not None
    settled = two.desk.pay_cash(ticket.id, "5", attendant="att2")
    assert settled.closed.visit.exit_lane == "OUT2"
    assert one.store.query(visits.occupancy_counts).get("P1", 0) == 0


def test_reprints_and_receipts_of_one_booth_at_once_share_one_gap_free_sequence(booths) -> None:  # type: ignore[no-untyped-def]
    one, two = booths(2)
    per_booth = 8
    for site, n in ((one, 1), (two, 2)):
        assert all(site.lanes.enter(f"IN{n}", plate(n, i)) is EntryOutcome.ENTERED for i in range(per_booth + 1))
        assert pay_exit(site, f"OUT{n}", plate(n, per_booth), "cash", attendant=f"att{n}") == "paid"  # receipt 1

    def pay(site: Site, n: int, i: int) -> object:
        return pay_exit(site, f"OUT{n}", plate(n, i), "cash", attendant=f"att{n}")

    def reprint(site: Site, n: int) -> object:
        return site.documents.reprint(1, actor=f"att{n}")

    calls = [lambda s=s, n=n, i=i: pay(s, n, i) for s, n in ((one, 1), (two, 2)) for i in range(per_booth)]
    calls += [lambda s=s, n=n: reprint(s, n) for s, n in ((one, 1), (two, 2)) for _ in range(per_booth)]
    together(*calls)
    with Session(one.store.engine) as s:
        numbers = s.execute(select(ReceiptRow.booth_id, ReceiptRow.number).order_by(ReceiptRow.booth_id, ReceiptRow.number)).all()  # type: ignore[call-overload]
    for n in (1, 2):
        assert [number for booth, number in numbers if booth == f"booth-{n}"] == list(range(1, 2 * per_booth + 2))
    _chain_ok(one)
