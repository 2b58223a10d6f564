"""E-bike pile on a serial line / RS-485 bus (docs/epile-protocol.md).

The pile's port is a serial line (`drivers.serialline`): opened by URL with
`serial.serial_for_url` (so `loop://`, `socket://` converters and `spy://` work, and line
options such as `?baud=19200` follow the one serial URL grammar), reopened with the one
back-off policy when the device vanishes. The line's reader thread, not the caller's, runs
the console's side of the bus: it polls every port each `poll_interval` and sends queued
power commands between polls, one request at a time, each answered within
`reply_timeout` or given up. Events go to the listener from that thread; the listener
must be quick.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from typing import Callable

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
from drivers.device import EventDevice
from drivers.health import HealthState
from drivers.serialline import LineParams, LineURL, SerialLine, SerialURLError


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


@dataclass(frozen=True, slots=True)
class _Request:
    """The request on the bus now, waiting for its answer."""

    expect: Cmd
    deadline: float
    power: tuple[int, bool] | None  # (port, on) for a power command; None for a poll


class EPileDriver(EventDevice[EPileEvent]):
    """The console's side of one pile.

    A URL the serial line grammar refuses does not raise: the pile stays OFFLINE with the
    reason, as a pile whose port cannot be opened does.
    """

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
        super().__init__(name, health_name=f"pile {name}")
        self.url = url
        self.address = address
        self.poll_interval = poll_interval
        self.reply_timeout = reply_timeout
        self.offline_after = offline_after
        self._commands: queue.Queue[tuple[int, bool]] = queue.Queue()
        self._plugged: dict[int, bool] = {}
        self._decoder = Decoder()
        self._request: _Request | None = None
        self._next_poll = 0.0
        self._misses = 0
        self.line: SerialLine | None = None
        self.url_error = ""
        try:
            settings = LineURL(url, kind="pile", error=SerialURLError).settings(baudrate=baudrate)
        except SerialURLError as exc:
            self.url_error = str(exc)
        else:
            params = LineParams(settings, read_timeout=0.02, reconnect_delay_max=reconnect_max)
            self.line = SerialLine(f"epile-{name}", params, self, self.health)
        self.baudrate = baudrate if self.line is None else self.line.params.settings.baudrate

    # -- public ---------------------------------------------------------------------
    def _start(self) -> None:
        if self.line is None:
            self.health.set(HealthState.OFFLINE, self.url_error)
            return
        self.line.start()

    def stop(self) -> None:
        """Stop the thread and close the port. Idempotent."""
        if self.line is not None:
            self.line.stop(timeout=3)

    def set_power(self, port: int, on: bool) -> None:
        """Queue a power command; a PowerDone event follows. Never blocks."""
        self._commands.put((port, on))

    # -- the line (its reader thread) -------------------------------------------------
    def open_failed(self, reason: str) -> None:
        self.health.set(HealthState.OFFLINE, reason)

    def connection_made(self, note: str) -> None:
        self._decoder.reset()
        self._request = None
        self._misses = 0
        self._next_poll = time.monotonic()

    def data_received(self, data: bytes, now: float) -> None:
        request = self._request
        if request is None:
            return  # nothing asked: the next request discards it
        for frame in self._decoder.feed(data):
            if frame.address != self.address:
                continue  # another pile on the bus
            if frame.cmd == Cmd.NAK:
                self.health.count("naks")
                self._answer(request, None)
                return
            if frame.cmd == request.expect:
                self._answer(request, frame)
                return

    def tick(self, now: float) -> None:
        request = self._request
        if request is not None:
            if now < request.deadline:
                return
            self._answer(request, None)
        self._send_next(now)

    def connection_lost(self, reason: str) -> None:
        if reason == "stopped":
            return
        self.health.set(HealthState.OFFLINE, reason)
        request, self._request = self._request, None
        if request is not None and request.power is not None:
            self._emit(PowerDone(self.name, *request.power, False, reason))
        self._fail_pending(reason)

    # -- requests and answers -----------------------------------------------------------
    def _send_next(self, now: float) -> None:
        assert self.line is not None
        try:
            power: tuple[int, bool] | None = self._commands.get_nowait()
        except queue.Empty:
            power = None
        if power is not None:
            request, expect = Frame(self.address, Cmd.POWER, encode_power(*power)), Cmd.POWER_ACK
        elif now >= self._next_poll:
            self._next_poll = now + self.poll_interval
            request, expect = Frame(self.address, Cmd.POLL), Cmd.STATUS
        else:
            return
        self.line.discard_input()  # an old answer must not pass for this one's
        self._decoder.reset()
        self.line.write(encode(request))
        self._request = _Request(expect, now + self.reply_timeout, power)

    def _answer(self, request: _Request, reply: Frame | None) -> None:
        """`reply` is the answer to `request`, or None when none came (or a NAK)."""
        self._request = None
        if request.power is not None:
            self._power_done(*request.power, reply)
            return
        if reply is None:
            self._misses += 1
            self.health.count("timeouts")
            if self._misses >= self.offline_after:
                self.health.set(HealthState.OFFLINE, f"no answer from pile {self.address} on {self.url}")
            return
        self._misses = 0
        assert self.line is not None
        self.line.answered()
        try:
            ports = tuple(decode_status(reply.payload))
        except ProtocolError as exc:
            self.health.count("rejected")
            self.health.set(HealthState.DEGRADED, f"bad STATUS: {exc}")
            return
        self.health.set(HealthState.OK, self.url)
        self._report(ports)

    def _report(self, ports: tuple[PortStatus, ...]) -> None:
        for p in ports:
            if self._plugged.get(p.port) != p.plugged:
                known = p.port in self._plugged
                self._plugged[p.port] = p.plugged
                if known or p.plugged:
                    self._emit(PlugChanged(self.name, p.port, p.plugged))
        self._emit(PortsReported(self.name, ports, time.monotonic()))

    def _power_done(self, number: int, on: bool, reply: Frame | None) -> None:
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

    def _fail_pending(self, reason: str) -> None:
        while True:
            try:
                number, on = self._commands.get_nowait()
            except queue.Empty:
                return
            self._emit(PowerDone(self.name, number, on, False, reason))
