"""E-bike pile on a serial line / RS-485 bus (docs/epile-protocol.md).

One thread per pile, not the caller's: it opens the port with `serial.serial_for_url`
(so `loop://`, `socket://` converters and `spy://` work), reopens it with back-off when the
device vanishes, polls every port each `poll_interval`, and sends queued power commands
between polls. Events go to the listener from that thread; the listener must be quick.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import serial

from drivers.charger.epile_protocol import (
    Cmd,
    Decoder,
    Frame,
    PortStatus,
    PowerResult,
    ProtocolError,
    decode_power_ack,
    decode_status,
    encode,
    encode_power,
)
from drivers.health import HealthListener, HealthState, HealthTracker


@dataclass(frozen=True, slots=True)
class PortsReported:
    """One poll's answer: every port of the pile, read at monotonic time `at`."""

    pile: str
    ports: tuple[PortStatus, ...]
    at: float


@dataclass(frozen=True, slots=True)
class PlugChanged:
    pile: str
    port: int
    plugged: bool


@dataclass(frozen=True, slots=True)
class PowerDone:
    """The outcome of a power command: `ok` False carries the reason in `detail`."""

    pile: str
    port: int
    on: bool
    ok: bool
    detail: str = ""


EPileEvent = PortsReported | PlugChanged | PowerDone
EPileListener = Callable[[EPileEvent], None]


class EPileDriver:
    """The console's side of one pile."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        address: int = 1,
        baudrate: int = 9600,
        poll_interval: float = 1.0,
        reply_timeout: float = 0.3,
        reconnect_max: float = 2.0,
        offline_after: int = 3,
    ) -> None:
        self.name = name
        self.url = url
        self.address = address
        self.baudrate = baudrate
        self.poll_interval = poll_interval
        self.reply_timeout = reply_timeout
        self.reconnect_max = reconnect_max
        self.offline_after = offline_after
        self.health = HealthTracker(f"pile {name}")
        self._listener: EPileListener | None = None
        self._commands: queue.Queue[tuple[int, bool] | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._plugged: dict[int, bool] = {}
        self._decoder = Decoder()

    # -- public ---------------------------------------------------------------------
    def start(self, listener: EPileListener, health: HealthListener | None = None) -> None:
        """Start talking to the pile; events and health changes go to the listeners."""
        self._listener = listener
        self.health.set_listener(health)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"epile-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the port. Idempotent."""
        self._stop.set()
        self._commands.put(None)
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None

    def set_power(self, port: int, on: bool) -> None:
        """Queue a power command; a PowerDone event follows. Never blocks."""
        self._commands.put((port, on))

    # -- thread ---------------------------------------------------------------------
    def _emit(self, event: EPileEvent) -> None:
        listener = self._listener
        if listener is not None:
            listener(event)

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.02, write_timeout=1.0)
            except (serial.SerialException, OSError, ValueError) as exc:
                self.health.set(HealthState.OFFLINE, f"cannot open {self.url}: {exc}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.reconnect_max)
                continue
            self.health.count("opens")
            self._decoder.reset()
            try:
                reason = self._session(port)
            finally:
                try:
                    port.close()
                except Exception:  # noqa: BLE001 - a vanished device fails in many ways
                    pass
            if reason:
                self.health.set(HealthState.OFFLINE, reason)
                self._fail_pending(reason)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.reconnect_max)

    def _session(self, port: serial.SerialBase) -> str:
        """Poll and command until the link fails; return why (empty when stopping)."""
        misses = 0
        next_poll = time.monotonic()
        while not self._stop.is_set():
            wait = max(0.0, next_poll - time.monotonic())
            try:
                cmd = self._commands.get(timeout=wait) if wait > 0 else self._commands.get_nowait()
            except queue.Empty:
                cmd = None
            if self._stop.is_set():
                return ""
            try:
                if cmd is not None:
                    self._power(port, *cmd)
                    continue
                next_poll = time.monotonic() + self.poll_interval
                reply = self._exchange(port, Frame(self.address, Cmd.POLL), Cmd.STATUS)
            except (serial.SerialException, OSError) as exc:
                return f"link lost: {exc}"
            if reply is None:
                misses += 1
                self.health.count("timeouts")
                if misses >= self.offline_after:
                    self.health.set(HealthState.OFFLINE, f"no answer from pile {self.address} on {self.url}")
                continue
            misses = 0
            try:
                ports = tuple(decode_status(reply.payload))
            except ProtocolError as exc:
                self.health.count("rejected")
                self.health.set(HealthState.DEGRADED, f"bad STATUS: {exc}")
                continue
            self.health.set(HealthState.OK, self.url)
            self._report(ports)
        return ""

    def _report(self, ports: tuple[PortStatus, ...]) -> None:
        for p in ports:
            if self._plugged.get(p.port) != p.plugged:
                known = p.port in self._plugged
                self._plugged[p.port] = p.plugged
                if known or p.plugged:
                    self._emit(PlugChanged(self.name, p.port, p.plugged))
        self._emit(PortsReported(self.name, ports, time.monotonic()))

    def _power(self, port: serial.SerialBase, number: int, on: bool) -> None:
        reply = self._exchange(port, Frame(self.address, Cmd.POWER, encode_power(number, on)), Cmd.POWER_ACK)
        if reply is None:
            self._emit(PowerDone(self.name, number, on, False, "no answer from the pile"))
            return
        try:
            got_port, state, result = decode_power_ack(reply.payload)
        except ProtocolError as exc:
            self._emit(PowerDone(self.name, number, on, False, str(exc)))
            return
        if result is PowerResult.OK and got_port == number and state == on:
            self._emit(PowerDone(self.name, number, on, True))
        else:
            self._emit(PowerDone(self.name, number, on, False, result.name.lower().replace("_", " ")))

    def _exchange(self, port: serial.SerialBase, request: Frame, expect: Cmd) -> Frame | None:
        """Send a request and wait for the pile's answer (or None after the timeout)."""
        port.reset_input_buffer()
        self._decoder.reset()
        port.write(encode(request))
        deadline = time.monotonic() + self.reply_timeout
        while time.monotonic() < deadline:
            data = port.read(port.in_waiting or 1)
            if not data:
                continue
            for frame in self._decoder.feed(data):
                if frame.address != self.address:
                    continue  # another pile on the bus
                if frame.cmd == Cmd.NAK:
                    self.health.count("naks")
                    return None
                if frame.cmd == expect:
                    return frame
        return None

    def _fail_pending(self, reason: str) -> None:
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return
            if cmd is not None:
                self._emit(PowerDone(self.name, cmd[0], cmd[1], False, reason))
