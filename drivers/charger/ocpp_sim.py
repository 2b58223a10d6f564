"""A simulated OCPP 1.6J EV charger built on the library's own ChargePoint class.

Async API for tests and benchmarks: `async with SimCharger.connect(url, "CP1") as cp:`
then `await cp.boot()`, `await cp.status(1, "Available")`, `await cp.start_transaction(1, tag)`,
`await cp.meter(1, tx, wh, amps)`, `await cp.stop_transaction(tx, wh)`. It accepts remote start/stop
(starting or stopping a transaction by itself, as a real charger does) and keeps the local
authorization list the central system sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, RemoteStartStopStatus, UpdateStatus
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class SimCharger(ChargePoint):
    """One charger with its connectors' meters (Wh)."""

    def __init__(self, charger_id: str, connection: ClientConnection) -> None:
        super().__init__(charger_id, connection, response_timeout=10)
        self.meters: dict[int, int] = {}
        self.local_list: dict[str, str] = {}
        self.local_list_version = 0
        self.transactions: dict[int, int] = {}  # transaction id -> connector
        self.remote_starts: list[tuple[int, str]] = []
        self.remote_stops: list[int] = []
        self.accept_remote = True
        self._tasks: set[asyncio.Task[Any]] = set()
        # What arrived from the central system, in order: ("call", action) or ("result", id).
        self.received: list[tuple[str, str]] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str, charger_id: str) -> AsyncIterator[SimCharger]:
        """Connect to `url`/`charger_id`, run the receive loop, close on exit."""
        async with connect(f"{url.rstrip('/')}/{charger_id}", subprotocols=[Subprotocol("ocpp1.6")]) as ws:
            cp = cls(charger_id, ws)
            runner = asyncio.create_task(cp.start())
            try:
                yield cp
            finally:
                runner.cancel()
                for task in list(cp._tasks):
                    task.cancel()

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Note each frame's kind before the library handles it (tests check the order)."""
        try:
            frame = json.loads(raw_msg)
            if frame[0] == 2:
                self.received.append(("call", str(frame[2])))
            elif frame[0] in (3, 4):
                self.received.append(("result", str(frame[1])))
        except (ValueError, IndexError, TypeError):
            pass
        await super().route_message(raw_msg)

    # -- charger-initiated calls ------------------------------------------------------
    async def boot(self) -> call_result.BootNotification:
        return await self.call(call.BootNotification(charge_point_model="SimEV", charge_point_vendor="Booth"))

    async def heartbeat(self) -> call_result.Heartbeat:
        return await self.call(call.Heartbeat())

    async def status(self, connector: int, status: str, error_code: str = "NoError", info: str | None = None) -> None:
        await self.call(call.StatusNotification(connector_id=connector, error_code=error_code, status=status, info=info, timestamp=_now()))

    async def authorize(self, id_tag: str) -> str:
        result = await self.call(call.Authorize(id_tag=id_tag))
        return result.id_tag_info["status"]

    async def start_transaction(self, connector: int, id_tag: str) -> tuple[int, str]:
        """StartTransaction; returns (transaction id, authorization status)."""
        meter = self.meters.setdefault(connector, 0)
        result = await self.call(call.StartTransaction(connector_id=connector, id_tag=id_tag, meter_start=meter, timestamp=_now()))
        status = result.id_tag_info["status"]
        if status == "Accepted":
            self.transactions[result.transaction_id] = connector
        return result.transaction_id, status

    async def start_raw(self, connector: int, id_tag: str, meter_start: int, timestamp: str) -> tuple[int, str]:
        """StartTransaction with a given timestamp (to resend one after a lost answer)."""
        result = await self.call(call.StartTransaction(connector_id=connector, id_tag=id_tag, meter_start=meter_start, timestamp=timestamp))
        return result.transaction_id, result.id_tag_info["status"]

    async def meter(self, connector: int, transaction_id: int | None, energy_wh: int, current_a: float) -> None:
        self.meters[connector] = energy_wh
        sampled = [
            {"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": f"{current_a:.2f}", "measurand": "Current.Import", "unit": "A"},
        ]
        await self.call(call.MeterValues(connector_id=connector, transaction_id=transaction_id,
                                         meter_value=[{"timestamp": _now(), "sampledValue": sampled}]))

    async def stop_transaction(self, transaction_id: int, meter_stop: int | None = None, reason: str = "Local") -> None:
        connector = self.transactions.pop(transaction_id, 1)
        wh = meter_stop if meter_stop is not None else self.meters.get(connector, 0)
        await self.call(call.StopTransaction(meter_stop=wh, timestamp=_now(), transaction_id=transaction_id, reason=reason))

    # -- central-system-initiated calls ---------------------------------------------------
    @on(Action.remote_start_transaction)
    async def on_remote_start(self, id_tag: str, connector_id: int = 1, **_: Any) -> call_result.RemoteStartTransaction:
        self.remote_starts.append((connector_id, id_tag))
        if not self.accept_remote:
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        # Like a real charger: answer first, then start the transaction.
        self._later(self.start_transaction(connector_id, id_tag))
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id: int, **_: Any) -> call_result.RemoteStopTransaction:
        self.remote_stops.append(transaction_id)
        if transaction_id not in self.transactions:
            return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.rejected)
        self._later(self.stop_transaction(transaction_id, reason="Remote"))
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)

    @on(Action.send_local_list)
    async def on_local_list(self, list_version: int, update_type: str, local_authorization_list: list[dict[str, Any]] | None = None, **_: Any) -> call_result.SendLocalList:
        if update_type == "Full":
            self.local_list = {}
        for item in local_authorization_list or []:
            self.local_list[item["id_tag"]] = item.get("id_tag_info", {}).get("status", "Accepted")
        self.local_list_version = list_version
        return call_result.SendLocalList(status=UpdateStatus.accepted)

    def _later(self, coro: Any) -> None:
        async def delayed() -> None:
            await asyncio.sleep(0.01)  # let the answer go out first
            await coro

        task = asyncio.get_running_loop().create_task(delayed())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
