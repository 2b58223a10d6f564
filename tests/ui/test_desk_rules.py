"""The exit desk's cashier rules and the queue, from the keyboard (Pilot) on a real site
with simulated lanes and a real SQLite file."""

from __future__ import annotations

from sqlmodel import Session, select
from textual.widgets import Input, Static

from console.domain.staff import Role
from console.site.build import build_site
from console.store.tables import OverrideRow, PaymentRow
from console.ui.app import BoothApp
from console.ui.screens.exit_desk import ExitDeskScreen
from console.ui.widgets.key_hints import KeyHints
from drivers.gate.simworld import Traffic
from tests.conftest import small_site
from tests.ui.test_console_ui import _car_waiting_at_exit, _site, until


def _payments(store) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    with Session(store.engine) as s:
        return sorted((p.method, p.amount_minor, p.attendant) for p in s.exec(select(PaymentRow)).all())


def _desk(app: BoothApp) -> ExitDeskScreen:
    screen = app.screen
    assert isinstance(screen, ExitDeskScreen)
    return screen


async def _enter(pilot, site, plate: str) -> None:  # type: ignore[no-untyped-def]
    before = site.board.occupancy()[0].occupied
    site.lanes.gates["IN1"].arrive(plate)
    await until(pilot, lambda: site.board.occupancy()[0].occupied == before + 1)


async def _at_exit(pilot, site, plate: str) -> None:  # type: ignore[no-untyped-def]
    site.lanes.gates["OUT1"].arrive(plate)
    await until(pilot, lambda: any(t.visit.plate == plate for t in site.board.pending_tickets()))


# -- money -------------------------------------------------------------------------------------


async def test_enter_on_an_empty_cash_field_takes_no_money(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)  # 7.50
        await pilot.press("enter", "enter")
        await until(pilot, lambda: "type the cash handed over" in desk.message_text())
        assert app.screen is desk and desk.settled is None and _payments(store) == []
        await pilot.press("f5", "enter")  # the exact amount, typed by a key, then Enter pays
        await until(pilot, lambda: desk.settled is not None)
    assert _payments(store) == [("cash", 750, "ann")]


async def test_keys_meant_for_the_dashboard_never_reach_a_desk_that_opened_by_itself(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40)) as pilot:
        await _enter(pilot, site, "AB1234C")
        clock.advance(hours=2, minutes=5)
        site.lanes.gates["OUT1"].arrive("AB1234C")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        desk = _desk(app)
        assert not desk.ready
        # The attendant was reaching for F7 (receipts) and Enter as the desk came up.
        await pilot.press("f7", "1", "0", "enter")
        assert desk.query_one("#tendered", Input).value == ""
        assert app.screen is desk and _payments(store) == []
        await until(pilot, lambda: desk.ready, timeout=3)
        # Now the desk's keys are its own: F7 fills in the next 10, it opens no receipts.
        await pilot.press("f7")
        assert desk.query_one("#tendered", Input).value == "10.00"
        assert app.screen is desk
        assert app.check_action("receipts", ()) is False  # the dashboard's F7 neither runs nor shows here
        hints = str(desk.query_one(KeyHints).render())
        assert "Next 10" in hints and "Receipts" not in hints and "Exit by plate" not in hints
        await pilot.press("enter")
        await until(pilot, lambda: desk.settled is not None)
        assert "Change: €2.50" in desk.message_text()
    assert _payments(store) == [("cash", 750, "ann")]


async def test_a_refused_card_part_leaves_the_rest_payable_by_cash(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)  # 7.50
        await pilot.press("5", "ctrl+k")  # a card part of 5.00, but no approval code
        await until(pilot, lambda: "card part refused" in desk.message_text())
        assert "€7.50 can still be paid in cash" in desk.message_text()
        assert desk.parts == [] and desk.paying is False
        await pilot.press("ctrl+k")  # the whole fee by card, still without a code
        await until(pilot, lambda: desk.message_text().count("refused") == 1 and not desk.paying)
        assert desk.settled is None and _payments(store) == []
        await pilot.press(*"10", "enter")  # the driver pays cash instead
        await until(pilot, lambda: desk.settled is not None)
        assert "Change: €2.50" in desk.message_text()
    assert _payments(store) == [("cash", 750, "ann")]


async def test_a_card_part_with_its_code_then_cash_for_the_rest(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)  # 7.50
        await pilot.press("5")
        desk.query_one("#reference", Input).value = "AUTH77"
        await pilot.press("ctrl+k")
        await until(pilot, lambda: "2.50 left" in str(desk.query_one("#parts", Static).render()))
        await pilot.press("enter")  # Enter on an empty field with 2.50 still due: asks, takes nothing
        await until(pilot, lambda: "type the cash handed over" in desk.message_text())
        await pilot.press(*"5", "enter")
        await until(pilot, lambda: desk.settled is not None)
    assert _payments(store) == [("card", 500, "ann"), ("cash", 250, "ann")]


async def test_another_attendant_signing_in_closes_the_desk_and_cannot_use_the_first_drawer(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)  # the drawer is ann's
    site.staff.add_user("ann", Role.ATTENDANT, "1357", actor="test")
    site.staff.add_user("ben", Role.ATTENDANT, "2468", actor="test")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        await pilot.press(*"20")  # ann typed the amount, then the console locked
        app.staff.lock()
        await until(pilot, lambda: app.screen.id == "sign-in")
        name = app.screen.query_one("#name", Input)
        name.value = ""
        name.focus()
        await pilot.press(*"ben", "enter", *"2468", "enter")
        await until(pilot, lambda: app.screen is app.dashboard)
        assert desk not in app.screen_stack  # closed: nothing can be taken under ann's name
        assert any("belongs to the shift of ann" in str(n.message) for n in app._notifications)
        assert len(site.board.pending_tickets()) == 1  # the vehicle still waits
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        ben_desk = _desk(app)
        assert ben_desk.attendant == "ben"
        await pilot.press(*"20", "enter")
        await until(pilot, lambda: "drawer belongs to the shift of ann" in ben_desk.message_text())
        assert ben_desk.settled is None and _payments(store) == []
    assert site.board.pending_tickets() != []


async def test_the_override_limit_holds_for_the_whole_reduction(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    site.staff.add_user("Maria", Role.MANAGER, "258046", actor="test")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40)) as pilot:
        await _enter(pilot, site, "LONG1")
        clock.advance(hours=8, minutes=5)
        site.lanes.gates["OUT1"].arrive("LONG1")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and _desk(app).ready)
        desk = _desk(app)
        assert desk.ticket.due.minor == 2000  # 9 started hours, capped at 20.00 a day

        async def change_fee(amount: str, manager: tuple[str, str] | None = None) -> None:
            await pilot.press("ctrl+e")
            await until(pilot, lambda: app.screen.id == "override")
            await pilot.press(*amount, "enter", *"regular", "enter")
            if manager:
                await pilot.press(*manager[0], "enter", *manager[1], "enter")
            else:
                await pilot.press("enter")
            await until(pilot, lambda: app.screen is desk and ("fee changed" in desk.message_text() or "needs a manager" in desk.message_text()))

        await change_fee("15")  # 5.00 off: within the limit
        assert desk.ticket.due.minor == 1500
        await change_fee("10")  # another 5.00: 10.00 off in all
        assert "needs a manager" in desk.message_text() and "10.00 in all" in desk.message_text()
        assert desk.ticket.due.minor == 1500
        await change_fee("10", ("Maria", "258046"))
        assert desk.ticket.due.minor == 1000
        await change_fee("5")  # the manager approved 10.00 off, not 15.00
        assert "needs a manager" in desk.message_text() and desk.ticket.due.minor == 1000
        await pilot.press(*"10", "enter")
        await until(pilot, lambda: desk.settled is not None)
    with Session(store.engine) as s:
        rows = sorted((o.quoted_minor, o.new_minor, o.approved_by) for o in s.exec(select(OverrideRow)).all())
    assert rows == [(1500, 1000, "Maria"), (2000, 1500, None)]
    assert _payments(store) == [("cash", 1000, "ann")]


# -- the queue ---------------------------------------------------------------------------------


def _two_exit_site(store, clock):  # type: ignore[no-untyped-def]
    from console.site.config import parse_site
    from tests.conftest import site_text

    extra = "".join(f'\n[[lanes]]\nid = "OUT{n}"\ndirection = "exit"\nzone = "P1"\ngate = "sim://?timing=fast"\n' for n in (2, 3))
    site = build_site(parse_site(site_text(200, extra), "t.toml"), store, clock=clock, traffic=Traffic(seed=1))
    site.staff.open_shift("ann", "0")
    return site


def _queue_text(app: BoothApp) -> str:
    return str(app.dashboard.query_one("#queue", Static).render())


async def test_first_come_first_served_and_the_next_is_offered_when_a_desk_closes(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _two_exit_site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.dashboard.site is not None)
        for plate in ("FIRST1", "SECOND2", "THIRD3"):
            await _enter(pilot, site, plate)
        clock.advance(hours=2)
        await pilot.press("f7")  # the attendant is busy with the receipts
        await until(pilot, lambda: app.screen.id == "receipts")
        await _at_exit(pilot, site, "FIRST1")
        clock.advance(minutes=30)
        site.lanes.gates["OUT2"].arrive("SECOND2")
        await until(pilot, lambda: len(site.board.pending_tickets()) == 2)
        assert app.screen.id == "receipts"  # no desk over another screen
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        await until(pilot, lambda: "Waiting to pay: 2 (OUT1 1 · OUT2 1 · OUT3 0)" in _queue_text(app))
        assert "longest 30 min" in _queue_text(app) and "OUT1 FIRST1 next" in _queue_text(app)
        # A third vehicle arrives: the desk opens for the one waiting longest, not for it.
        clock.advance(minutes=1)
        site.lanes.gates["OUT3"].arrive("THIRD3")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and _desk(app).ready)
        desk = _desk(app)
        assert desk.ticket.visit.plate == "FIRST1"
        assert "2 more waiting, next: OUT2 SECOND2" in str(desk.query_one("#queue", Static).render())
        await pilot.press(*"10", "enter")
        await until(pilot, lambda: desk.settled is not None)
        await pilot.press("enter")  # closes; the next waiting exit is offered by itself
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen is not desk and _desk(app).ready)
        assert _desk(app).ticket.visit.plate == "SECOND2"
        await pilot.press("escape")  # stepped back from: it waits behind the others; THIRD3 is offered
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and _desk(app).ticket.visit.plate == "THIRD3")
        await until(pilot, lambda: _desk(app).ready)
        assert [t.visit.plate for t in site.board.queue()] == ["THIRD3", "SECOND2"]
        await pilot.press("escape")  # both stepped back from: the dashboard, and F3 serves them in turn
        await until(pilot, lambda: app.screen is app.dashboard)
        assert [t.visit.plate for t in site.board.queue()] == ["SECOND2", "THIRD3"]
        await until(pilot, lambda: "Waiting to pay: 2 (OUT1 0 · OUT2 1 · OUT3 1)" in _queue_text(app))
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        assert _desk(app).ticket.visit.plate == "SECOND2"


async def test_f2_at_a_lane_with_a_waiting_ticket_asks_and_never_leaves_a_stale_one(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)  # AB1234C read at OUT1
        await _enter(pilot, site, "CD5678E")
        clock.advance(hours=1)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)

        async def typed_at_out1(plate: str) -> None:
            await pilot.press("f2")
            await until(pilot, lambda: app.screen.id == "plate-prompt")
            await pilot.press(*plate, "enter")
            await until(pilot, lambda: app.screen.id == "confirm")

        await typed_at_out1("CD5678E")
        assert "OUT1 already has AB1234C waiting" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("escape")  # keep the waiting ticket
        await until(pilot, lambda: app.screen is app.dashboard)
        assert [t.visit.plate for t in site.board.pending_tickets()] == ["AB1234C"]
        await typed_at_out1("CD5678E")
        await pilot.press("enter")  # the typed plate replaces it
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen) and app.screen is not desk)
        assert _desk(app).ticket.visit.plate == "CD5678E"
        assert [t.visit.plate for t in site.board.pending_tickets()] == ["CD5678E"]  # nothing stale for F3
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        assert _desk(app).ticket.visit.plate == "CD5678E"
    assert _payments(store) == []


async def test_turning_auto_pay_back_on_settles_what_already_waits(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = build_site(small_site(), store, clock=clock, traffic=Traffic(seed=1))
    app = BoothApp(site, demo=True, attendant="demo", role=Role.MANAGER, auto_pay=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.auto is not None and app.dashboard.site is not None)
        await until(pilot, lambda: site.staff.current_shift() is not None)
        await _enter(pilot, site, "WAIT1")
        clock.advance(hours=2)
        desk_seen = False
        site.lanes.gates["OUT1"].arrive("WAIT1")
        await until(pilot, lambda: isinstance(app.screen, ExitDeskScreen))
        desk_seen = True
        await until(pilot, lambda: _desk(app).ready)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)
        assert len(site.board.pending_tickets()) == 1
        await pilot.press("ctrl+a")  # auto-pay on: the waiting exit is paid, not left waiting
        await until(pilot, lambda: site.board.pending_tickets() == [])
        assert desk_seen
    assert _payments(store) == [("cash", 500, "demo")]  # two hours, paid by auto-pay into the demo's drawer


async def test_the_desk_shows_its_result_line_at_80x24(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        clock.advance(hours=6)
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        await pilot.press("ctrl+e")
        await until(pilot, lambda: app.screen.id == "override")
        await pilot.press(*"1", "enter", *"regular", "enter", "enter")
        await until(pilot, lambda: app.screen is desk and "needs a manager" in desk.message_text())
        await pilot.pause()
        message = desk.query_one("#message", Static)
        # The whole refusal shows, wrapped, inside the screen; nothing cut at the edge.
        assert message.region.height >= 2 and message.region.bottom <= 24 and message.region.right <= 80
        shown = desk.message_text()
        assert shown.endswith("needs a manager's name and PIN")
        hints = desk.query_one(KeyHints)
        assert hints.region.bottom <= 24 and "Phone QR" in str(hints.render())
        assert not message.region.overlaps(hints.region)
        for field in desk.query(Input).results(Input):
            assert field.region.bottom <= 24 and field.region.height == 3


async def test_the_same_attendant_signing_in_again_finds_the_desk_as_left(store, clock) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    site.staff.add_user("ann", Role.ATTENDANT, "1357", actor="test")
    app = BoothApp(site, attendant="ann")
    async with app.run_test(size=(100, 40)) as pilot:
        desk = await _car_waiting_at_exit(pilot, app, site, clock)
        await pilot.press(*"20")
        app.staff.lock()
        await until(pilot, lambda: app.screen.id == "sign-in")
        # After a lock no field takes keys until Enter; the name field already holds ann.
        await pilot.press("enter", *"1357", "enter")
        await until(pilot, lambda: app.screen is desk)
        assert desk.query_one("#tendered", Input).value == "20"
        await pilot.press("enter")
        await until(pilot, lambda: desk.settled is not None)
    assert _payments(store) == [("cash", 750, "ann")]
