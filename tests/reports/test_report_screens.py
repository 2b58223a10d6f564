"""The two report screens driven through Textual's Pilot, fed real report objects built
from the hand-made day in conftest.py."""

from __future__ import annotations

import io
import re
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import Input, Label, Static, TabbedContent, Tabs
from textual_plotext import PlotextPlot

from console.reports.model import ManagerReport, ShiftReport
from console.reports.queries import build_manager_report, build_shift_report
from console.ui.screens.reports import ManagerReportsScreen, RangeError, parse_range
from console.ui.screens.shift_report import ShiftReportScreen
from tests.reports.conftest import TZ, Day


class Host(App[None]):
    """A bare app that shows one screen, as the console will."""

    def __init__(self, screen: Any) -> None:
        super().__init__()
        self.start_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.start_screen)


def text_of(widget: Static) -> str:
    console = Console(width=140, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as capture:
        console.print(widget.content)
    return capture.get()


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the screen did not reach the expected state")
        await pilot.pause(0.02)
    await pilot.pause()


# -- shift report ---------------------------------------------------------------------------


@pytest.fixture
def shift_report(store, day: Day) -> ShiftReport:  # type: ignore[no-untyped-def]
    return build_shift_report(store.engine, day.s1, TZ, site_name="Test Garage")


async def test_shift_report_screen_shows_the_figures(shift_report: ShiftReport) -> None:
    threads: list[str] = []

    def fetch() -> ShiftReport:
        threads.append(threading.current_thread().name)
        return shift_report

    screen = ShiftReportScreen(fetch)
    app = Host(screen)
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: screen.report is not None and bool(screen.query("#section-cash")))
        assert threads and threads[0] != threading.main_thread().name  # fetched off the UI thread
        assert "Test Garage" in text_of(screen.query_one("#section-head", Static))
        payments = text_of(screen.query_one("#section-payments", Static))
        assert "€22.70" in payments and "€92.40" in payments
        cash = text_of(screen.query_one("#section-cash", Static))
        assert "€65.50" in cash and "Short by €0.50" in cash and "change left by drivers" in cash
        overrides = text_of(screen.query_one("#section-overrides", Static))
        assert "ambulance on call" in overrides and "lost tickets 1" in overrides
        gates = text_of(screen.query_one("#section-gates", Static))
        assert "driver had no cash" in gates and "emergency vehicle" in gates
        assert "owed €16.50" in text_of(screen.query_one("#section-debts", Static))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not screen)


async def test_shift_report_screen_prints_and_exports(shift_report: ShiftReport, tmp_path: Path) -> None:
    printed: list[ShiftReport] = []
    fail = {"now": False}

    def on_print(report: ShiftReport) -> None:
        if fail["now"]:
            raise RuntimeError("paper out")
        printed.append(report)

    screen = ShiftReportScreen(lambda: shift_report, on_print=on_print, export_dir=tmp_path / "reports")
    app = Host(screen)
    async with app.run_test(size=(130, 40), notifications=False) as pilot:
        await until(pilot, lambda: screen.report is not None)
        message = screen.query_one("#message", Static)
        await pilot.press("p")
        await until(pilot, lambda: "Sent to the printer" in str(message.content))
        assert printed == [shift_report]
        fail["now"] = True
        await pilot.press("p")
        await until(pilot, lambda: "Not printed: paper out" in str(message.content))
        assert message.has_class("-error")
        await pilot.press("e")
        await until(pilot, lambda: "Written" in str(message.content))
        csv_file = tmp_path / "reports" / f"shift-{shift_report.shift_id}.csv"
        pdf_file = csv_file.with_suffix(".pdf")
        assert "92.40" in csv_file.read_text(encoding="utf-8")
        assert pdf_file.read_bytes().startswith(b"%PDF-")


async def test_shift_report_screen_shows_a_failure_and_recovers(shift_report: ShiftReport) -> None:
    calls = {"n": 0}

    def fetch() -> ShiftReport:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the database is busy (locked by another program)")
        return shift_report

    screen = ShiftReportScreen(fetch)
    app = Host(screen)
    async with app.run_test(size=(130, 40)) as pilot:
        message = screen.query_one("#message", Static)
        await until(pilot, lambda: "could not be built" in str(message.content))
        assert "database is busy" in str(message.content)
        await pilot.press("p")  # nothing to print yet: a message, no crash
        await pilot.press("r")
        await until(pilot, lambda: screen.report is not None)
        assert calls["n"] == 2


# -- manager reports ----------------------------------------------------------------------


def test_parse_range() -> None:
    assert parse_range("2026-03-01", " 2026-03-31 ") == (date(2026, 3, 1), date(2026, 3, 31))
    for start, end, message in (
        ("2026-3-1", "2026-03-31", "From: 2026-3-1 is not a day"),
        ("2026-03-01", "", "To: (empty) is not a day"),
        ("2026-03-02", "2026-03-01", "To is before From"),
        ("2025-01-01", "2026-01-02", "At most 366 days"),
    ):
        with pytest.raises(RangeError, match=re.escape(message)):
            parse_range(start, end)


async def test_manager_screen_range_picker_and_charts(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    asked: list[tuple[date, date]] = []

    def fetch(start: date, end: date) -> ManagerReport:
        asked.append((start, end))
        return build_manager_report(store.engine, start, end, TZ, currency="EUR")

    today = date(2026, 3, 2)
    screen = ManagerReportsScreen(fetch, today=today, days=7)
    app = Host(screen)
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: screen.report is not None)
        assert asked == [(date(2026, 2, 24), today)]
        summary = text_of(screen.query_one("#summary", Static))
        assert "Revenue €151.17 (10 payments" in summary and "Cash €73.70" in summary
        hour_plot = screen.query_one("#revenue-hour", PlotextPlot)
        assert "Revenue by hour of day (EUR, local time)" in str(hour_plot.render())

        # A bad day is refused with a message; nothing is fetched.
        start = screen.query_one("#start", Input)
        start.focus()
        start.value = ""
        await pilot.press(*"2026-02-31", "enter")
        await pilot.press("enter")  # on "To": submit
        error = screen.query_one("#range-error", Label)
        await until(pilot, lambda: "not a day" in str(error.content))
        assert len(asked) == 1

        # A good range by typing, then the 30-day preset by key.
        start.value = "2026-03-02"
        screen.query_one("#end", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: len(asked) == 2 and screen.report is not None and screen.report.start == today)
        assert str(error.content) == ""
        assert screen.report.days[0].revenue.minor == 15117
        await pilot.press("f7")
        await until(pilot, lambda: len(asked) == 3 and screen.report is not None and screen.report.start == date(2026, 2, 1))
        assert asked[-1] == (date(2026, 2, 1), today)

        # The chart tabs switch from the keyboard.
        tabbed = screen.query_one(TabbedContent)
        screen.query_one(Tabs).focus()
        await pilot.press("right", "right")
        await until(pilot, lambda: tabbed.active == "tab-occupancy")
        occupancy = screen.query_one("#occupancy", PlotextPlot)
        await until(pilot, lambda: occupancy.size.width > 0)
        assert "Vehicles inside at each full hour" in str(occupancy.render())
        await pilot.press("right", "right")
        await until(pilot, lambda: tabbed.active == "tab-overrides")
        table = text_of(screen.query_one("#override-table", Static))
        assert "anna" in table and "bob" in table and "Waived 2" in table


async def test_manager_screen_shows_a_failure(store) -> None:  # type: ignore[no-untyped-def]
    def fetch(start: date, end: date) -> ManagerReport:
        raise RuntimeError("cannot read the database")

    screen = ManagerReportsScreen(fetch, today=date(2026, 3, 2))
    app = Host(screen)
    async with app.run_test(size=(130, 40)) as pilot:
        summary = screen.query_one("#summary", Static)
        await until(pilot, lambda: "could not be built" in text_of(summary))
        assert "cannot read the database" in text_of(summary)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not screen)


async def test_manager_screen_shows_charging_by_franchise(store, day: Day) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from console.domain.money import Money
    from console.reports.model import ChargingRow, ChargingUsage, FranchiseCharging

    hours = tuple(1500 if h in (18, 19) else 0 for h in range(24))
    usage = ChargingUsage(energy_by_hour=hours, franchises=(FranchiseCharging("North", 3, 3000, Money(96, "EUR")),),
                          by_user=(ChargingRow("North", "flat-12a", 2, 2000, Money(64, "EUR")),),
                          by_pile=(ChargingRow("North", "E1", 3, 3000, Money(96, "EUR")),),
                          by_region=(ChargingRow("North", "levels-b1", 3, 3000, Money(96, "EUR")),))

    def fetch(start: date, end: date) -> ManagerReport:
        return replace(build_manager_report(store.engine, start, end, TZ, currency="EUR"), charging=usage)

    screen = ManagerReportsScreen(fetch, today=date(2026, 3, 2))
    app = Host(screen)
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: screen.report is not None)
        screen.query_one("#charts", TabbedContent).active = "tab-charging"
        await pilot.pause()
        assert "Charging energy by hour of day" in str(screen.query_one("#charging", PlotextPlot).render())
        table = text_of(screen.query_one("#charging-table", Static))
        assert "North" in table and "3.0" in table and "€0.96" in table
        assert "flat-12a" in table and "€0.64" in table and "E1" in table and "levels-b1" in table
