"""The whole exit flow of a Chinese car park, through Pilot at 80x24 and 120x40, on a real
SQLite file with simulated lanes and a receipt printer writing to a file: a car with a
Chinese plate enters, leaves, pays cash and gets its receipt; a plate typed with F2 and
the province picker; a lost ticket. Every check reads what the screen draws, so a plate,
a fee, a lane state or the change cut off by double-width characters fails."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest
from sqlmodel import Session, select
from textual.widgets import Input, Select

from console.domain.staff import Role
from console.i18n import set_language
from console.site.build import build_site
from console.site.site import Site
from console.store.tables import PaymentRow
from console.ui.app import BoothApp
from console.ui.screens.exit_desk import ExitDeskScreen
from drivers.gate.simworld import Traffic
from drivers.printer.escpos_decode import Decoded, decode
from tests.ui.chinese_site import GARAGE_TARIFF, chinese_site
from tests.ui.test_console_ui import until

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def chinese() -> Iterator[None]:
    """The console speaks the site's language, Simplified Chinese (as `booth run` sets it)."""
    set_language("zh_CN")
    try:
        yield
    finally:
        set_language("en")


def shown(app: BoothApp) -> str:
    """The characters of the top screen as the compositor draws them, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def _site(store, clock, paper: Path, attendant: str = "ann") -> Site:  # type: ignore[no-untyped-def]
    config = chinese_site(tariff=GARAGE_TARIFF, extra=f'\n[printer]\nurl = "file://{paper}"\n')
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=3))
    site.staff.open_shift(attendant, "0")  # the drawer is open: cash can be taken
    return site


def _receipts(paper: Path, count: int) -> list[Decoded]:
    """The first `count` documents on the paper (waits for the print queue)."""
    deadline = time.monotonic() + 10
    while True:
        jobs = decode(paper.read_bytes()).jobs() if paper.exists() else []
        if len(jobs) >= count or time.monotonic() > deadline:
            assert len(jobs) >= count, f"{len(jobs)} of {count} receipts printed"
            return jobs
        time.sleep(0.05)


def _payments(store) -> list[PaymentRow]:  # type: ignore[no-untyped-def]
    with Session(store.engine) as s:
        return list(s.exec(select(PaymentRow)).all())


def _desk(app: BoothApp) -> ExitDeskScreen:
    assert isinstance(app.screen, ExitDeskScreen)
    return app.screen


@pytest.mark.parametrize("size", SIZES)
async def test_a_new_energy_car_pays_cash_and_gets_a_chinese_receipt(store, clock, tmp_path, chinese, size) -> None:  # type: ignore[no-untyped-def]
    paper = tmp_path / "receipts.bin"
    site = _site(store, clock, paper)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await until(pilot, lambda: "已落杆" in shown(app))  # both barriers down, said in Chinese
        site.lanes.gates["IN1"].arrive("粤B·D12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
        await until(pilot, lambda: "1/200" in shown(app) and "空位 199" in shown(app))
        assert "D12345" in shown(app)  # the plate in the entry lane's panel
        clock.advance(hours=2, minutes=5)  # 5 started half hours at 2.50 yuan
        site.lanes.gates["OUT1"].arrive("粤BD12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
        desk = _desk(app)
        screen = shown(app)
        assert "粤B·D12345" in screen  # the plate as it is written, not cut
        assert "应付：¥12.50" in screen  # the fee in yuan with its fen
        assert "2026-03-02 16:00" in screen and "2026-03-02 18:05" in screen  # as a Chinese site writes times
        assert "收款" in screen and "Enter" in screen  # the key that pays, in the hints
        await pilot.press("escape")  # the driver looks for money: the car waits at its lane
        await until(pilot, lambda: app.screen is app.dashboard)
        await until(pilot, lambda: "¥12.50" in shown(app))
        screen = shown(app)
        assert "等候缴费：1 辆" in screen and "F3：下一辆 OUT1 粤B·D12345" in screen  # the queue line
        assert "有车" in screen  # the exit lane's loop holds the car
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
        desk = _desk(app)
        await pilot.press(*"50", "enter")
        await until(pilot, lambda: desk.settled is not None)
        await until(pilot, lambda: "找零" in shown(app))
        screen = shown(app)
        assert "已付款" in screen and "找零：¥37.50" in screen  # the change due, whole
        assert "粤B·D12345" in screen and "Enter 关闭" in screen
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is app.dashboard)
        await until(pilot, lambda: site.board.occupancy()[0].occupied == 0 and "0/200" in shown(app))
        assert "已抬杆" in shown(app) or "已落杆" in shown(app)  # the exit barrier's state shows again
        await until(pilot, lambda: "OUT1：粤B·D12345 已离场，费用 ¥12.50，已付 ¥12.50" in shown(app))  # the event log
        assert "IN1：粤B·D12345 已入场" in shown(app)
        await pilot.press("f7")  # the receipts list: the plate as written, the time as a Chinese site writes it
        await until(pilot, lambda: app.screen.id == "receipts" and "粤B·D12345" in shown(app))
        assert "03-02 18:05" in shown(app) and "02.03." not in shown(app)
    assert [(p.method, p.amount_minor, p.tendered_minor, p.change_minor) for p in _payments(store)] == [("cash", 1250, 5000, 3750)]
    receipt = _receipts(paper, 1)[0]
    assert "粤B·D12345" in receipt.text and "¥12.50" in receipt.text
    assert "找零" in receipt.text and "¥37.50" in receipt.text
    assert "2026-03-02 18:05" in receipt.text


@pytest.mark.parametrize("size", SIZES)
async def test_a_plate_typed_with_the_province_picker_goes_to_the_desk(store, clock, tmp_path, chinese, size) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock, tmp_path / "receipts.bin")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["IN1"].arrive("京A12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
        clock.advance(hours=1, minutes=10)  # 3 started half hours
        await pilot.press("f2")  # the reader at the exit saw nothing: the attendant types it
        await until(pilot, lambda: app.screen.id == "plate-prompt")
        screen = shown(app)
        assert "按车牌出场" in screen and "粤" in screen  # the site's own province is offered first
        app.screen.query_one("#province", Input).focus()
        await pilot.press(*"jing")  # pinyin narrows the picker to 京
        await until(pilot, lambda: "1京" in shown(app).replace(" ", ""))
        await pilot.press("1")  # the digit picks it; the plate field takes the rest
        await until(pilot, lambda: app.screen.focused is not None and app.screen.focused.id == "plate")
        await pilot.press(*"a12345")
        await until(pilot, lambda: "→ 京A·12345" in shown(app))  # normalized before it is used
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
        desk = _desk(app)
        screen = shown(app)
        assert "京A·12345" in screen and "应付：¥7.50" in screen
        await pilot.press("f5", "enter")  # the exact amount: no change
        await until(pilot, lambda: desk.settled is not None)
        await until(pilot, lambda: "已付款" in shown(app))
        assert "找零：¥0.00" in shown(app)
    assert [(p.amount_minor, p.change_minor) for p in _payments(store)] == [(750, 0)]


@pytest.mark.parametrize("size", SIZES)
async def test_a_lost_ticket_in_chinese(store, clock, tmp_path, chinese, size) -> None:  # type: ignore[no-untyped-def]
    paper = tmp_path / "receipts.bin"
    site = _site(store, clock, paper)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["OUT1"].arrive("沪AD12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: app.screen.id == "unknown-entry")
        screen = shown(app)
        assert "沪A·D12345" in screen and "无入场记录" in screen  # the plate as written: no visit for it
        assert "丢票收费" in screen  # the lost-ticket fee is the first choice
        app.screen.query_one("#reason", Input).focus()
        await pilot.press(*"丢失停车卡", "enter")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
        desk = _desk(app)
        screen = shown(app)
        assert "应付：¥60.00" in screen and "沪A·D12345" in screen
        await pilot.press(*"100", "enter")
        await until(pilot, lambda: desk.settled is not None)
        await until(pilot, lambda: "找零：¥40.00" in shown(app))
    assert [(p.amount_minor, p.change_minor) for p in _payments(store)] == [(6000, 4000)]
    receipt = _receipts(paper, 1)[0]
    assert "沪A·D12345" in receipt.text and "¥60.00" in receipt.text


async def test_messages_and_the_lock_screen_write_plates_as_written(store, clock, tmp_path, chinese) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock, tmp_path / "receipts.bin", attendant="Ann")
    site.staff.add_user("Ann", Role.ATTENDANT, "4826", actor="test")
    app = BoothApp(site, attendant="Ann", role=Role.ATTENDANT)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["IN1"].arrive("粤BD12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
        clock.advance(hours=2, minutes=5)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.screen.id == "sign-in")
        site.lanes.gates["OUT1"].arrive("粤BD12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: "1 辆车等候：OUT1 粤B·D12345 ¥12.50" in shown(app))  # behind the lock
        await pilot.press("enter", *"4826", "enter")
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
        await pilot.press(*"20", "enter")
        await until(pilot, lambda: _desk(app).settled is not None)
        await pilot.press("enter")
        await until(pilot, lambda: any("粤B·D12345 已付，找零 ¥7.50" in str(n.message) for n in app._notifications))


async def test_a_stay_of_days_reads_in_chinese_at_the_desk(store, clock, tmp_path, chinese) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock, tmp_path / "receipts.bin")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["IN1"].arrive("京A12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
        clock.advance(days=2, hours=3, minutes=5)  # 2 days at the 60 yuan cap, then 7 half hours
        site.lanes.gates["OUT1"].arrive("京A12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
        screen = shown(app)
        assert "停留时长  2天 03:05" in screen and "2026-03-04 19:05" in screen
        assert "应付：¥137.50" in screen and "京A·12345" in screen


async def test_no_ticket_priced_from_the_entry_time_the_driver_states(store, clock, tmp_path, chinese) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock, tmp_path / "receipts.bin")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["OUT1"].arrive("沪AD12345")  # type: ignore[attr-defined]
        await until(pilot, lambda: app.screen.id == "unknown-entry")
        assert "2026-11-21 14:30" in shown(app)  # the example is written as a Chinese site writes a time
        app.screen.query_one("#mode", Select).value = "time"
        app.screen.query_one("#entry", Input).focus()
        await pilot.press(*"2026-03-02 14:30", "enter")  # 16:00 now in Shanghai: 1 h 30 min
        await pilot.press(*"司机说明入场时间", "enter")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
        screen = shown(app)
        assert "2026-03-02 14:30" in screen and "停留时长  1:30" in screen and "应付：¥7.50" in screen
