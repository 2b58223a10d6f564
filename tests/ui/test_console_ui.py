"""The console driven through Textual's Pilot, on a real site with simulated lanes."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from sqlmodel import Session, select
from textual.widgets import Input, Label, ProgressBar, Static

from console.site.build import build_site
from console.site.site import Site
from console.store import visits
from console.store.tables import PaymentRow
from console.ui.app import BoothApp
from console.ui.screens.exit_desk import ExitDeskScreen
from console.ui.widgets.event_log import EventLog
from console.ui.widgets.lane_panel import LanePanel
from console.ui.widgets.zone_gauge import ZoneGauge
from drivers.gate.simworld import Traffic
from tests.conftest import small_site


async def until(pilot, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("screen did not reach the expected state")
        await pilot.pause(0.02)
    await pilot.pause()  # let a newly shown screen finish mounting (focus, bindings)


def _site(store, clock) -> Site:  # type: ignore[no-untyped-def]
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.open_shift("ann", "0")  # the drawer is open: cash can be taken
    return site


def _lane_text(app: BoothApp, lane: str) -> str:
    return str(app.dashboard.query_one(f"#lane-{lane}", LanePanel).render())


async def test_dashboard_follows_lane_events(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, theme_name="booth-dark", attendant="ann")
    async with app.run_test(size=(130, 36)) as pilot:
        await until(pilot, lambda: "CLOSED" in _lane_text(app, "IN1"))
        site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
        await until(pilot, lambda: "AB1234C" in _lane_text(app, "IN1"))
        gauge = app.dashboard.query_one("#zone-P1", ZoneGauge)
        await until(pilot, lambda: gauge.query_one(ProgressBar).progress == 1)
        assert "1/200" in str(gauge.query_one(".zone-count", Label).render())
        log = app.dashboard.query_one(EventLog)
        await until(pilot, lambda: any("AB1234C entered" in str(line.text) for line in log.lines))
        assert app.theme == "booth-dark"


async def test_full_zone_is_shown_as_full(store, clock) -> None:  # type: ignore[no-untyped-def]
    from console.site.config import parse_site
    from tests.conftest import site_text

    site = build_site(parse_site(site_text(1), "t.toml"), store, clock=clock, traffic=Traffic(seed=1))
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 36)) as pilot:
        site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
        gauge = app.dashboard.query_one("#zone-P1", ZoneGauge)
        await until(pilot, lambda: gauge.has_class("-full"))
        assert "FULL" in str(gauge.query_one(".zone-count", Label).render())


async def _car_waiting_at_exit(pilot, app: BoothApp, site: Site, clock) -> ExitDeskScreen:  # type: ignore[no-untyped-def]
    site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
    await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
    clock.advance(hours=2, minutes=5)
    site.lanes.gates["OUT1"].arrive("AB1234C")  # type: ignore[attr-defined]
    # A desk that opens by itself takes keys once its short guard is over.
    await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
    return app.screen  # type: ignore[return-value]


def _payments(store) -> list[PaymentRow]:  # type: ignore[no-untyped-def]
    with Session(store.engine) as s:
        return list(s.exec(select(PaymentRow)).all())


async def test_cash_exit_with_change_from_the_keyboard(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        assert "€7.50" in str(desk.query_one("#due", Label).render())
        await pilot.press("2", "0", "enter")  # amount typed, then ONE key to pay
        await until(pilot, lambda: "PAID" in str(desk.query_one("#message", Static).render()))
        assert "Change: €12.50" in str(desk.query_one("#message", Static).render())
        await pilot.press("enter")  # one key to close; the gate is already opening
        await until(pilot, lambda: app.screen is app.dashboard)
        payments = _payments(store)
        assert [(p.amount_minor, p.tendered_minor, p.change_minor, p.attendant) for p in payments] == [(750, 2000, 1250, "ann")]
        assert site.board.occupancy()[0].occupied == 0


async def test_bad_tenders_are_refused_and_nothing_is_recorded(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        message = desk.query_one("#message", Static)
        for typed, words in (("5", "short"), ("-20", "negative"), ("abc", "not an amount")):
            field = desk.query_one(Input)
            field.value = ""
            await pilot.press(*typed, "enter")
            await until(pilot, lambda: words in str(message.render()))
            assert message.has_class("-error")
        assert _payments(store) == []
        assert site.board.occupancy()[0].occupied == 1


async def test_double_enter_records_one_payment(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        await pilot.press("f5")  # exact amount quick key
        assert desk.query_one(Input).value == "7.50"
        await pilot.press("enter", "enter")
        await until(pilot, lambda: app.screen is app.dashboard or desk.settled is not None)
        await asyncio.sleep(0.2)
        await pilot.pause()
        assert len(_payments(store)) == 1


async def test_escape_keeps_the_vehicle_waiting_and_f3_brings_it_back(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        ticket = desk.ticket
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        assert "WAITING" in _lane_text(app, "OUT1")
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        assert app.screen.ticket.id == ticket.id  # type: ignore[attr-defined]


async def test_exit_by_plate_unknown_plate_says_so(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await pilot.press("f2")
        await until(pilot, lambda: app.screen.id == "plate-prompt")
        await pilot.press(*"ZZ999", "enter")
        await until(pilot, lambda: any("unknown plate ZZ999" in str(n.message) for n in app._notifications))
        assert store.query(visits.totals) == {"entries": 0, "exits": 0, "revenue_minor": 0}


async def test_theme_switches_at_run_time(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, theme_name="booth-daylight", attendant="ann")
    async with app.run_test(size=(130, 36)) as pilot:
        assert app.theme == "booth-daylight"
        await pilot.press("f9")
        assert app.theme == "booth-dark"
        await pilot.press("f9")
        assert app.theme == "booth-daylight"


async def test_unknown_theme_in_config_falls_back(store, clock) -> None:  # type: ignore[no-untyped-def]
    app = BoothApp(_site(store, clock), theme_name="no-such-theme", attendant="ann")
    async with app.run_test(size=(130, 36)):
        assert app.theme == "booth-dark"


async def test_manual_gate_from_the_keyboard_is_audited(store, clock) -> None:  # type: ignore[no-untyped-def]
    from console.store.tables import GateActionRow

    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.site is not None and app.dashboard.site is not None)
        await pilot.press("f4")
        await until(pilot, lambda: app.screen.id == "manual-gate")
        app.screen.query_one("#reason").value = "other"  # type: ignore[attr-defined]
        app.screen.query_one("#note").focus()
        await pilot.press("enter")  # "other" without a note is refused
        await until(pilot, lambda: any("needs a note" in str(n.message) for n in app._notifications))
        with Session(store.engine) as s:
            assert s.exec(select(GateActionRow)).all() == []
        await pilot.press("f4")
        await until(pilot, lambda: app.screen.id == "manual-gate")
        app.screen.query_one("#reason").value = "safety"  # type: ignore[attr-defined]
        app.screen.query_one("#note").focus()
        await pilot.press(*"pedestrian", "enter")
        await until(pilot, lambda: any("recorded" in str(n.message) for n in app._notifications))
        with Session(store.engine) as s:
            rows = s.exec(select(GateActionRow)).all()
        assert [(r.lane, r.action, r.reason, r.note, r.actor) for r in rows] == [("IN1", "open", "safety", "pedestrian", "ann")]


async def test_unknown_plate_at_exit_lost_ticket_to_payment(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["OUT1"].arrive("LOST1")  # type: ignore[attr-defined]
        await until(pilot, lambda: app.screen.id == "unknown-entry")
        app.screen.query_one("#reason").focus()  # type: ignore[attr-defined]
        await pilot.press(*"ticket lost", "enter")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        assert app.screen.ticket.due.minor == 2000  # type: ignore[attr-defined]
        await pilot.press("f5", "enter")
        await until(pilot, lambda: app.screen.settled is not None)  # type: ignore[attr-defined]
        assert [(p.amount_minor, p.attendant) for p in _payments(store)] == [(2000, "ann")]


async def test_occupancy_repair_from_the_keyboard(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 44), notifications=True) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await pilot.press("f6")
        await until(pilot, lambda: app.screen.id == "occupancy")
        await pilot.press(*"abc", "enter", *"counted", "enter")
        await until(pilot, lambda: any("not a whole number" in str(n.message) for n in app._notifications))
        await pilot.press("f6")
        await until(pilot, lambda: app.screen.id == "occupancy")
        await pilot.press(*"12", "enter", *"counted on deck", "enter")
        gauge = app.dashboard.query_one("#zone-P1", ZoneGauge)
        await until(pilot, lambda: gauge.query_one(ProgressBar).progress == 12)
        assert site.board.occupancy()[0].occupied == 12


async def test_receipts_list_and_reprint_with_one_key(store, clock) -> None:  # type: ignore[no-untyped-def]
    from console.site.config import parse_site
    from drivers.printer.simulator import NetworkPrinterSimulator
    from tests.conftest import site_text

    with NetworkPrinterSimulator() as printer:
        config = parse_site(site_text(200, f'\n[printer]\nurl = "{printer.url}"\n'), "t.toml")
        site = build_site(config, store, clock=clock, traffic=Traffic(seed=1))
        site.staff.open_shift("ann", "0")
        app = BoothApp(site, attendant="ann")
        async with app.run_test(size=(130, 40)) as pilot:
            desk = await _car_waiting_at_exit(pilot, app, site, clock)
            await pilot.press("f5", "enter")
            await until(pilot, lambda: desk.settled is not None)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is app.dashboard)
            await pilot.press("f7")
            await until(pilot, lambda: app.screen.id == "receipts")
            table = app.screen.query_one("#table")  # type: ignore[attr-defined]
            await until(pilot, lambda: table.row_count == 1)
            await pilot.press("enter")  # one key reprints
            await until(pilot, lambda: table.row_count == 2, timeout=10)
            assert printer.model.wait_for(lambda data: data.count(b"\x1dV") >= 2, timeout=10)
        assert "COPY of receipt 1" in printer.decode().text
