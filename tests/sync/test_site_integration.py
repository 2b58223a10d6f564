"""The running site with its cloud: events reach the reference server, phone payments
open the exit by themselves, members enter a full zone, a cloud tariff becomes a version."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import Session, select

from console.site.build import build_site
from console.site.config import parse_site
from console.site.events import ExitPending, ExitSettled, LinkStatus
from console.store import cloud_copies, visits
from console.store.tables import PaymentRow
from console.sync.credentials import save_token
from console.sync.server import admin
from drivers.gate.simworld import Traffic
from tests.conftest import Recorder, site_text
from tests.sync.conftest import FAST, wait_until
from tests.sync.phone import pay_by_phone


def _site(store, clock, cloud, capacity: int = 200):  # type: ignore[no-untyped-def]
    save_token(cloud.url, cloud.token)
    extra = f'\n[cloud]\nurl = "{cloud.url}"\nsite_id = "{cloud.site_id}"\n'
    site = build_site(parse_site(site_text(capacity, extra), "t.toml"), store, clock=clock, traffic=Traffic(seed=2), sync_tuning=FAST)
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    site.staff.open_shift("ann", "0")
    return site, rec


def _enter(site, rec, plate: str) -> None:  # type: ignore[no-untyped-def]
    site.lanes.gates["IN1"].arrive(plate)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, plate) is not None)


def test_visits_and_payments_reach_the_cloud(store, clock, cloud, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    site, rec = _site(store, clock, cloud)
    try:
        _enter(site, rec, "AB1234")
        clock.advance(hours=2, minutes=5)
        site.lanes.gates["OUT1"].arrive("AB1234")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))
        site.desk.pay_cash(rec.of(ExitPending)[0].ticket.id, "10", attendant="ann")
        wait_until(lambda: cloud.books()["visits_closed"] == 1 and cloud.books()["revenue_minor"] == {"EUR": {"cash": 750}})
        rec.wait_for(lambda: any("online" in e.cloud for e in rec.of(LinkStatus)), timeout=10)
    finally:
        site.stop()


def test_a_phone_payment_opens_the_exit_without_the_attendant(store, clock, cloud, memory_keyring, server_clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = _site(store, clock, cloud)
    server_clock.follow = clock.now  # the cloud quotes at the booth's time
    try:
        _enter(site, rec, "PHONE1")
        clock.advance(hours=1, minutes=5)  # 2 started hours: 5.00
        pay_by_phone(cloud.url, cloud.site_id, "PHONE1")
        wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "PHONE1")) == 1)
        site.lanes.gates["OUT1"].arrive("PHONE1")
        rec.wait_for(lambda: bool(rec.of(ExitSettled)))
        assert rec.of(ExitPending) == []  # nobody at the desk was asked
        with Session(store.engine) as s:
            payments = s.exec(select(PaymentRow)).all()
        assert [(p.method, p.amount_minor) for p in payments] == [("mobile", 500)]
        assert store.query(cloud_copies.remote_payments_for, "PHONE1") == []  # used once
    finally:
        site.stop()


def test_members_enter_a_full_zone(store, clock, cloud, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    admin.publish_members(cloud.engine, cloud.site_id, "m1", [{"plate": "MEMBER1", "kind": "pass", "name": "Resident"}])
    site, rec = _site(store, clock, cloud, capacity=1)
    try:
        wait_until(lambda: store.query(cloud_copies.members_for, "MEMBER1", clock.now()) != [])
        _enter(site, rec, "FIRST1")
        site.lanes.gates["IN1"].arrive("GUEST1")
        rec.wait_for(lambda: "FULL" in site.board.lane("IN1").status)
        assert site.store.query(visits.open_visit_for, "GUEST1") is None
        _enter(site, rec, "MEMBER1")
        # The board is set by the lane's thread just after the commit `_enter` waits for.
        rec.wait_for(lambda: site.board.occupancy()[0].occupied == 2)
    finally:
        site.stop()


def test_a_cloud_tariff_becomes_the_next_version(store, clock, cloud, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    text = (open("tests/fixtures/hourly.toml").read()
            .replace("version = 1", "version = 2")
            .replace('price = "2.50"', 'price = "3.00"')
            .replace('name = "Hourly (tests)"', 'name = "Hourly (tests)"\neffective_from = 2026-03-02T10:00:00'))
    admin.publish_tariff(cloud.engine, cloud.site_id, "v2", text)
    site, rec = _site(store, clock, cloud)
    try:
        wait_until(lambda: site.pricing.book.get("test-hourly@2") is not None)  # type: ignore[attr-defined]
        _enter(site, rec, "OLD1")  # 09:00 local: version 1 prices this stay
        clock.advance(hours=2)
        _enter(site, rec, "NEW1")  # 11:00 local: version 2
        clock.advance(hours=1)
        old = site.exits.open_exit("OUT1", "OLD1")
        new = site.exits.open_exit("OUT1", "NEW1", replace_waiting=True)  # typed at the same lane: replaces OLD1's ticket
        assert old is not None and old.quote.tariff_id == "test-hourly@1" and old.due.minor == 750
        assert new is not None and new.quote.tariff_id == "test-hourly@2" and new.due.minor == 300
    finally:
        site.stop()


def test_pass_holders_leave_without_stopping_and_shift_close_pushes_first(store, clock, cloud, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    admin.publish_members(cloud.engine, cloud.site_id, "m1", [{"plate": "PASS1", "kind": "pass", "name": "Resident"}])
    site, rec = _site(store, clock, cloud)
    try:
        wait_until(lambda: store.query(cloud_copies.members_for, "PASS1", clock.now()) != [])
        _enter(site, rec, "PASS1")
        clock.advance(hours=5)
        site.lanes.gates["OUT1"].arrive("PASS1")
        rec.wait_for(lambda: bool(rec.of(ExitSettled)))
        assert rec.of(ExitPending) == []
        visit = store.query(visits.latest_visit_for, "PASS1")
        assert visit is not None and visit.close_reason == "pass Resident" and visit.fee_minor == 0
        site.staff.close_shift("0.01x0", actor="ann")
        assert site.staff.unsent_at_close == 0  # everything reached the cloud before the close
    finally:
        site.stop()


def test_a_driver_waiting_at_the_desk_pays_by_phone(store, clock, cloud, memory_keyring, server_clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = _site(store, clock, cloud)
    server_clock.follow = clock.now  # the cloud quotes at the booth's time
    try:
        _enter(site, rec, "WAITPH")
        clock.advance(hours=1, minutes=5)
        site.lanes.gates["OUT1"].arrive("WAITPH")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))  # waiting at the desk, 5.00 due
        pay_by_phone(cloud.url, cloud.site_id, "WAITPH")
        clock.advance(seconds=1)  # time passes: the next pull is news to the site
        rec.wait_for(lambda: bool(rec.of(ExitSettled)), timeout=10)  # the pull brought it; the exit settled
        assert site.board.pending_tickets() == []
        with Session(store.engine) as s:
            assert [(p.method, p.amount_minor) for p in s.exec(select(PaymentRow)).all()] == [("mobile", 500)]
    finally:
        site.stop()


def test_paid_by_phone_then_driving_out_within_the_exit_grace(store, clock, cloud, memory_keyring, server_clock) -> None:  # type: ignore[no-untyped-def]

    def cloud_time_is_booth_time() -> None:
        server_clock.offset = clock.now() - datetime.now(timezone.utc)  # the driver pays "now"

    site, rec = _site(store, clock, cloud)
    try:
        _enter(site, rec, "EARLY1")
        clock.advance(minutes=50)  # paid at 50 min: 1 started hour, 2.50
        cloud_time_is_booth_time()
        pay_by_phone(cloud.url, cloud.site_id, "EARLY1")
        clock.advance(seconds=1)
        wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "EARLY1")) == 1)
        paid_at = store.query(cloud_copies.remote_payments_for, "EARLY1")[0].paid_at
        clock.set(paid_at)
        clock.advance(minutes=12)  # the hour has turned (5.00 now) but within 15 min of paying
        site.lanes.gates["OUT1"].arrive("EARLY1")
        rec.wait_for(lambda: bool(rec.of(ExitSettled)))
        assert rec.of(ExitPending) == []
        settled = rec.of(ExitSettled)[0]
        assert settled.closed.visit.fee_minor == 250
        assert any("exit grace" in item.label for item in settled.ticket.quote.items)
        _enter(site, rec, "LATE1")
        clock.advance(minutes=50)
        cloud_time_is_booth_time()
        pay_by_phone(cloud.url, cloud.site_id, "LATE1")
        clock.advance(seconds=1)
        wait_until(lambda: len(store.query(cloud_copies.remote_payments_for, "LATE1")) == 1)
        clock.set(store.query(cloud_copies.remote_payments_for, "LATE1")[0].paid_at)
        clock.advance(minutes=30)  # beyond the grace: the desk collects what is owed now
        site.lanes.gates["OUT1"].arrive("LATE1")
        rec.wait_for(lambda: bool(rec.of(ExitPending)))
        # 1 h 20 min: 5.00 now; the 2.50 paid by phone counts, the desk takes the difference.
        ticket = rec.of(ExitPending)[-1].ticket
        assert (ticket.quote.total.minor, ticket.due.minor) == (500, 250)
        site.desk.pay_cash(ticket.id, "5", attendant="ann")
        rec.wait_for(lambda: any(e.ticket.visit.plate == "LATE1" for e in rec.of(ExitSettled)))
        with Session(store.engine) as s:
            late = s.exec(select(PaymentRow).where(PaymentRow.visit_id == ticket.visit.id)).all()
        assert sorted((p.method, p.amount_minor) for p in late) == [("cash", 250), ("mobile", 250)]
        assert store.query(cloud_copies.remote_payments_for, "LATE1") == []  # the phone payment is used
    finally:
        site.stop()


async def test_the_phone_qr_names_the_site_the_cloud_said(store, clock, cloud, memory_keyring) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import parse_qs, urlsplit

    from console.ui.app import BoothApp
    from tests.ui.test_console_ui import _car_waiting_at_exit, until

    save_token(cloud.url, cloud.token)
    # No site id in the site file: the cloud says which site the token belongs to.
    config = parse_site(site_text(200, f'\n[cloud]\nurl = "{cloud.url}"\n'), "t.toml")
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=2), sync_tuning=FAST)
    site.start()
    site.staff.open_shift("ann", "0")
    try:
        assert site.cloud is not None
        wait_until(lambda: site.cloud is not None and site.cloud.status().online and site.cloud.status().site_id == cloud.site_id)
        app = BoothApp(site, attendant="ann")
        async with app.run_test(size=(130, 50)) as pilot:
            desk = await _car_waiting_at_exit(pilot, app, site, clock)
            await pilot.press("ctrl+r")
            await until(pilot, lambda: bool(desk.payment_link))
            query = parse_qs(urlsplit(desk.payment_link).query)
            assert query == {"site": [cloud.site_id], "plate": ["AB1234C"]}
    finally:
        site.stop()
