"""The booth's side of charging from a phone, on the e-bike simulator and a real SQLite
file: the cloud's commands carried out once, a refusal caused by the pile is fault 3 with
nothing held, an unknown pay mode is refused, and after a restart the open phone session
still reports its figures."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from console.domain.clock import ScaledClock
from console.domain.money import Money
from console.site.charging import ChargingService, SessionChanged
from console.store.database import Store
from console.store.tables import OutboxRow
from console.sync.protocol import SiteCommandDoc
from drivers.charger.epile_sim import EPileSimulator

from .conftest import SPEED, Seen, section_for


def _start(request: str, port: int, **kw: object) -> SiteCommandDoc:
    fields: dict[str, object] = dict(id=f"cmd-{request}", kind="charging.start", request_id=request, pile="E1", port=port, card="C-ALICE",
                                     preset="energy:1000", mode="prepaid", actor="cloud:tina")
    fields.update(kw)
    return SiteCommandDoc.model_validate(fields)


def _events(store: Store, kind: str) -> list[OutboxRow]:
    with store.read() as s:
        return list(s.execute(select(OutboxRow).where(OutboxRow.type == kind)).scalars())  # type: ignore[arg-type]


def test_phone_commands_start_once_refuse_with_fault_3_and_resume(charging: tuple[ChargingService, Seen], pile: EPileSimulator,
                                                                   store: Store) -> None:
    service, seen = charging
    pile.plug(1)
    seen.wait_for(lambda: any(p.plugged for p in service.ports() if p.port == 1))
    service.phone_commands([_start("r1", 1)])
    service.phone_commands([_start("r1", 1)])  # pulled again: started once
    running = [p for p in service.ports() if p.session_id]
    assert len(running) == 1 and len(_events(store, "charging.phone_started")) == 1
    session_id = running[0].session_id
    assert service.account("alice").balance == Money(500, "EUR")  # type: ignore[union-attr]  # 1 kWh at 5.00 held
    seen.wait_for(lambda: _events(store, "charging.progress"))

    # Port 3 has nothing plugged in: refused, fault 3, no hold; an unknown pay mode is refused (no fault).
    service.phone_commands([_start("r2", 3), _start("r3", 2, mode="weekly")])
    refused = _events(store, "charging.phone_refused")
    assert len(refused) == 2
    assert [(f.port, f.code) for f in service.faults(open_only=True)] == [(3, "3")]
    assert service.account("alice").balance == Money(500, "EUR")  # type: ignore[union-attr]

    # A restart: the open phone session resumes and keeps reporting its figures.
    service.stop()
    again = ChargingService(store, section_for(pile.url), ZoneInfo("Europe/Berlin"), "EUR", ScaledClock(SPEED),
                            report=seen.report, publish=seen.publish)
    again.start()
    try:
        assert session_id in again.phone.sessions
        before = len(_events(store, "charging.progress"))
        seen.wait_for(lambda: len(_events(store, "charging.progress")) > before, timeout=15)
        seen.wait_for(lambda: any(isinstance(e, SessionChanged) for e in seen.events))
        again.phone_commands([SiteCommandDoc(id="cmd-stop", kind="charging.stop", session_id=session_id)])
        stored = again.session(session_id)  # type: ignore[arg-type]
        assert stored is not None and stored.state == "closed" and stored.stop_reason == "stopped from the phone"
    finally:
        again.stop()
