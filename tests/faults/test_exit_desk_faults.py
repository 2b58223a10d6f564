"""The exit desk when the database cannot be written: the attendant sees progress, then
the error, and Enter pays once the database is back, without leaving the screen.

The database is made busy for real: a second connection to the same SQLite file holds
its write lock (`BEGIN IMMEDIATE`) for longer than the store's busy timeout."""

from __future__ import annotations

import pytest
from sqlmodel import select
from textual.widgets import Input, Static

from console.i18n import set_language
from console.store.tables import PaymentRow
from console.ui.app import BoothApp
from tests.faults.locks import write_lock_held
from tests.ui.test_console_ui import _car_waiting_at_exit, _site, until

pytestmark = pytest.mark.sqlite_only


def _message(desk) -> str:  # type: ignore[no-untyped-def]
    return str(desk.query_one("#message", Static).render())


def _payments(store) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with store.read() as tx:  # a read transaction: it never waits for the write lock
        return [(p.method, p.amount_minor) for p in tx.exec(select(PaymentRow)).all()]


@pytest.mark.parametrize("lang, not_recorded, busy, paid", [
    ("en", "payment NOT recorded", "the database is busy", "PAID"),
    ("zh_CN", "付款未记录", "数据库忙", "已付款"),
])
async def test_locked_database_during_payment_then_enter_retries(store, clock, lang: str, not_recorded: str, busy: str, paid: str) -> None:  # type: ignore[no-untyped-def]
    site = _site(store, clock)
    app = BoothApp(site, attendant="ann")
    set_language(lang)
    try:
        async with app.run_test(size=(130, 50)) as pilot:
            desk = await _car_waiting_at_exit(pilot, app, site, clock)  # 7.50
            with write_lock_held(store):
                await pilot.press(*"10", "enter")
                await until(pilot, lambda: "-error" in desk.query_one("#message", Static).classes, timeout=10)
                assert not_recorded in _message(desk) and busy in _message(desk)
                assert desk.paying is False and desk.settled is None
                assert app.screen is desk
                assert _payments(store) == []
            # The database is back: Enter on the same screen pays.
            desk.query_one("#tendered", Input).focus()
            await pilot.press("enter")
            await until(pilot, lambda: desk.settled is not None, timeout=10)
            assert app.screen is desk and paid in _message(desk)
    finally:
        set_language("en")
    assert _payments(store) == [("cash", 750)]
