"""The OCPP central system against the library's own charge point, on loopback."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

import pytest

from drivers.charger import open_ocpp_central
from drivers.charger.ocpp_central import MeterSample, OcppCentral
from drivers.charger.ocpp_sim import SimCharger


class Handler:
    """A plain console side that records what the chargers said."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.next_tx = 100
        self.lock = threading.Lock()

    def on_boot(self, charger: str, vendor: str, model: str) -> None:
        self.calls.append(("boot", charger, vendor, model))

    def after_boot(self, charger: str) -> None:
        self.calls.append(("after_boot", charger))

    def on_status(self, charger: str, connector: int, status: str, error_code: str, info: str) -> None:
        self.calls.append(("status", charger, connector, status, error_code))

    def authorize(self, charger: str, id_tag: str) -> str:
        return "Accepted" if id_tag == "GOOD" else "Invalid"

    def start_transaction(self, charger: str, connector: int, id_tag: str, meter_start: int, at: datetime) -> tuple[int, str]:
        with self.lock:
            self.next_tx += 1
            return self.next_tx, self.authorize(charger, id_tag)

    def stop_transaction(self, charger: str, transaction_id: int, meter_stop: int, at: datetime, reason: str) -> None:
        self.calls.append(("stop", transaction_id, meter_stop, reason))

    def meter_values(self, charger: str, connector: int, transaction_id: int | None, samples: list[MeterSample]) -> None:
        self.calls.append(("meter", transaction_id, samples[0].energy_wh, samples[0].current_ma))

    def on_disconnect(self, charger: str) -> None:
        self.calls.append(("gone", charger))


@pytest.fixture
def central() -> tuple[OcppCentral, Handler]:
    handler = Handler()
    server = open_ocpp_central(handler, "127.0.0.1", 0)
    server.start()
    yield server, handler
    server.stop()


async def wait_until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_boot_status_authorize_transaction_and_meter(central: tuple[OcppCentral, Handler]) -> None:
    server, handler = central
    assert server.port > 0
    async with SimCharger.connect(f"ws://127.0.0.1:{server.port}", "CP1") as cp:
        boot = await cp.boot()
        assert boot.status == "Accepted"
        await cp.heartbeat()
        await cp.status(1, "Available")
        assert await cp.authorize("GOOD") == "Accepted"
        assert await cp.authorize("BAD") == "Invalid"
        tx, status = await cp.start_transaction(1, "GOOD")
        assert status == "Accepted" and tx == 101
        await cp.meter(1, tx, 1500, 16.5)
        await cp.stop_transaction(tx, 2000)
        assert ("meter", 101, 1500, 16500) in handler.calls
        assert ("stop", 101, 2000, "Local") in handler.calls
        assert server.connected() == ["CP1"]
    await wait_until(lambda: ("gone", "CP1") in handler.calls)


async def test_remote_start_stop_and_local_list(central: tuple[OcppCentral, Handler]) -> None:
    server, handler = central
    async with SimCharger.connect(f"ws://127.0.0.1:{server.port}", "CP2") as cp:
        await cp.boot()
        ok = await asyncio.wrap_future(server.send_local_list("CP2", 3, [("GOOD", "Accepted"), ("LOST", "Blocked")]))
        assert ok and cp.local_list == {"GOOD": "Accepted", "LOST": "Blocked"} and cp.local_list_version == 3
        assert await asyncio.wrap_future(server.remote_start("CP2", 1, "GOOD"))
        await wait_until(lambda: cp.transactions)
        tx = next(iter(cp.transactions))
        assert await asyncio.wrap_future(server.remote_stop("CP2", tx))
        await wait_until(lambda: any(c[0] == "stop" and c[1] == tx for c in handler.calls))
        assert not await asyncio.wrap_future(server.remote_stop("CP2", 9999))


async def test_command_to_an_absent_charger_fails_cleanly(central: tuple[OcppCentral, Handler]) -> None:
    server, _ = central
    with pytest.raises(ConnectionError):
        await asyncio.wrap_future(server.remote_start("NOPE", 1, "GOOD"))
