"""EV sessions through the console's OCPP server with the library's own charge point."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest

from console.domain.charging import ChargingError, PayMode, Preset, PresetKind
from console.domain.clock import SystemClock
from console.domain.money import Money
from console.site.charging import ChargerFault, ChargingService, SessionClosed
from console.site.charging_config import ChargingSection
from console.store.database import Store
from drivers.charger.ocpp_sim import SimCharger

from .conftest import Seen


@pytest.fixture
def ev(store: Store) -> Iterator[tuple[ChargingService, Seen, str]]:
    section = ChargingSection.model_validate({
        "ocpp": {"enabled": True, "host": "127.0.0.1", "port": 0},
        "chargers": [{"id": "CP1", "connectors": 2, "region": "south", "franchise": "F-Volt", "plan": "ev", "model": "ev"}],
        "plans": [{"id": "ev", "basis": "energy", "rate": 40, "free_seconds": 0}],
        "accounts": [{"id": "dora", "name": "Dora", "balance": 5000}, {"id": "eve", "name": "Eve", "credit_limit": 10_000}],
        "cards": [{"card_id": "C-DORA", "account": "dora"}, {"card_id": "C-EVE", "account": "eve"}],
    })
    seen = Seen()
    service = ChargingService(store, section, ZoneInfo("Europe/Berlin"), "EUR", SystemClock(), report=seen.report, publish=seen.publish)
    service.start()
    yield service, seen, f"ws://127.0.0.1:{service.central.port}"
    service.stop()


async def until(predicate: Any, timeout: float = 5.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_remote_start_metered_cut_at_preset_and_refunded(ev: tuple[ChargingService, Seen, str]) -> None:
    service, seen, url = ev
    async with SimCharger.connect(url, "CP1") as cp:
        await cp.boot()
        await until(lambda: cp.local_list.get("C-DORA") == "Accepted")  # for when the console restarts
        await cp.status(1, "Preparing")
        rec = await asyncio.to_thread(service.start_session, pile_id="CP1", port=1, card_id="C-DORA",
                                      preset=Preset(PresetKind.ENERGY, 2000), mode=PayMode.PREPAID)
        assert rec.hold_minor == 80
        await until(lambda: cp.transactions)
        tx = next(iter(cp.transactions))
        assert tx == rec.ocpp_tx_id
        for wh in (0, 500, 1000, 1500, 2000):
            await cp.meter(1, tx, wh, 16.0)
        closed = await until(lambda: seen.of(SessionClosed))
        assert closed[0].reason == "preset energy reached" and closed[0].energy_wh == 2000
        assert closed[0].bill == Money(80, "EUR") and closed[0].refund.is_zero  # capped at the hold
        await until(lambda: tx in cp.remote_stops and not cp.transactions)
        # The charger's own StopTransaction after the cut bills nothing more.
        await asyncio.sleep(0.1)
        assert service.account("dora").balance == Money(4920, "EUR")
        assert service.anomalies("late_stop")


async def test_card_at_the_charger_duplicate_start_and_fault(ev: tuple[ChargingService, Seen, str]) -> None:
    service, seen, url = ev
    async with SimCharger.connect(url, "CP1") as cp:
        await cp.boot()
        assert await cp.authorize("C-EVE") == "Accepted"
        assert await cp.authorize("NOPE") == "Invalid"
        ts = "2026-03-02T10:00:00+00:00"
        tx, status = await cp.start_raw(2, "C-EVE", 100, ts)
        assert status == "Accepted" and tx > 0
        again, status2 = await cp.start_raw(2, "C-EVE", 100, ts)  # answer lost, charger resends
        assert again == tx and status2 == "Accepted"
        assert service.anomalies("duplicate_transaction")
        cp.transactions[tx] = 2
        await cp.meter(2, tx, 600, 16.0)
        await cp.meter(2, tx, 1100, 16.0)
        await cp.stop_transaction(tx, 1600)
        closed = await until(lambda: seen.of(SessionClosed))
        assert closed[0].energy_wh == 1500 and closed[0].bill == Money(60, "EUR")
        await cp.stop_transaction(tx, 1600)  # repeated stop: recorded, not billed twice
        await until(lambda: service.anomalies("late_stop"))
        assert service.account("eve").owed == Money(60, "EUR")
        await cp.meter(2, 99999, 5000, 16.0)
        assert service.anomalies("stale_transaction")
        await cp.status(1, "Faulted", "GroundFailure")
        fault = (await until(lambda: seen.of(ChargerFault)))[0].fault
        assert fault.code == "ocpp:GroundFailure" and fault.franchise == "F-Volt"


async def test_blocked_card_goes_to_the_chargers_list(ev: tuple[ChargingService, Seen, str]) -> None:
    service, _, url = ev
    async with SimCharger.connect(url, "CP1") as cp:
        await cp.boot()
        await until(lambda: "C-EVE" in cp.local_list)
        await asyncio.to_thread(service.block_card, "C-EVE", "manager", "lost")
        await until(lambda: cp.local_list.get("C-EVE") == "Blocked")
        assert await cp.authorize("C-EVE") == "Blocked"
        with pytest.raises(ChargingError):
            await asyncio.to_thread(service.start_session, pile_id="CP1", port=1, card_id="C-EVE")


async def test_local_list_is_sent_after_the_boot_answer(ev: tuple[ChargingService, Seen, str]) -> None:
    service, seen, url = ev
    async with SimCharger.connect(url, "CP1") as cp:
        await cp.boot()
        await until(lambda: cp.local_list.get("C-DORA") == "Accepted")
        kinds = [kind for kind, _ in cp.received]
        assert kinds[0] == "result"  # the BootNotification answer came first
        assert ("call", "SendLocalList") in cp.received and cp.received.index(("call", "SendLocalList")) > 0
