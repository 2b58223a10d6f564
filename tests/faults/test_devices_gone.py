"""A lane controller unplugged under the running console (Pilot, real pty).

The exit lane's controller is a simulated one on a real pseudo-terminal, reached by the
console's real serial driver; its cable is pulled (the pty closed) while the console
runs, in the middle of a barrier command. The lane panel says the device is offline in
the attendant's language, the entry lane goes on working, nothing is recorded twice,
and when the cable is back the lane comes back by itself and cars leave through it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from console.i18n import set_language
from console.site.build import build_site
from console.site.config import parse_site
from console.site.site import Site
from console.store import visits
from console.store.tables import PaymentRow
from console.ui.app import BoothApp
from console.ui.screens.exit_desk import ExitDeskScreen
from drivers.gate.base import LaneRole
from drivers.gate.sim_serial import PtyLaneSimulator
from drivers.gate.simlane import FAST_TIMING
from drivers.gate.simworld import Traffic
from tests.conftest import site_text
from tests.drivers.gate.conftest import FAST_LINK
from tests.ui.test_console_ui import _lane_text, until

pytestmark = pytest.mark.sqlite_only

OFFLINE = {"en": "offline", "zh_CN": "离线"}


@pytest.fixture
def exit_controller() -> Iterator[PtyLaneSimulator]:
    sim = PtyLaneSimulator(LaneRole.EXIT, Traffic(seed=3), timing=FAST_TIMING, heartbeat=0.2, heartbeat_timeout=1.0, ack_timeout=0.1)
    sim.start()
    yield sim
    sim.stop()


def _site(store, clock, sim: PtyLaneSimulator) -> Site:  # type: ignore[no-untyped-def]
    text = site_text().replace('gate = "sim://?timing=fast"', f'gate = "serial://{sim.url}?{FAST_LINK}"')
    assert sim.url in text
    site = build_site(parse_site(text, "pty-site.toml"), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.open_shift("ann", "0")
    return site


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
async def test_exit_controller_unplugged_mid_command_then_back(store, clock, exit_controller: PtyLaneSimulator, lang: str) -> None:  # type: ignore[no-untyped-def]
    sim = exit_controller
    site = _site(store, clock, sim)
    app = BoothApp(site, attendant="ann")
    set_language(lang)
    try:
        async with app.run_test(size=(130, 40)) as pilot:
            await until(pilot, lambda: site.board.lane("OUT1").health == "ok", timeout=10)
            assert OFFLINE[lang] not in _lane_text(app, "OUT1")

            # A car pays; the cable is pulled as the barrier command goes out.
            site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
            await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
            clock.advance(hours=2, minutes=5)
            sim.arrive("AB1234C")
            await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready, timeout=10)
            await pilot.press(*"20", "enter")
            sim.unplug()
            await until(pilot, lambda: site.board.lane("OUT1").health == "offline", timeout=10)
            await pilot.press("escape")
            await until(pilot, lambda: OFFLINE[lang] in _lane_text(app, "OUT1"), timeout=5)

            # The rest of the booth works on: a car enters at the entry lane.
            site.lanes.gates["IN1"].arrive("CD5678E")  # type: ignore[attr-defined]
            await until(pilot, lambda: store.query(visits.open_visit_for, "CD5678E") is not None, timeout=5)

            # The cable is back: the lane comes back by itself, and the next car leaves.
            sim.replug()
            await until(pilot, lambda: site.board.lane("OUT1").health == "ok", timeout=10)
            await until(pilot, lambda: OFFLINE[lang] not in _lane_text(app, "OUT1"), timeout=5)
            clock.advance(hours=1)
            sim.arrive("CD5678E")
            await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready, timeout=10)
            await pilot.press(*"20", "enter")
            await until(pilot, lambda: store.query(visits.open_visit_for, "CD5678E") is None, timeout=10)
            # The barrier opened for it: the controller confirmed the opening.
            await until(pilot, lambda: store.query(visits.latest_visit_for, "CD5678E").exit_opened_at is not None, timeout=10)
    finally:
        set_language("en")
    with store.read() as tx:
        paid = sorted(p.amount_minor for p in tx.exec(select(PaymentRow)).all())
    assert paid == [250, 750]  # each car paid once: nothing lost, nothing doubled


@pytest.mark.parametrize("lang, waits", [("en", "waits for the printer"), ("zh_CN", "等待打印机")])
def test_printer_switched_off_mid_receipts_prints_them_once_when_back(store, clock, lang: str, waits: str) -> None:  # type: ignore[no-untyped-def]
    """The printer goes off between receipts (its port closes). The payments stand, the
    receipts wait with the reason said, and they print — each once — soon after it is
    switched on again, well before the queue's back-off would have retried."""
    import time

    from console.site.events import ExitPending, LogEntry
    from console.store.receipts import waiting
    from drivers.printer.simulator import NetworkPrinterSimulator
    from tests.conftest import Recorder

    set_language(lang)
    with NetworkPrinterSimulator() as printer:
        text = site_text(200, f'\n[printer]\nurl = "{printer.url}"\n')
        site = build_site(parse_site(text, "printer-site.toml"), store, clock=clock, traffic=Traffic(seed=1))
        rec = Recorder()
        site.bus.subscribe(rec)
        assert site.print_queue is not None
        site.print_queue._retry = 30.0  # a long back-off: only the printer coming back can end it early
        site.start()
        try:
            site.staff.open_shift("ann", "0")
            printer.set_state("offline")
            plates = ["AB1234C", "CD5678E", "EF9012G"]
            for plate in plates:
                site.lanes.gates["IN1"].arrive(plate)  # type: ignore[attr-defined]
                rec.wait_for(lambda p=plate: store.query(visits.open_visit_for, p) is not None)
                clock.advance(minutes=50)
                before = len(rec.of(ExitPending))
                site.lanes.gates["OUT1"].arrive(plate)  # type: ignore[attr-defined]
                rec.wait_for(lambda b=before: len(rec.of(ExitPending)) > b)
                site.desk.pay_cash(rec.of(ExitPending)[-1].ticket.id, "20", attendant="ann")
            rec.wait_for(lambda: any(waits in e.text for e in rec.of(LogEntry)), timeout=10)
            rec.wait_for(lambda: site.board.device_health()["printer"].state.value == "offline", timeout=10)
            assert len(store.query(waiting, 10)) == 3
            time.sleep(1.0)
            printer.set_state("ok")
            back = time.monotonic()
            while store.query(waiting, 10) and time.monotonic() - back < 20:
                time.sleep(0.05)
            assert not store.query(waiting, 10), "receipts still waiting after the printer came back"
            assert time.monotonic() - back < 20  # not the 30-60 s back-off
        finally:
            site.stop()
            set_language("en")
        printed = printer.decode().text
    assert [printed.count(p) for p in plates] == [1, 1, 1]
    with store.read() as tx:
        assert len(tx.exec(select(PaymentRow)).all()) == 3


@pytest.mark.parametrize("lang, offline", [("en", "printer: offline"), ("zh_CN", "打印机：离线")])
async def test_printer_gone_shows_on_the_status_line_and_clears(store, clock, lang: str, offline: str) -> None:  # type: ignore[no-untyped-def]
    """The printer switched off under the console: the status line says so in the
    attendant's language while a paid car's receipt waits; it clears when the printer is
    back and the receipt has printed."""
    from console.store.receipts import waiting
    from console.ui.widgets.status_bar import StatusBar
    from drivers.printer.simulator import NetworkPrinterSimulator

    with NetworkPrinterSimulator() as printer:
        text = site_text(200, f'\n[printer]\nurl = "{printer.url}"\n')
        site = build_site(parse_site(text, "printer-site.toml"), store, clock=clock, traffic=Traffic(seed=1))
        site.staff.open_shift("ann", "0")
        app = BoothApp(site, attendant="ann")
        set_language(lang)
        try:
            async with app.run_test(size=(130, 40)) as pilot:
                bar = app.dashboard.query_one(StatusBar)
                printer.set_state("offline")
                site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
                await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
                clock.advance(hours=2, minutes=5)
                site.lanes.gates["OUT1"].arrive("AB1234C")  # type: ignore[attr-defined]
                await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready, timeout=10)
                await pilot.press(*"20", "enter")
                await until(pilot, lambda: store.query(visits.open_visit_for, "AB1234C") is None, timeout=10)
                await pilot.press("escape")
                await until(pilot, lambda: offline in str(bar.render()), timeout=15)
                assert store.query(waiting, 10)  # the receipt waits; the payment stands
                printer.set_state("ok")
                await until(pilot, lambda: not store.query(waiting, 10), timeout=20)
                await until(pilot, lambda: offline not in str(bar.render()), timeout=10)
        finally:
            set_language("en")
        assert printer.decode().text.count("AB1234C") == 1


async def test_a_printer_switched_off_between_receipts_shows_before_anyone_needs_one(store, clock) -> None:  # type: ignore[no-untyped-def]
    """No receipt is printed or waiting: the print queue's check of the printer between
    receipts finds it switched off, and the status line says so; switched on, it clears."""
    from console.store.receipts import waiting
    from console.ui.widgets.status_bar import StatusBar
    from drivers.printer.simulator import NetworkPrinterSimulator

    with NetworkPrinterSimulator() as printer:
        text = site_text(200, f'\n[printer]\nurl = "{printer.url}"\n')
        site = build_site(parse_site(text, "printer-site.toml"), store, clock=clock, traffic=Traffic(seed=1))
        site.print_queue.monitor_seconds = 0.5  # type: ignore[union-attr]
        app = BoothApp(site, attendant="ann")
        async with app.run_test(size=(130, 40)) as pilot:
            bar = app.dashboard.query_one(StatusBar)
            await until(pilot, lambda: "printer" in bar.devices and bar.devices["printer"].state == "ok", timeout=10)
            printer.set_state("offline")
            await until(pilot, lambda: "printer: offline" in str(bar.render()), timeout=10)
            assert not store.query(waiting, 10)
            printer.set_state("ok")
            await until(pilot, lambda: "printer: offline" not in str(bar.render()), timeout=10)
