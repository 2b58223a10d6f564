"""A fee override whose audit entry cannot be written changes nothing: the waiting ticket
keeps its fee, and the exit is charged what the screen shows."""

from __future__ import annotations

import pytest
from sqlmodel import select

from console.site.errors import SiteError
from console.site.events import ExitPending
from console.site.tender import Tender
from console.store import visits
from console.store.tables import AuditRow, PaymentRow
from tests.faults.locks import write_lock_held

pytestmark = pytest.mark.sqlite_only


def test_override_not_audited_leaves_the_ticket_unchanged(make_site, clock) -> None:  # type: ignore[no-untyped-def]
    site, rec = make_site()
    site.lanes.gates["IN1"].arrive("OVRX1")
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, "OVRX1") is not None)
    clock.advance(hours=2.1)
    site.lanes.gates["OUT1"].arrive("OVRX1")
    rec.wait_for(lambda: bool(rec.of(ExitPending)))
    ticket = rec.of(ExitPending)[-1].ticket
    assert ticket.due.minor == 750
    with write_lock_held(site.store):
        with pytest.raises(SiteError, match="fee NOT changed: the database is busy"):
            site.desk.override(ticket.id, "fee_change", new_amount_text="5.00", reason="left early", actor="ann")
    waiting = site.board.ticket(ticket.id)
    assert waiting is not None and waiting.due.minor == 750 and waiting.overrides == ()
    with site.store.read() as tx:
        assert not [a for a in tx.exec(select(AuditRow)).all() if a.action.startswith("override.")]
    site.desk.pay(ticket.id, [Tender("cash", "", "7.50")], attendant="ann")  # exact cash: the fee shown
    with site.store.read() as tx:
        assert [(p.method, p.amount_minor) for p in tx.exec(select(PaymentRow)).all()] == [("cash", 750)]
