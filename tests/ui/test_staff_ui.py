"""Signing in, locking, shifts and manager-only screens, driven through Pilot."""

from __future__ import annotations

from textual.widgets import Input, Label

from console.domain.staff import Role
from console.site.build import build_site
from console.ui.app import BoothApp
from console.ui.screens.exit_desk import ExitDeskScreen
from drivers.gate.simworld import Traffic
from tests.conftest import small_site
from tests.ui.test_console_ui import _car_waiting_at_exit, until


def _error(app: BoothApp) -> str:
    return str(app.screen.query_one("#error", Label).render())


async def _type_into(pilot, app: BoothApp, field: str, text: str) -> None:  # type: ignore[no-untyped-def]
    app.screen.query_one(field, Input).focus()
    await pilot.press(*text, "enter")


async def test_first_start_creates_the_manager_then_sign_in_and_open_the_drawer(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    app = BoothApp(site)  # nobody given: the console starts locked
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: app.screen.id == "first-manager")
        await _type_into(pilot, app, "#name", "Maria")
        await pilot.press(*"258046", "enter", *"2581", "enter")
        await until(pilot, lambda: "differ" in _error(app))
        app.screen.query_one("#pin2", Input).value = ""
        await _type_into(pilot, app, "#pin2", "258046")
        await until(pilot, lambda: app.screen.id == "sign-in")
        await _type_into(pilot, app, "#pin", "258046")
        await until(pilot, lambda: app.screen.id == "open-shift")
        await _type_into(pilot, app, "#float", "-5")
        await until(pilot, lambda: "negative" in _error(app))
        app.screen.query_one("#float", Input).value = ""
        await _type_into(pilot, app, "#float", "150")
        await until(pilot, lambda: app.screen is app.dashboard)
        assert app.user is not None and app.user.name == "Maria" and app.user.role is Role.MANAGER
        shift = site.staff.current_shift()
        assert shift is not None and shift.attendant == "Maria" and shift.opening_float.minor == 15000


async def test_wrong_pins_lock_out_on_screen(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.add_user("Ann", Role.ATTENDANT, "4826", actor="test")
    app = BoothApp(site)
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: app.screen.id == "sign-in")
        await _type_into(pilot, app, "#name", "Ann")
        for _ in range(5):
            await _type_into(pilot, app, "#pin", "1357")
            await pilot.pause(0.2)
        await until(pilot, lambda: "wrong PIN" in _error(app))
        await _type_into(pilot, app, "#pin", "4826")  # the right PIN waits out the lock
        await until(pilot, lambda: "paused" in _error(app) and "try again" in _error(app))
        assert app.user is None and app.screen.id == "sign-in"
        await pilot.press("f2")  # nothing opens behind the lock screen
        assert app.screen.id == "sign-in"


async def test_attendant_cannot_open_manager_reports(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.open_shift("ann", "0")
    app = BoothApp(site, attendant="ann", role=Role.ATTENDANT)
    async with app.run_test(size=(130, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await pilot.press("f11")
        await until(pilot, lambda: any("for managers" in str(n.message) for n in app._notifications))
        assert app.screen is app.dashboard
    manager = BoothApp(build_site(small_site(), store, clock=clock, traffic=Traffic(seed=2)), attendant="Maria", role=Role.MANAGER)
    async with manager.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: manager.dashboard.site is not None)
        await pilot.press("f11")
        await until(pilot, lambda: manager.screen.id == "manager-reports")


async def test_closing_a_shift_with_an_open_exit_screen_and_bad_counts(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.open_shift("ann", "0")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 44)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        await pilot.press("f10")  # over the exit desk: nothing else opens
        assert app.screen is desk
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("f10")
        await until(pilot, lambda: app.screen.id == "close-shift")
        await pilot.press(*"10x1", "enter", "enter", "enter")
        await until(pilot, lambda: "waiting at OUT1" in _error(app))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        await pilot.press("f5", "enter")
        await until(pilot, lambda: app.screen.settled is not None)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("f10")
        await until(pilot, lambda: app.screen.id == "close-shift")
        for bad, words in (("-20x1", "not a EUR note"), ("20x-1", "whole number"), ("20x100000", "cannot be in one drawer")):
            app.screen.query_one("#count", Input).value = ""
            await _type_into(pilot, app, "#count", bad)
            await pilot.press("enter", "enter")
            await until(pilot, lambda: words in _error(app))
        assert site.staff.current_shift() is not None
        app.screen.query_one("#count", Input).value = ""
        await _type_into(pilot, app, "#count", "5x1 2x1 0.50x1")
        await pilot.press("enter", "enter")
        await until(pilot, lambda: app.screen.id == "shift-report", timeout=10)
        assert site.staff.current_shift() is None
