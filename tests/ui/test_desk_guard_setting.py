"""The exit desk's key guard is the site's: `[ui] desk_key_guard_seconds`, checked when the
site file is read, and used by a desk that opens by itself (Pilot, real site, real SQLite)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from console.site.build import build_site
from console.site.config import ConfigError, load_site, parse_site
from console.store.tables import PaymentRow
from console.ui.app import BoothApp
from console.ui.screens.exit_desk import ExitDeskScreen
from drivers.gate.simworld import Traffic
from tests.conftest import site_text
from tests.ui.test_console_ui import until


def _guarded_site(store, clock, seconds: str):  # type: ignore[no-untyped-def]
    config = parse_site(site_text(extra=f"\n[ui]\ndesk_key_guard_seconds = {seconds}\n"), "guard-site.toml")
    site = build_site(config, store, clock=clock, traffic=Traffic(seed=1))
    site.staff.open_shift("ann", "0")
    return site


def test_the_guard_defaults_to_a_reaction_time() -> None:
    assert parse_site(site_text(), "t.toml").ui.desk_key_guard_seconds == 0.6
    assert parse_site(site_text(extra="\n[ui]\ndesk_key_guard_seconds = 0\n"), "t.toml").ui.desk_key_guard_seconds == 0


@pytest.mark.parametrize(("value", "problem"), [
    ("7", "less than or equal to 3"),
    ("-0.5", "greater than or equal to 0"),
    ('"fast"', "valid number"),
    ("true", "valid number"),
])
def test_a_bad_guard_names_the_file_and_the_key(tmp_path: Path, value: str, problem: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(site_text(extra=f"\n[ui]\ndesk_key_guard_seconds = {value}\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert f"{path}: ui.desk_key_guard_seconds: " in str(caught.value)
    assert problem in str(caught.value)


async def _desk_opened_by_itself(pilot, app: BoothApp, site, clock) -> ExitDeskScreen:  # type: ignore[no-untyped-def]
    site.lanes.gates["IN1"].arrive("AB1234C")
    await until(pilot, lambda: site.board.occupancy()[0].occupied == 1)
    clock.advance(hours=2, minutes=5)
    site.lanes.gates["OUT1"].arrive("AB1234C")
    await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
    assert isinstance(app.screen, ExitDeskScreen)
    return app.screen


async def test_a_long_guard_from_the_site_file_keeps_a_held_enter_from_paying(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _guarded_site(store, clock, "2.5")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        desk = await _desk_opened_by_itself(pilot, app, site, clock)
        opened = time.monotonic()
        assert desk.guard == 2.5
        # A held Enter and the exact-amount key, well past the default 0.6 s: nothing moves.
        while time.monotonic() - opened < 1.2:
            await pilot.press("f5", "enter")
            await pilot.pause(0.1)
        if time.monotonic() - opened < 2.5:  # a slow machine may already be past the guard
            assert not desk.ready and desk.settled is None
        with Session(store.engine) as session:
            assert session.exec(select(PaymentRow)).all() == []
        await until(pilot, lambda: desk.ready, timeout=5)
        await pilot.press("f5", "enter")
        await until(pilot, lambda: desk.settled is not None)


async def test_a_zero_guard_takes_keys_at_once(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _guarded_site(store, clock, "0")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        desk = await _desk_opened_by_itself(pilot, app, site, clock)
        assert desk.guard == 0 and desk.ready
        await pilot.press("f5", "enter")
        await until(pilot, lambda: desk.settled is not None)
