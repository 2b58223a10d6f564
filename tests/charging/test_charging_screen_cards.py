"""The F12 screen's cards line (`c`) with the real charging service on a pty pile and a
real SQLite file (Textual Pilot): bind by QR, usage and what is owed, block a lost card
(its account stays), top up, a landlord's piles; each change audited with the attendant."""

from __future__ import annotations

from sqlalchemy import select
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Label

from console.domain.money import Money
from console.site.charging import ChargingService
from console.store.database import Store
from console.store.tables import AuditRow
from console.ui.screens.charging import ChargingScreen
from drivers.charger.epile_sim import EPileSimulator

from .conftest import Seen


def _host(screen: ChargingScreen) -> App[None]:
    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    return Host()


async def _line(pilot: Pilot[None], screen: ChargingScreen, text: str) -> str:
    await pilot.press("c")
    box = screen.query_one("#cards", Input)
    box.value = text
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.2)
    return str(screen.query_one("#message", Label).render())


async def test_cards_line_binds_blocks_tops_up_and_shows_usage(charging: tuple[ChargingService, Seen], pile: EPileSimulator,
                                                               store: Store) -> None:
    service, seen = charging
    pile.plug(2)
    seen.wait_for(lambda: any(p.plugged for p in service.ports() if p.port == 2))
    rec = service.start_session(pile_id="E1", port=2, card_id="C-BOB")
    seen.wait_for(lambda: any(p.session_id == rec.id and p.elapsed_s > 70 and p.energy_wh > 0 for p in service.ports()))
    bill = service.stop_session(rec.id).bill
    screen = ChargingScreen(service, attendant="anna")
    async with _host(screen).run_test() as pilot:
        await pilot.pause(0.5)
        assert "C-NEW" in await _line(pilot, screen, "bind booth-card:?card=C-NEW bob")
        shown = await _line(pilot, screen, "usage C-NEW")
        assert "owed" in shown and str(bill) in shown and "C-BOB" in shown and "E1" in shown
        assert "blocked" in await _line(pilot, screen, "block C-BOB lost on the bus")
        refused = await _line(pilot, screen, "block C-BOB again")
        assert refused.startswith("not done")
        assert screen.query_one("#cards", Input).value == "block C-BOB again"  # kept for a correction
        assert "balance" in await _line(pilot, screen, "top-up alice 5")
        assert (await _line(pilot, screen, "top-up alice minus")).startswith("not done")
        assert (await _line(pilot, screen, "authorize C-LORD E9")).startswith("not done")
        assert "E1" in await _line(pilot, screen, "piles C-LORD")
        assert (await _line(pilot, screen, "fly away")).startswith("not done")
    card = service.store.query(lambda s: s.execute(select(AuditRow.actor, AuditRow.action).where(AuditRow.actor == "anna")).all())
    assert sorted(a for _, a in card) == ["charging.card_blocked", "charging.card_bound", "charging.top_up"]
    acc = service.account("bob")
    assert acc is not None and acc.owed == bill
    alice = service.account("alice")
    assert alice is not None and alice.balance == Money(1500, "EUR")
    blocked = [c for c in service.account_usage("C-NEW").cards if c.card_id == "C-BOB"]
    assert [c.state for c in blocked] == ["blocked"]
