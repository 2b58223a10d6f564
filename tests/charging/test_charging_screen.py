"""The charging screen with the real service on a pty pile (Textual Pilot)."""

from __future__ import annotations

from textual.app import App
from textual.widgets import DataTable

from console.domain.charging import ChargingError
from console.site.charging import ChargingService
from console.ui.screens.charging import ChargingScreen
from drivers.charger.epile_sim import EPileSimulator

from .conftest import Seen


async def test_screen_shows_ports_and_closes_a_fault_with_a_note(charging: tuple[ChargingService, Seen], pile: EPileSimulator) -> None:
    service, seen = charging
    pile.set_leak(2, 1_500)
    seen.wait_for(lambda: service.faults(open_only=True))
    screen = ChargingScreen(service.ports, service.faults, service.usage_by_hour,
                            lambda fid, note: service.close_maintenance(fid, note, "attendant"))

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async with Host().run_test() as pilot:
        await pilot.pause(0.8)
        assert screen.query_one("#ports", DataTable).row_count == 4
        assert screen.query_one("#fault-table", DataTable).row_count == 1
        await pilot.press("n")
        for ch in "relay replaced":
            await pilot.press(ch if ch != " " else "space")
        await pilot.press("enter")
        await pilot.pause(0.8)
    assert service.faults(open_only=True) == []
    assert service.faults()[0].note == "relay replaced"
