"""Lane controller on a serial line speaking the framed lane protocol
(`docs/gate-protocol.md`): local port, USB adapter, or a serial-over-IP converter.

Three driver threads, none of them the caller's:

* link: opens the port (and reopens it, with back-off, after the device vanishes),
  reads bytes and feeds the protocol endpoint, which acknowledges frames at once;
* tx: sends commands, retransmits, heartbeats, and watches the clocks (heartbeat
  loss, barrier confirmation);
* dispatch: hands events to the site's listener, so a slow listener never delays
  acknowledgements or heartbeats.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Callable

import serial

from drivers.gate.base import GateEvent, GateEventKind
from drivers.gate.link import Endpoint, Outcome, SendResult
from drivers.gate.protocol import (
    CONTROLLER_SENDS,
    PROTOCOL_VERSION,
    Frame,
    MsgType,
    Status,
    decode_fault,
    decode_plate,
    decode_plate_read,
    decode_status,
)
from drivers.gate.serialport import close_quietly, open_port
from drivers.gate.threaded import ThreadedGate
from drivers.gate.urls import SerialLaneConfig, parse_serial_lane_url
from drivers.health import HealthState

# Health turns DEGRADED when this many frames were rejected within the window.
NOISE_THRESHOLD = 3
NOISE_WINDOW = 10.0
_READ_TIMEOUT = 0.05  # how often the link thread looks up from a blocking read
_TICK = 0.05  # longest sleep of the tx thread


class _Link(Enum):
    CONNECTING = "connecting"  # port open, nothing heard yet
    UP = "up"
    DOWN = "down"


class _Command(Enum):
    OPEN = "open"
    CLOSE = "close"
    STATUS = "status"


@dataclass(slots=True)
class _Expectation:
    position: str  # "open" | "closed"
    deadline: float


class SerialGate(ThreadedGate):
    """A lane controller reached through `serial.serial_for_url`."""

    def __init__(self, name: str, config: SerialLaneConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name)
        self.config = config
        self._clock = clock
        self._stop = self._stopping
        self._reconnect = threading.Event()
        self._commands: queue.Queue[_Command | None] = queue.Queue()
        self._port: serial.SerialBase | None = None
        self._state = threading.Lock()
        self._link = _Link.DOWN
        self._link_detail = "not started"
        self._opened_at = 0.0
        self._ever_up = False
        self._port_note = ""
        self._hello_refused = ""
        self._fault: str | None = None
        self._rejects: deque[float] = deque()
        self._last_reject = ""
        self._expect: _Expectation | None = None
        self._position: str | None = None
        self._loop: bool | None = None
        self._plate_on_loop: str | None = None
        self.endpoint = Endpoint(
            write=self._write,
            accept=CONTROLLER_SENDS,
            deliver=self._on_frame,
            count=self.health.count,
            on_reject=self._on_reject,
            on_valid=self._on_valid,
            ack_timeout=config.ack_timeout,
            retries=config.retries,
            heartbeat_interval=config.heartbeat,
            clock=clock,
        )

    @classmethod
    def from_url(cls, name: str, url: str) -> SerialGate:
        """Build from a lane device URL (see `drivers.gate.urls`)."""
        return cls(name, parse_serial_lane_url(url))

    # -- GateDriver ------------------------------------------------------------------
    def _workers(self) -> list[tuple[str, Callable[[], None]]]:
        return [("link", self._link_loop), ("tx", self._tx_loop)]

    def _wake_workers(self) -> None:
        self._commands.put(None)

    def _after_stop(self) -> None:
        with self._state:
            self._link, self._link_detail = _Link.DOWN, "stopped"

    def open_barrier(self) -> None:
        """Queue OPEN; BARRIER_OPENED, COMMAND_FAILED or BARRIER_FAULT follows."""
        self._commands.put(_Command.OPEN)

    def close_barrier(self) -> None:
        """Queue CLOSE; BARRIER_CLOSED, COMMAND_FAILED or BARRIER_FAULT follows."""
        self._commands.put(_Command.CLOSE)

    def request_status(self) -> None:
        """Ask the controller for its state; changes come back as events."""
        self._commands.put(_Command.STATUS)

    @property
    def link_up(self) -> bool:
        with self._state:
            return self._link is _Link.UP

    @property
    def last_rejection(self) -> str:
        """Why the last rejected frame was rejected (for diagnostics), or ""."""
        with self._state:
            return self._last_reject

    # -- link thread -----------------------------------------------------------------
    def _link_loop(self) -> None:
        backoff = 0.05
        opened_before = False
        while not self._stop.is_set():
            try:
                port, note = open_port(self.config.port, read_timeout=_READ_TIMEOUT)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._set_down(f"cannot open {self.config.port.url}: {exc}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.config.reconnect_max)
                continue
            if opened_before:
                self.health.count("reconnects")
            opened_before = True
            if note:
                self.health.count("rs485_unsupported")
            self.endpoint.restart_stream()
            self._reconnect.clear()
            with self._state:
                self._port = port
                self._port_note = note
                self._opened_at = self._clock()
                self._hello_refused = ""
                if not self._ever_up:
                    self._link = _Link.CONNECTING
                    self._link_detail = f"{self.config.port.url} open; waiting for the controller"
                # After a loss the health stays OFFLINE, with its reason, until the
                # controller answers: no flicker through CONNECTING on every retry.
            self._refresh_health()
            # HELLO makes the controller forget our old numbering and send its STATUS.
            self.endpoint.submit(MsgType.HELLO, bytes((PROTOCOL_VERSION,)), on_done=self._hello_done)
            reason = self._read_loop(port)
            with self._state:
                self._port = None
                was_up = self._link is _Link.UP
                self._expect = None  # no position read-back while the link is down
            close_quietly(port)
            self.endpoint.cancel_all()
            if reason is not None:
                self._set_down(reason)
            if was_up:
                backoff = 0.05
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.config.reconnect_max)

    def _read_loop(self, port: serial.SerialBase) -> str | None:
        """Read until the port fails, a reconnect is asked for, or the driver stops.
        Returns why the link went down (None when it still stands as it is)."""
        ibt = self.config.inter_byte_timeout
        while not self._stop.is_set():
            if self._reconnect.is_set():
                return None  # the tx thread already said why
            try:
                data = port.read(port.in_waiting or 1)
            except (serial.SerialException, OSError, TypeError, ValueError) as exc:
                return f"link lost: {exc}"
            now = self._clock()
            if data:
                self.endpoint.feed(data, now)
            else:
                self.endpoint.expire_partial(now, ibt)
        return "stopped"

    def _write(self, data: bytes, frame: Frame) -> bool:
        port = self._port
        if port is None:
            return False
        port.write(data)
        return True

    def _hello_done(self, result: SendResult) -> None:
        if result.outcome is Outcome.REFUSED:
            with self._state:
                self._hello_refused = f"controller refused HELLO ({result.describe()})"
            self._refresh_health()

    # -- frames from the controller (link thread) -------------------------------------
    def _on_valid(self, now: float) -> None:
        # Called under the endpoint lock for every good frame: keep it short.
        if self._link is not _Link.UP:
            with self._state:
                self._link = _Link.UP
                self._ever_up = True
                self._link_detail = self.config.port.url
            self._refresh_health()

    def _on_reject(self, reason: str) -> None:
        now = self._clock()
        with self._state:
            self._rejects.append(now)
            self._last_reject = reason
        self._refresh_health()

    def _on_frame(self, frame: Frame, kind: MsgType) -> None:
        p = frame.payload
        if kind is MsgType.HELLO:
            self.health.count("controller_restarts")
        elif kind is MsgType.VEHICLE_PRESENT:
            self._loop = True
            self._post(GateEvent(GateEventKind.VEHICLE_PRESENT))
        elif kind is MsgType.VEHICLE_GONE:
            self._loop, self._plate_on_loop = False, None
            self._post(GateEvent(GateEventKind.VEHICLE_GONE, plate=decode_plate(p) if p else None))
        elif kind is MsgType.VEHICLE_PASSED:
            self._post(GateEvent(GateEventKind.VEHICLE_PASSED, plate=decode_plate(p) if p else None))
        elif kind is MsgType.PLATE_READ:
            read = decode_plate_read(p)
            self._plate_on_loop = read.plate
            self._post(GateEvent(GateEventKind.PLATE_READ, plate=read.plate, confidence=read.confidence))
        elif kind is MsgType.BARRIER_OPENED:
            self._reached("open")
        elif kind is MsgType.BARRIER_CLOSED:
            self._reached("closed")
        elif kind is MsgType.BARRIER_FAULT:
            self._barrier_fault(f"controller reports {decode_fault(p).describe()}")
        elif kind is MsgType.STATUS:
            self._apply_status(decode_status(p))

    def _apply_status(self, status: Status) -> None:
        """Turn a STATUS into the events the site missed while the link was down."""
        if status.loop_occupied and self._loop is not True:
            self._loop = True
            self._post(GateEvent(GateEventKind.VEHICLE_PRESENT))
        elif not status.loop_occupied and self._loop is True:
            self._loop, self._plate_on_loop = False, None
            self._post(GateEvent(GateEventKind.VEHICLE_GONE))
        if status.loop_occupied and status.plate is not None and status.plate.plate != self._plate_on_loop:
            self._plate_on_loop = status.plate.plate
            self._post(
                GateEvent(GateEventKind.PLATE_READ, plate=status.plate.plate, confidence=status.plate.confidence)
            )
        if status.open_limit and self._position != "open":
            self._reached("open")
        elif status.closed_limit and self._position != "closed":
            self._reached("closed")
        if status.fault and self._fault is None:
            self._barrier_fault("controller reports a barrier fault")

    def _reached(self, position: str) -> None:
        with self._state:
            self._position = position
            if self._expect is not None and self._expect.position == position:
                self._expect = None
            self._fault = None  # the barrier moved to a limit: it works again
        self._post(
            GateEvent(GateEventKind.BARRIER_OPENED if position == "open" else GateEventKind.BARRIER_CLOSED)
        )
        self._refresh_health()

    def _barrier_fault(self, detail: str) -> None:
        with self._state:
            self._fault = detail
        self.health.count("barrier_faults")
        self._post(GateEvent(GateEventKind.BARRIER_FAULT, detail=detail))
        self._refresh_health()

    # -- tx thread -------------------------------------------------------------------
    def _tx_loop(self) -> None:
        while not self._stop.is_set():
            now = self._clock()
            deadline = self.endpoint.poll(now) if self._port is not None else now + _TICK
            timeout = min(max(deadline - now, 0.001), _TICK)
            try:
                cmd = self._commands.get(timeout=timeout)
            except queue.Empty:
                cmd = None
            if self._stop.is_set():
                return
            if cmd is not None:
                self._send_command(cmd)
            self._watch_clocks(self._clock())

    def _send_command(self, cmd: _Command) -> None:
        if self._link is not _Link.UP:
            if cmd is not _Command.STATUS:
                self.health.count("commands_failed")
                self._post(
                    GateEvent(GateEventKind.COMMAND_FAILED, detail=f"{cmd.value}: lane controller offline")
                )
            return
        if cmd is _Command.STATUS:
            self.endpoint.submit(MsgType.STATUS_REQUEST)
            return
        position = "open" if cmd is _Command.OPEN else "closed"
        with self._state:
            self._expect = _Expectation(position, self._clock() + self.config.barrier_timeout)
        kind = MsgType.OPEN if cmd is _Command.OPEN else MsgType.CLOSE
        self.health.count("commands")
        self.endpoint.submit(kind, on_done=lambda result: self._command_done(cmd, position, result))

    def _command_done(self, cmd: _Command, position: str, result: SendResult) -> None:
        if result.outcome is Outcome.ACKED:
            return
        with self._state:
            if self._expect is not None and self._expect.position == position:
                self._expect = None
        self.health.count("commands_failed")
        reason = "link lost" if result.outcome is Outcome.CANCELLED else result.describe()
        self._post(GateEvent(GateEventKind.COMMAND_FAILED, detail=f"{cmd.value}: {reason}"))

    def _watch_clocks(self, now: float) -> None:
        fault: str | None = None
        lost: str | None = None
        with self._state:
            exp = self._expect
            if exp is not None and now >= exp.deadline:
                self._expect = None
                fault = f"barrier did not confirm {exp.position} within {self.config.barrier_timeout:g} s"
            heard = max(self.endpoint.last_rx, self._opened_at)
            if self._port is not None and not self._reconnect.is_set() and now - heard >= self.config.heartbeat_timeout:
                was_up = self._link is _Link.UP
                what = "no heartbeat from the controller" if was_up else "no answer from the controller"
                lost = f"{what} for {self.config.heartbeat_timeout:g} s"
                if self._link is not _Link.DOWN:
                    self._link, self._link_detail = _Link.DOWN, lost
                self._expect = None
                if was_up:
                    self.health.count("heartbeats_lost")
        if fault is not None:
            self._barrier_fault(fault)
        if lost is not None:
            self.endpoint.cancel_all()
            # Reopen the port: a half-open TCP link to a converter or a wedged USB
            # adapter only comes back that way.
            self._reconnect.set()
        self._refresh_health()

    # -- health ----------------------------------------------------------------------
    def _set_down(self, detail: str) -> None:
        with self._state:
            self._link, self._link_detail = _Link.DOWN, detail
        self._refresh_health()

    def _refresh_health(self) -> None:
        now = self._clock()
        with self._state:
            while self._rejects and self._rejects[0] < now - NOISE_WINDOW:
                self._rejects.popleft()
            if self._link is _Link.DOWN:
                state, detail = HealthState.OFFLINE, self._link_detail
            elif self._link is _Link.CONNECTING:
                state, detail = HealthState.CONNECTING, self._link_detail
            elif self._fault is not None:
                state, detail = HealthState.FAULT, self._fault
            elif self._hello_refused:
                state, detail = HealthState.DEGRADED, self._hello_refused
            elif len(self._rejects) >= NOISE_THRESHOLD:
                state, detail = HealthState.DEGRADED, "rejecting corrupt frames (line noise?)"
            else:
                state, detail = HealthState.OK, self._link_detail
                if self._port_note:
                    detail = f"{detail}; {self._port_note}"
        self.health.set(state, detail)
