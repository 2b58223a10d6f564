"""The charging screen's "close maintenance record" answers: closed, or the database's
error with the note kept open, and Enter closes it once the database is back."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input, Label

from console.site.charging import ChargingService
from console.ui.screens.charging import ChargingScreen
from drivers.charger.epile_sim import EPileSimulator
from tests.faults.locks import write_lock_held

from .conftest import Seen

pytestmark = pytest.mark.sqlite_only


async def _until(pilot, predicate, timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the screen did not answer"
        await pilot.pause(0.05)


async def test_close_record_on_a_busy_database_then_retry(store, charging: tuple[ChargingService, Seen], pile: EPileSimulator) -> None:  # type: ignore[no-untyped-def]
    service, seen = charging
    pile.set_leak(2, 1_500)
    seen.wait_for(lambda: service.faults(open_only=True))
    screen = ChargingScreen(service, attendant="attendant")

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    def message() -> str:
        return str(screen.query_one("#message", Label).render())

    async with Host().run_test() as pilot:
        await _until(pilot, lambda: screen._fault_ids != [])
        await pilot.press("n")
        screen.query_one("#note", Input).value = "relay replaced"
        with write_lock_held(store):
            await pilot.press("enter")
            await _until(pilot, lambda: "NOT closed" in message())
        assert "the database is busy" in message()
        note = screen.query_one("#note", Input)
        assert note.has_class("open") and note.value == "relay replaced"
        assert service.faults(open_only=True) != []
        await pilot.press("enter")  # the database is back
        await _until(pilot, lambda: message() == "maintenance record closed")
    assert service.faults(open_only=True) == []
    assert service.faults()[0].note == "relay replaced"
