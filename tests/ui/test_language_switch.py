"""Switching the interface language at run time, through Pilot: from the command palette
and with ctrl+o, the dashboard's and the exit desk's words, and the key hints at the
bottom, go from English to Simplified Chinese and back, read from what the screen draws."""

from __future__ import annotations

from typing import Iterator

import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from console.domain.staff import Role
from console.i18n import current_language, set_language
from console.site.build import build_site
from console.ui.app import BoothApp
from drivers.gate.simworld import Traffic
from tests.conftest import small_site
from tests.ui.test_console_ui import _car_waiting_at_exit, _site, until

SIZES = [(80, 24), (120, 40)]

# What the dashboard says in each language: lane words, the zone box, the status bar, hints.
ENGLISH = ("Gate", "CLOSED", "Occupancy", "Events", "F2 Exit by plate", "^l Lock", "^o Language")
CHINESE = ("道闸", "已落杆", "车位占用", "事件", "F2 按车牌出场", "^l 锁屏", "^o 语言")


@pytest.fixture
def english() -> Iterator[None]:
    """An English site; whatever a test switched to, the next test starts in English."""
    set_language("en")
    try:
        yield
    finally:
        set_language("en")


def shown(app: BoothApp) -> str:
    """The characters of the top screen as the compositor draws them."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def _speaks(app: BoothApp, words: tuple[str, ...]) -> bool:
    screen = shown(app)
    return all(word in screen for word in words)


def _missing(app: BoothApp, words: tuple[str, ...]) -> list[str]:
    screen = shown(app)
    return [word for word in words if word not in screen]


async def _palette_language(pilot, app: BoothApp, title: str) -> None:  # type: ignore[no-untyped-def]
    """Open the palette, find the language entry (its English title finds it in either
    language), check it shows as `title`, and run it."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*"language")
    await until(pilot, lambda: title in shown(app))
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is app.dashboard)


@pytest.mark.parametrize("size", SIZES)
async def test_the_palette_and_ctrl_o_switch_the_dashboard_and_its_hints(store, clock, english, size) -> None:  # type: ignore[no-untyped-def]
    app = BoothApp(_site(store, clock), attendant="ann")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await until(pilot, lambda: _speaks(app, ENGLISH))
        assert not any(word in shown(app) for word in CHINESE)

        await _palette_language(pilot, app, "Language")
        await until(pilot, lambda: _speaks(app, CHINESE))
        assert current_language() == "zh_CN"
        assert _missing(app, ENGLISH) == list(ENGLISH)  # no English label is left behind

        await _palette_language(pilot, app, "语言")  # the entry now shows its Chinese title
        await until(pilot, lambda: _speaks(app, ENGLISH))
        assert current_language() == "en" and _missing(app, CHINESE) == list(CHINESE)

        await pilot.press("ctrl+o")
        await until(pilot, lambda: _speaks(app, CHINESE))
        assert _missing(app, ENGLISH) == list(ENGLISH)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: _speaks(app, ENGLISH))
        assert _missing(app, CHINESE) == list(CHINESE)


async def test_a_desk_left_open_under_the_lock_follows_a_switch_made_there(store, clock, english) -> None:  # type: ignore[no-untyped-def]
    # The desk's own keys are all the desk takes (ctrl+o included); the lock screen that
    # comes up over an open desk after the idle time offers the language switch.
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.add_user("Ann", Role.ATTENDANT, "4826", actor="test")
    site.staff.open_shift("Ann", "0")
    app = BoothApp(site, attendant="Ann", role=Role.ATTENDANT)
    async with app.run_test(size=(80, 24)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)  # 7.50 due
        await until(pilot, lambda: "To pay: €7.50" in shown(app) and "Enter pay" in shown(app))
        await pilot.press(*"2")  # the cash typed so far stays in its field
        app.last_activity -= 3600  # an hour without a key
        app.staff.lock_when_idle(10)
        await until(pilot, lambda: app.screen.id == "sign-in")
        await pilot.press("ctrl+o")  # before the form is armed: it switches, types nothing
        await until(pilot, lambda: "^o 语言" in shown(app))
        assert "Locked" not in shown(app) and current_language() == "zh_CN"
        await pilot.press("enter", *"4826", "enter")  # Enter arms the form: the PIN of Ann
        await until(pilot, lambda: app.screen is desk)
        await until(pilot, lambda: "应付：€7.50" in shown(app))
        screen = shown(app)
        assert "Enter 收款" in screen and "车牌" in screen and "停留时长" in screen
        assert "To pay" not in screen and "Enter pay" not in screen and "Duration" not in screen
        assert desk.query_one("#tendered", Input).value == "2"
        await pilot.press(*"0", "enter")
        await until(pilot, lambda: desk.settled is not None)
        await until(pilot, lambda: "找零：€12.50" in shown(app) and "Enter 关闭" in shown(app))
