"""The lock screen, theme colours, the palette and the simulated mark, through Pilot at
80x24 and 120x40, asserting on what the screen shows."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from textual.color import Color
from textual.command import CommandPalette
from textual.widgets import Input, Label

from console.domain.staff import Role
from console.site.build import build_site
from console.site.config import parse_site
from console.site.events import LogEntry
from console.ui.app import BoothApp
from console.ui.commands import BoothCommands
from console.ui.widgets.event_log import EventLog
from console.ui.widgets.lane_panel import LanePanel
from drivers.gate.simworld import Traffic
from tests.conftest import site_text, small_site
from tests.ui.test_console_ui import until

SIZES = [(80, 24), (120, 40)]


def screen_lines(app: BoothApp) -> list[str]:
    """The characters of the top screen as drawn (the lock screen is opaque)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def _app(store, clock, **kwargs):  # type: ignore[no-untyped-def]
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.add_user("Ann", Role.ATTENDANT, "4826", actor="test")
    site.staff.open_shift("Ann", "0")
    return site, BoothApp(site, attendant="Ann", role=Role.ATTENDANT, **kwargs)


@pytest.mark.parametrize("size", SIZES)
async def test_the_lock_screen_shows_the_lanes_and_the_waiting_exit_read_only(store, clock, size) -> None:  # type: ignore[no-untyped-def]
    site, app = _app(store, clock)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
        await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.screen.id == "sign-in")
        clock.advance(hours=2, minutes=5)
        site.lanes.gates["OUT1"].arrive("AB1234C")  # type: ignore[attr-defined]
        await until(pilot, lambda: "1 vehicle waiting: OUT1 AB1234C €7.50" in str(app.screen.query_one("#queue", Label).render()))
        shown = "\n".join(screen_lines(app))
        assert "IN1" in shown and "OUT1" in shown  # the lanes, updated behind the lock:
        assert "€7.50" in str(app.screen.query_one("#lane-OUT1", LanePanel).render())
        assert "1 vehicle waiting: OUT1 AB1234C €7.50" in shown
        assert "sign in" in shown and "Press Enter to sign in" in shown
        await pilot.press("f3")  # read only: no desk opens behind the lock
        assert app.screen.id == "sign-in" and len(app.screen.query(LanePanel)) == 2


async def test_keys_typed_as_the_screen_locks_land_in_no_field(store, clock) -> None:  # type: ignore[no-untyped-def]
    site, app = _app(store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        app.last_activity -= 3600  # an hour without a key
        app.staff.lock_when_idle(10)
        await until(pilot, lambda: app.screen.id == "sign-in")
        await pilot.press("5", "0", "backspace", "x")  # the amount someone was about to type
        name, pin = app.screen.query_one("#name", Input), app.screen.query_one("#pin", Input)
        assert name.value == "Ann" and pin.value == "" and app.screen.focused is None
        await pilot.press("enter")  # now the form takes keys: the PIN of the last user
        assert app.screen.focused is pin
        await pilot.press(*"4826", "enter")
        await until(pilot, lambda: app.screen is app.dashboard)
        assert app.user is not None and app.user.name == "Ann"


async def test_open_the_drawer_can_be_left_with_escape(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.add_user("Ann", Role.ATTENDANT, "4826", actor="test")
    app = BoothApp(site)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: app.screen.id == "sign-in")
        app.screen.query_one("#name", Input).value = "Ann"
        app.screen.query_one("#pin", Input).focus()
        await pilot.press(*"4826", "enter")
        await until(pilot, lambda: app.screen.id == "open-shift")
        assert any("Later" in line for line in screen_lines(app))  # the footer says how to leave
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        assert site.staff.current_shift() is None
        assert any("drawer is not open" in str(n.message) for n in app._notifications)


def _span_colors(log: EventLog, words: str) -> set[Color]:
    colors = set()
    for strip in log.lines:
        if words in strip.text:
            colors |= {seg.style.color for seg in strip if seg.style and seg.style.color and words in seg.text}  # type: ignore[misc]
    return {Color.from_rich_color(c) for c in colors}


def _is_warning(colors: set[Color], app: BoothApp) -> bool:
    """One colour, the theme's warning (Textual's derived variables may round a channel by 1)."""
    want = Color.parse(app.current_theme.warning or "")
    return len(colors) == 1 and all(abs(a - b) <= 2 for a, b in zip(next(iter(colors)).rgb, want.rgb))


@pytest.mark.parametrize("size", SIZES)
async def test_warnings_take_the_themes_warning_colour_and_follow_a_theme_change(store, clock, size) -> None:  # type: ignore[no-untyped-def]
    site, app = _app(store, clock, theme_name="booth-daylight")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        log = app.dashboard.query_one(EventLog)
        log.add(LogEntry(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc), "warning", "printer paper low"))
        await until(pilot, lambda: bool(_span_colors(log, "printer paper low")))
        assert _is_warning(_span_colors(log, "printer paper low"), app)
        assert app.current_theme.warning == "#8A5A00"  # the daylight theme's, not terminal yellow
        await pilot.press("f9")  # to the dark theme: the line already written follows
        assert app.theme == "booth-dark"
        await until(pilot, lambda: _is_warning(_span_colors(log, "printer paper low"), app))
        site.lanes.gates["IN1"].arrive("CD5678E")  # type: ignore[attr-defined]
        panel = app.dashboard.query_one("#lane-IN1", LanePanel)
        await until(pilot, lambda: "CD5678E" in str(panel.render()))
        styles = {str(span.style) for span in panel.render().spans}  # type: ignore[union-attr]
        assert not any(word in style for style in styles for word in ("yellow", "green", "red"))


async def test_the_palette_offers_only_the_booths_themes_and_no_demo_keys_outside_the_demo(store, clock) -> None:  # type: ignore[no-untyped-def]
    site, app = _app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Theme" not in titles and "Quit" in titles
        provider = BoothCommands(app.screen)
        offered = [action.id for action, _target in provider._offered()]
        assert "booth.theme" in offered and "booth.autopay" not in offered
        assert not any("Auto-pay" in line for line in screen_lines(app))  # not in the footer either
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"textual")
        await pilot.pause(0.3)
        assert not any("textual-dark" in line or "textual-light" in line for line in screen_lines(app))
        await pilot.press("escape")
        await pilot.press("ctrl+a")  # does nothing outside the demo
        assert app.auto is None


async def test_a_simulated_site_says_so_in_the_title_bar(store, clock) -> None:  # type: ignore[no-untyped-def]
    config = parse_site(site_text().replace('currency = "EUR"', 'currency = "EUR"\nsimulated = true'), "t.toml")
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=1))
    app = BoothApp(site, attendant="Ann", role=Role.MANAGER)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        assert "simulated" in screen_lines(app)[0]
    plain = BoothApp(build_site(small_site(), store, clock=clock, traffic=Traffic(seed=2)), attendant="Ann")
    async with plain.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: plain.dashboard.site is not None)
        assert "simulated" not in screen_lines(plain)[0]


@pytest.mark.parametrize("size", SIZES)
async def test_a_waiting_exit_shows_what_it_owes_on_the_dashboard(store, clock, size) -> None:  # type: ignore[no-untyped-def]
    config = parse_site(site_text() + '\n[[lanes]]\nid = "IN2"\ndirection = "entry"\nzone = "P1"\ngate = "sim://?timing=fast&rate=0"\n'
                        '\n[[lanes]]\nid = "OUT2"\ndirection = "exit"\nzone = "P1"\ngate = "sim://?timing=fast"\n', "t.toml")
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=1))
    site.staff.open_shift("Ann", "0")
    app = BoothApp(site, attendant="Ann", role=Role.ATTENDANT)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
        await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
        clock.advance(hours=2, minutes=5)
        app.user = None  # nobody at the desk: the vehicle waits on the dashboard
        site.lanes.gates["OUT1"].arrive("AB1234C")  # type: ignore[attr-defined]
        await until(pilot, lambda: site.board.pending_tickets() != [])
        await until(pilot, lambda: "€7.50" in "\n".join(screen_lines(app)))
