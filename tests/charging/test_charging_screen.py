"""The charging screen with the real service on a pty pile (Textual Pilot)."""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label

from console.domain.money import Money
from console.site.charging import ChargingService
from console.store.charging import SessionRecord, Settlement
from console.ui.screens.charging import ChargingScreen
from drivers.charger.epile_sim import EPileSimulator

from .conftest import Seen


async def test_screen_shows_ports_and_closes_a_fault_with_a_note(charging: tuple[ChargingService, Seen], pile: EPileSimulator) -> None:
    service, seen = charging
    pile.set_leak(2, 1_500)
    seen.wait_for(lambda: service.faults(open_only=True))
    screen = ChargingScreen(service, attendant="attendant")

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


def _screen(service: ChargingService) -> ChargingScreen:
    return ChargingScreen(service, attendant="attendant")


def _host(screen: ChargingScreen) -> App[None]:
    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    return Host()


def _message(screen: ChargingScreen) -> str:
    return str(screen.query_one("#message", Label).render())


async def _type(pilot: Pilot[None], text: str) -> None:
    for ch in text:
        await pilot.press(ch if ch != " " else "space")


async def _start(pilot: Pilot[None], text: str, *, typed: bool = False) -> None:
    await pilot.press("s")
    box = pilot.app.screen.query_one("#start", Input)
    box.value = ""
    if typed:
        await _type(pilot, text)
    else:  # the box is what the keys fill; filling it directly keeps the test short
        box.value = text
    await pilot.press("enter")
    await pilot.pause(0.4)


async def test_attendant_starts_a_session_from_a_card_and_sees_refusals(charging: tuple[ChargingService, Seen], pile: EPileSimulator) -> None:
    service, seen = charging
    pile.plug(2)
    seen.wait_for(lambda: any(p.plugged for p in service.ports() if p.port == 2))
    screen = _screen(service)
    async with _host(screen).run_test() as pilot:
        await pilot.pause(0.3)
        await _start(pilot, "E1 2 C-BOB", typed=True)
        assert "charging started at E1 port 2" in _message(screen)
        running = [p for p in service.ports() if p.session_id]
        assert [(p.port, p.account_id) for p in running] == [(2, "bob")]
        # Refusals are shown and change nothing; the screen stays.
        await _start(pilot, "E1 2 C-ALICE")
        assert "not started" in _message(screen) and "already charging" in _message(screen)
        await _start(pilot, "E1 two C-ALICE")
        assert "not a number" in _message(screen)
        await _start(pilot, "hello")
        assert "pile, port and card" in _message(screen)
        await _start(pilot, "E1 3 C-NOBODY")
        assert "unknown card" in _message(screen)
        assert pilot.app.screen is screen
    assert [p.session_id for p in service.ports() if p.session_id] == [running[0].session_id]


async def test_attendant_starts_a_session_from_a_pasted_qr_code(charging: tuple[ChargingService, Seen], pile: EPileSimulator) -> None:
    service, seen = charging
    pile.plug(3)
    seen.wait_for(lambda: any(p.plugged for p in service.ports() if p.port == 3))
    screen = _screen(service)
    async with _host(screen).run_test() as pilot:
        await pilot.pause(0.3)
        await pilot.press("s")
        box = screen.query_one("#start", Input)
        box.post_message(events.Paste("booth-charge:?user=alice&pile=E1&port=3&preset=amount:200&mode=prepaid"))
        await pilot.pause(0.2)
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert "charging started at E1 port 3" in _message(screen)
        assert not box.has_class("open")
        # A QR start the pile cannot serve: shown, and fault 3 is raised by the service.
        await pilot.press("s")
        box.post_message(events.Paste("booth-charge:?user=alice&pile=E1&port=4&preset=amount:200&mode=prepaid"))
        await pilot.pause(0.2)
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert "not started" in _message(screen) and "plugged" in _message(screen)
    running = [p for p in service.ports() if p.session_id]
    assert [(p.port, p.account_id) for p in running] == [(3, "alice")]
    assert service.account("alice").balance == Money(800, "EUR")  # only the first hold
    assert [f.code for f in service.faults(open_only=True)] == ["3"]


async def test_attendant_stops_the_selected_session(charging: tuple[ChargingService, Seen], pile: EPileSimulator) -> None:
    service, seen = charging
    pile.plug(2)
    seen.wait_for(lambda: any(p.plugged for p in service.ports() if p.port == 2))
    rec = service.start_session(pile_id="E1", port=2, card_id="C-BOB")
    screen = _screen(service)
    async with _host(screen).run_test() as pilot:
        await pilot.pause(0.5)
        table = screen.query_one("#ports", DataTable)
        table.focus()
        await pilot.press("x")  # row 0 is port 1: nothing running there
        await pilot.pause(0.2)
        assert "no running session" in _message(screen)
        await pilot.press("down")
        await pilot.pause(0.7)  # a refresh happens meanwhile: the selection stays on port 2
        assert table.cursor_row == 1
        await pilot.press("x")
        await pilot.pause(0.5)
        assert "session stopped: bill" in _message(screen)
        await pilot.pause(0.6)
        await pilot.press("x")  # stopped already: the port is free now
        await pilot.pause(0.2)
        assert "no running session" in _message(screen)
    stored = service.session(rec.id)
    assert stored.state == "closed" and stored.stop_reason == "stopped by the user"
    seen.wait_for(lambda: not pile.port(2).powered)


async def test_a_failing_command_is_shown_and_nothing_crashes(charging: tuple[ChargingService, Seen]) -> None:
    service, _ = charging

    class Broken:
        """The real service whose commands fail the way a locked database makes them fail."""

        def __getattr__(self, name: str) -> object:
            return getattr(service, name)

        def start_session(self, **_: object) -> SessionRecord:
            raise OSError("database is locked")

        def scan_qr(self, text: str) -> SessionRecord:
            raise OSError("database is locked")

        def stop_session(self, session_id: str) -> Settlement:
            raise OSError("database is locked")

    screen = ChargingScreen(Broken())  # type: ignore[arg-type]
    async with _host(screen).run_test() as pilot:
        await pilot.pause(0.3)
        await _start(pilot, "E1 1 C-BOB")
        assert "not started: OSError: database is locked" in _message(screen)
        assert pilot.app.screen is screen
    plain = ChargingScreen(service, sessions=False)
    async with _host(plain).run_test() as pilot:
        await pilot.pause(0.3)
        await pilot.press("s")
        await pilot.pause(0.1)
        assert "not available" in _message(plain)
