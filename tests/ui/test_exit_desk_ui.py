"""The exit desk's payment paths from the keyboard, through Pilot."""

from __future__ import annotations

from sqlmodel import Session, select
from textual.widgets import Input, Static

from console.domain.staff import Role
from console.store.tables import DebtRow, OverrideRow, PaymentRow
from console.ui.app import BoothApp
from tests.ui.test_console_ui import _car_waiting_at_exit, _site, until


def _message(desk) -> str:  # type: ignore[no-untyped-def]
    return str(desk.query_one("#message", Static).render())


def _rows(store, table):  # type: ignore[no-untyped-def]
    with Session(store.engine) as s:
        return list(s.exec(select(table)).all())


async def test_split_card_and_cash(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 50)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)  # 7.50
        await pilot.press(*"5")
        desk.query_one("#reference", Input).value = "AUTH77"
        await pilot.press("ctrl+k")  # 5.00 by card, 2.50 left
        await until(pilot, lambda: "2.50 left" in str(desk.query_one("#parts", Static).render()))
        await pilot.press(*"10", "enter")  # the rest in cash, 10 handed over
        await until(pilot, lambda: desk.settled is not None)
        assert "Change: €7.50" in _message(desk)
    assert sorted((p.method, p.amount_minor, p.reference) for p in _rows(store, PaymentRow)) == [("card", 500, "AUTH77"), ("cash", 250, None)]


async def test_waive_needs_a_manager_pin_above_the_limit(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    site.staff.add_user("Maria", Role.MANAGER, "258046", actor="test")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 50)) as pilot:
        clock.advance(hours=4)
        desk = await _car_waiting_at_exit(pilot, app, site, clock)  # a long stay: above the 5.00 limit
        assert desk.ticket.due.minor > 500
        await pilot.press("ctrl+w")
        await until(pilot, lambda: app.screen.id == "override")
        await pilot.press(*"barrier hit the car", "enter", "enter")  # no manager name: Enter confirms
        await until(pilot, lambda: "needs a manager" in _message(desk))
        await pilot.press("ctrl+w")
        await until(pilot, lambda: app.screen.id == "override")
        await pilot.press(*"barrier hit the car", "enter", *"Maria", "enter", *"1111", "enter")
        await until(pilot, lambda: "wrong PIN" in _message(desk))
        assert _rows(store, PaymentRow) == [] and desk.ticket.due.minor > 500
        await pilot.press("ctrl+w")
        await until(pilot, lambda: app.screen.id == "override")
        await pilot.press(*"barrier hit the car", "enter", *"Maria", "enter", *"258046", "enter")
        await until(pilot, lambda: desk.ticket.due.is_zero)
        await pilot.press("enter")  # nothing due: the vehicle leaves
        await until(pilot, lambda: desk.settled is not None)
    overrides = _rows(store, OverrideRow)
    assert [(o.kind, o.new_minor, o.approved_by, o.actor) for o in overrides] == [("waive", 0, "Maria", "ann")]


async def test_unpaid_exit_and_phone_qr_without_a_cloud(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(130, 50)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "needs the operator's cloud" in _message(desk))
        await pilot.press("ctrl+u")  # no reason yet
        await until(pilot, lambda: "reason" in _message(desk))
        await pilot.press(*"no cash, card declined")  # focus moved to the reason field
        await pilot.press("ctrl+u")
        await until(pilot, lambda: desk.settled is not None)
        assert "recorded as owed" in _message(desk)
    assert [(d.plate, d.amount_minor, d.reason) for d in _rows(store, DebtRow)] == [("AB1234C", 750, "no cash, card declined")]
