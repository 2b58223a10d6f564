"""Snapshots of the attendant's main screens at 80x24 and 120x40, in English and in Chinese:
the dashboard with a vehicle waiting, the exit desk for it (F3), the receipts after it paid
(F7), the shift close (F10), the charging piles (F12) and the lock screen (ctrl+l). One working day's path through a
real site (simulated lanes, real SQLite, a fixed clock, fixed seeds), driven by Pilot.

Each screen is also checked for what must be on it whole (the plate, the fee, the keys), so
an update never stores a screen that lost them. `tests/ui/snapshots.py` says how to store
new snapshots after a deliberate change."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual_plotext import PlotextPlot

from console.domain.clock import FixedClock
from console.i18n import _, set_language
from console.ui.app import BoothApp
from console.ui.screens.exit_desk import ExitDeskScreen
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.lane_panel import LanePanel
from console.ui.widgets.status_bar import StatusBar
from tests.ui.screen_sites import PLATE, T0, screen_site
from tests.ui.snapshots import compare, screen_text
from tests.ui.test_console_ui import until

SIZES = [(80, 24), (120, 40)]
LANGUAGES = {"en": "en", "zh": "zh_CN"}


def _hints_whole(app: App[object]) -> None:
    hints = app.screen.query_one(KeyHints)
    assert hints.region.bottom <= app.size.height and hints.region.height >= 1


def _has(shown: str, *texts: str) -> None:
    for text in texts:
        assert text in shown, f"{text!r} is not on the screen:\n{shown}"


async def _settled(pilot, app: App[object]) -> None:  # type: ignore[no-untyped-def]
    """Let workers finish and the screen repaint twice, so what is drawn is final."""
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["en", "zh"])
async def test_main_screens(store, tmp_path: Path, language: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(T0)
    site = screen_site(store, language, clock, printer=tmp_path / "receipts.bin")
    plate = site.config.site.plates.display(PLATE[language])
    tag = f"{language}-{size[0]}x{size[1]}"
    set_language(LANGUAGES[language])
    try:
        app = BoothApp(site, attendant="ann")
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.dashboard.site is not None)
            status = app.dashboard.query_one(StatusBar)
            await until(pilot, lambda: len(status.devices) == 6 and all(h.state == "ok" for h in status.devices.values()), timeout=10)

            # A car in, two hours later at the exit: the desk opens by itself; Escape leaves it waiting.
            site.lanes.gates["IN1"].arrive(PLATE[language])  # type: ignore[attr-defined]
            await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
            clock.advance(hours=2, minutes=5)
            site.lanes.gates["OUT1"].arrive(PLATE[language])  # type: ignore[attr-defined]
            await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
            ticket = app.screen.ticket
            due = str(ticket.due)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)
            panel = app.dashboard.query_one("#lane-OUT1", LanePanel)
            await until(pilot, lambda: panel.lane.pending is not None)
            await _settled(pilot, app)
            shown = screen_text(app)
            _has(shown, plate, due, "OUT1", "IN2", "OUT2", "F3", "^q")
            _hints_whole(app)
            compare(f"dashboard-{tag}", shown)

            # F3: the desk for the vehicle waiting.
            await pilot.press("f3")
            await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen.ready)
            desk = app.screen
            await _settled(pilot, app)
            shown = screen_text(app)
            _has(shown, plate, due, "F5", "esc")
            _hints_whole(app)
            compare(f"exit-desk-{tag}", shown)

            # Paid exactly, closed; F7 lists the receipt with its print state.
            await pilot.press("f5", "enter")
            await until(pilot, lambda: desk.settled is not None)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is app.dashboard)
            await pilot.press("f7")
            await until(pilot, lambda: app.screen.id == "receipts" and bool(getattr(app.screen, "receipts", None)))
            await until(pilot, lambda: _("printed") in screen_text(app), timeout=10)
            await _settled(pilot, app)
            shown = screen_text(app)
            _has(shown, plate, due)
            _hints_whole(app)
            compare(f"receipts-{tag}", shown)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)

            # F10: closing the shift, the drawer's expected cash included.
            await pilot.press("f10")
            await until(pilot, lambda: app.screen.id == "close-shift")
            await _settled(pilot, app)
            shown = screen_text(app)
            _has(shown, "ann", "esc")
            _hints_whole(app)
            compare(f"shift-close-{tag}", shown)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)

            # F12: the e-bike pile's ports.
            await pilot.press("f12")
            await until(pilot, lambda: app.screen.id == "charging")
            await _settled(pilot, app)
            shown = screen_text(app, masked=app.screen.query(PlotextPlot))
            _has(shown, "EB1", "esc")
            _hints_whole(app)
            compare(f"charging-{tag}", shown)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)

            # ctrl+l: the lock screen keeps the lanes in view, read-only.
            await pilot.press("ctrl+l")
            await until(pilot, lambda: app.screen.id == "sign-in")
            await _settled(pilot, app)
            shown = screen_text(app)
            _has(shown, "IN1", "OUT2", "^q")
            _hints_whole(app)
            compare(f"lock-{tag}", shown)
    finally:
        set_language("en")
