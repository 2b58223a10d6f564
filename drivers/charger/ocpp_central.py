"""The site's local OCPP 1.6J central system: a WebSocket server for the EV chargers.

Built on the `ocpp` library (mobilityhouse): each connected charger gets a
`ocpp.v16.ChargePoint` whose `@on(Action...)` handlers ask the console's `OcppHandler`.
The server runs its own asyncio loop on its own thread; handler calls run in a worker
thread (they touch the database), and commands from the console (remote start / stop,
local authorization list) return `concurrent.futures.Future`s at once, never blocking the
caller.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus, RemoteStartStopStatus, UpdateStatus, UpdateType
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from drivers.health import HealthListener, HealthState, HealthTracker

log = logging.getLogger(__name__)
SUBPROTOCOL = "ocpp1.6"


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One sampled meter value, normalised: energy register in Wh, current in mA."""

    at: datetime
    energy_wh: int | None
    current_ma: int | None


class OcppHandler(Protocol):
    """What the console answers to its chargers. Called from a worker thread."""

    def on_boot(self, charger: str, vendor: str, model: str) -> None: ...
    def after_boot(self, charger: str) -> None: ...
    def on_status(self, charger: str, connector: int, status: str, error_code: str, info: str) -> None: ...
    def authorize(self, charger: str, id_tag: str) -> str: ...
    def start_transaction(self, charger: str, connector: int, id_tag: str, meter_start: int, at: datetime) -> tuple[int, str]: ...
    def stop_transaction(self, charger: str, transaction_id: int, meter_stop: int, at: datetime, reason: str) -> None: ...
    def meter_values(self, charger: str, connector: int, transaction_id: int | None, samples: list[MeterSample]) -> None: ...
    def on_disconnect(self, charger: str) -> None: ...


def _parse_time(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def parse_meter_values(meter_value: list[dict[str, Any]]) -> list[MeterSample]:
    """Energy register (Wh or kWh) and current (A) from OCPP MeterValues; others ignored."""
    samples = []
    for mv in meter_value:
        energy: int | None = None
        current: int | None = None
        for sv in mv.get("sampled_value", []):
            measurand = sv.get("measurand", "Energy.Active.Import.Register")
            try:
                value = float(sv["value"])
            except (KeyError, TypeError, ValueError):
                continue
            if measurand == "Energy.Active.Import.Register":
                energy = round(value * 1000) if sv.get("unit") == "kWh" else round(value)
            elif measurand == "Current.Import" and sv.get("phase") in (None, "L1", "N"):
                current = round(value * 1000) if current is None else current
        samples.append(MeterSample(_parse_time(mv.get("timestamp")), energy, current))
    return samples


class _Charger(ChargePoint):
    """The central system's view of one connected charger."""

    def __init__(self, charger_id: str, connection: ServerConnection, central: OcppCentral) -> None:
        super().__init__(charger_id, connection, response_timeout=central.response_timeout)
        self._central = central

    async def _ask(self, method: str, *args: Any) -> Any:
        fn = getattr(self._central.handler, method)
        return await asyncio.get_running_loop().run_in_executor(self._central._pool, fn, *args)

    @on(Action.boot_notification)
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> call_result.BootNotification:
        await self._ask("on_boot", self.id, charge_point_vendor, charge_point_model)
        return call_result.BootNotification(
            current_time=datetime.now(timezone.utc).isoformat(),
            interval=self._central.heartbeat_interval,
            status=RegistrationStatus.accepted,
        )

    @after(Action.boot_notification)
    async def after_boot(self, **_: Any) -> None:
        """Follow-up work (the local authorization list) once the charger has its
        BootNotification answer: a charger may ignore calls before it is accepted."""
        await self._ask("after_boot", self.id)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=datetime.now(timezone.utc).isoformat())

    @on(Action.status_notification)
    async def on_status(self, connector_id: int, error_code: str, status: str, info: str = "", **_: Any) -> call_result.StatusNotification:
        await self._ask("on_status", self.id, connector_id, status, error_code, info or "")
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        status = await self._ask("authorize", self.id, id_tag)
        return call_result.Authorize(id_tag_info=IdTagInfo(status=AuthorizationStatus(status)))

    @on(Action.start_transaction)
    async def on_start(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any) -> call_result.StartTransaction:
        tx_id, status = await self._ask("start_transaction", self.id, connector_id, id_tag, meter_start, _parse_time(timestamp))
        return call_result.StartTransaction(transaction_id=tx_id, id_tag_info=IdTagInfo(status=AuthorizationStatus(status)))

    @on(Action.stop_transaction)
    async def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, reason: str = "Local", **_: Any) -> call_result.StopTransaction:
        await self._ask("stop_transaction", self.id, transaction_id, meter_stop, _parse_time(timestamp), reason)
        return call_result.StopTransaction()

    @on(Action.meter_values)
    async def on_meter(self, connector_id: int, meter_value: list[dict[str, Any]], transaction_id: int | None = None, **_: Any) -> call_result.MeterValues:
        await self._ask("meter_values", self.id, connector_id, transaction_id, parse_meter_values(meter_value))
        return call_result.MeterValues()


class OcppCentral:
    """The WebSocket server. `start()` returns once it listens; `port` is then known."""

    def __init__(self, handler: OcppHandler, host: str = "127.0.0.1", port: int = 0, *, heartbeat_interval: int = 60, response_timeout: float = 10.0) -> None:
        self.handler = handler
        self.host = host
        self.requested_port = port
        self.port = 0
        self.heartbeat_interval = heartbeat_interval
        self.response_timeout = response_timeout
        self.health = HealthTracker("OCPP central system")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._chargers: dict[str, _Charger] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="ocpp-handler")
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    # -- life cycle -----------------------------------------------------------------
    def start(self, health: HealthListener | None = None) -> None:
        """Listen on host:port (port 0 picks a free one). Raises OSError if it cannot."""
        self.health.set_listener(health)
        self._thread = threading.Thread(target=self._run, name="ocpp-central", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._start_error is not None:
            raise OSError(f"OCPP server cannot listen on {self.host}:{self.requested_port}: {self._start_error}")

    def stop(self) -> None:
        """Close every connection and the server. Idempotent."""
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(self._listen())
        except OSError as exc:
            self._start_error = exc
            self._ready.set()
            loop.close()
            return
        self.port = self._server.sockets[0].getsockname()[1] if self._server.sockets else 0
        self.health.set(HealthState.OK, f"listening on {self.host}:{self.port}, no charger connected")
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _listen(self) -> Server:
        return await serve(self._on_connect, self.host, self.requested_port, subprotocols=[SUBPROTOCOL])  # type: ignore[list-item]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _on_connect(self, connection: ServerConnection) -> None:
        charger_id = (connection.request.path if connection.request else "/").strip("/").split("/")[-1]
        if connection.subprotocol != SUBPROTOCOL or not charger_id:
            await connection.close(1002, "OCPP 1.6J and a charge point id in the path are required")
            return
        charger = _Charger(charger_id, connection, self)
        old = self._chargers.get(charger_id)
        self._chargers[charger_id] = charger
        if old is not None:
            await old._connection.close(1000, "replaced by a new connection")
        self._refresh_health()
        try:
            await charger.start()
        except ConnectionClosed:
            pass
        finally:
            if self._chargers.get(charger_id) is charger:
                del self._chargers[charger_id]
                await asyncio.get_running_loop().run_in_executor(self._pool, self.handler.on_disconnect, charger_id)
            self._refresh_health()

    def _refresh_health(self) -> None:
        names = sorted(self._chargers)
        detail = f"{self.host}:{self.port}, chargers: {', '.join(names) if names else 'none'}"
        self.health.set(HealthState.OK, detail)

    # -- commands (any thread, non-blocking) -------------------------------------------
    def connected(self) -> list[str]:
        return sorted(self._chargers)

    def _submit(self, charger_id: str, payload: Any) -> concurrent.futures.Future[Any]:
        loop = self._loop
        if loop is None or not loop.is_running():
            failed: concurrent.futures.Future[Any] = concurrent.futures.Future()
            failed.set_exception(ConnectionError("the OCPP server is not running"))
            return failed

        async def send() -> Any:
            charger = self._chargers.get(charger_id)
            if charger is None:
                raise ConnectionError(f"charger {charger_id} is not connected")
            return await charger.call(payload)

        return asyncio.run_coroutine_threadsafe(send(), loop)

    def remote_start(self, charger_id: str, connector: int, id_tag: str) -> concurrent.futures.Future[bool]:
        """Ask a charger to start a transaction; the future says whether it accepted."""
        return _map(self._submit(charger_id, call.RemoteStartTransaction(id_tag=id_tag, connector_id=connector)),
                    lambda r: r is not None and r.status == RemoteStartStopStatus.accepted)

    def remote_stop(self, charger_id: str, transaction_id: int) -> concurrent.futures.Future[bool]:
        """Ask a charger to stop a transaction; StopTransaction follows when it does."""
        return _map(self._submit(charger_id, call.RemoteStopTransaction(transaction_id=transaction_id)),
                    lambda r: r is not None and r.status == RemoteStartStopStatus.accepted)

    def send_local_list(self, charger_id: str, version: int, entries: list[tuple[str, str]]) -> concurrent.futures.Future[bool]:
        """Replace the charger's local authorization list (id tag, status) so it can
        authorize cards by itself while the console is down or restarting."""
        items = [{"idTag": tag, "idTagInfo": {"status": status}} for tag, status in entries]
        payload = call.SendLocalList(list_version=version, update_type=UpdateType.full, local_authorization_list=items)
        return _map(self._submit(charger_id, payload), lambda r: r is not None and r.status == UpdateStatus.accepted)


def _map(future: concurrent.futures.Future[Any], fn: Any) -> concurrent.futures.Future[Any]:
    out: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def done(f: concurrent.futures.Future[Any]) -> None:
        exc = f.exception()
        if exc is not None:
            out.set_exception(exc)
        else:
            out.set_result(fn(f.result()))

    future.add_done_callback(done)
    return out
