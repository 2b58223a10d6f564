"""Key hints on every screen, through Pilot at 80x24: only the keys that work there,
wrapped instead of cut, in the attendant's language; the palette offers only what works."""

from __future__ import annotations

from textual.command import CommandPalette

from console.domain.staff import Role
from console.i18n import set_language
from console.ui.app import BoothApp
from console.ui.commands import BoothCommands
from console.ui.screens.exit_desk import ExitDeskScreen
from console.ui.widgets.key_hints import KeyHints
from tests.ui.test_console_ui import _site, until


def _shown(app: BoothApp) -> str:
    """What the top screen draws, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def _hints(app: BoothApp) -> KeyHints:
    return app.screen.query_one(KeyHints)


async def test_the_dashboard_shows_every_key_at_80x24(store, clock) -> None:  # type: ignore[no-untyped-def]
    app = BoothApp(_site(store, clock), attendant="ann", role=Role.MANAGER)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await until(pilot, lambda: "F12" in str(_hints(app).render()))
        hints = _hints(app)
        assert hints.region.bottom <= 24 and hints.region.height >= 2  # wrapped, not cut
        shown = _shown(app)
        for key in ("F2", "F3", "F8", "F9", "F10", "F11", "F12", "^l Lock", "^q Quit", "^p palette"):
            assert key in shown, key
        assert "^a" not in shown  # demo only


async def test_screens_show_only_their_own_keys(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann", role=Role.MANAGER)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await pilot.press("f7")
        await until(pilot, lambda: app.screen.id == "receipts")
        text = str(_hints(app).render())
        assert "Enter reprint" in text and "esc Close" in text
        assert "F2" not in text and "Receipts" not in text  # the dashboard's keys do nothing here
        assert "Close" in _shown(app)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("f10")
        await until(pilot, lambda: app.screen.id == "close-shift")
        text = str(_hints(app).render())
        assert "Enter next field / close" in text and "esc Cancel" in text and "F12" not in text
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("f4")
        await until(pilot, lambda: app.screen.id == "manual-gate")
        text = str(_hints(app).render())
        assert "Tab next field" in text and "esc Cancel" in text
        assert _hints(app).region.bottom <= 24


async def test_the_hints_follow_the_language(store, clock) -> None:  # type: ignore[no-untyped-def]
    app = BoothApp(_site(store, clock), attendant="ann", role=Role.MANAGER)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.dashboard.site is not None)
            await pilot.press("f7")
            await until(pilot, lambda: app.screen.id == "receipts")
            app.switch_language("zh_CN")
            await pilot.pause()
            text = str(_hints(app).render())
            assert "重打" in text and "reprint" not in text
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)
            dashboard = str(_hints(app).render())
            assert "F12" in dashboard and "Charging" not in dashboard
    finally:
        set_language("en")


async def test_the_palette_offers_only_what_works_here(store, clock) -> None:  # type: ignore[no-untyped-def]
    app = BoothApp(_site(store, clock), attendant="ann", role=Role.MANAGER)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        on_dashboard = [a.id for a, _t in BoothCommands(app.screen_stack[-2])._offered()]
        assert "booth.receipts" in on_dashboard and "booth.charging" in on_dashboard
        assert "booth.autopay" not in on_dashboard  # not the demo
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)


async def test_the_palette_follows_the_desk_state(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        site.lanes.gates["IN1"].arrive("AB1234C")  # type: ignore[attr-defined]
        await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
        clock.advance(hours=2, minutes=5)
        site.lanes.gates["OUT1"].arrive("AB1234C")  # type: ignore[attr-defined]
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        desk = app.screen
        assert isinstance(desk, ExitDeskScreen)
        if not desk.ready:  # the guard against keys meant for the dashboard: nothing works yet
            assert BoothCommands(desk)._offered() == []
            assert "Exact amount" not in str(desk.query_one(KeyHints).render())
        await until(pilot, lambda: desk.ready, timeout=3)
        offered = [a.id for a, _t in BoothCommands(desk)._offered()]
        assert "exit.exact" in offered and "booth.receipts" not in offered
        await pilot.press("f5", "enter")
        await until(pilot, lambda: desk.settled is not None)
        settled = [a.id for a, _t in BoothCommands(desk)._offered()]
        assert "exit.exact" not in settled and "exit.waive" not in settled  # paid: no money keys left
        hints = str(desk.query_one(KeyHints).render())
        assert "Exact amount" not in hints and "Enter close" in hints
        try:
            app.switch_language("zh_CN")  # the desk's own "Enter" hint follows too
            await pilot.pause()
            assert "Enter 关闭" in str(desk.query_one(KeyHints).render())
        finally:
            set_language("en")


async def test_the_lock_screen_says_how_to_sign_in_and_switch_language(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    site.staff.add_user("Ann", Role.ATTENDANT, "4826", actor="test")
    app = BoothApp(site, attendant="Ann", role=Role.ATTENDANT)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.screen.id == "sign-in")
        hints = _hints(app)
        text = str(hints.render())
        assert "Enter next field / sign in" in text and "^o Language" in text and "^q Quit" in text
        assert "F2" not in text and "F12" not in text
        assert hints.region.bottom <= 24 and "^o Language" in _shown(app)


async def test_an_attendant_is_not_shown_the_managers_key(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    site.staff.add_user("Ann", Role.ATTENDANT, "4826", actor="test")
    app = BoothApp(site, attendant="Ann", role=Role.ATTENDANT)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        await until(pilot, lambda: "F12" in str(_hints(app).render()))
        text = str(_hints(app).render())
        assert "F11" not in text and "Reports" not in text and "F10 Close shift" in text
