"""Lane controller on a serial line speaking the framed lane protocol
(`docs/gate-protocol.md`): local port, USB adapter, or a serial-over-IP converter.

Three driver threads, none of them the caller's:

* line: the serial line's reader thread (`drivers.serialline`): opens the port (and
  reopens it, with the one back-off policy, after the device vanishes), reads bytes and
  feeds the protocol endpoint, which acknowledges frames at once;
* tx: sends commands, retransmits, heartbeats, and watches the clocks (heartbeat
  loss, barrier confirmation);
* dispatch: hands events to the site's listener, so a slow listener never delays
  acknowledgements or heartbeats.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from typing import Callable

from drivers.gate.barrier import Position
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
from drivers.gate.urls import SerialLaneConfig, parse_serial_lane_url
from drivers.gate.wire import COMMANDS, Command, Link, WireGate
from drivers.serialline import LineParams, SerialLine

# Health turns DEGRADED when this many frames were rejected within the window.
NOISE_THRESHOLD = 3
NOISE_WINDOW = 10.0
_READ_TIMEOUT = 0.05  # how often the line thread looks up from a blocking read
_TICK = 0.05  # longest sleep of the tx thread


class SerialGate(WireGate):
    """A lane controller reached through `serial.serial_for_url`."""

    def __init__(self, name: str, config: SerialLaneConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name, link_url=config.port.url, barrier_timeout=config.barrier_timeout, clock=clock)
        self.config = config
        self._opened_at = 0.0
        self._hello_refused = ""
        self._rejects: deque[float] = deque()
        self._last_reject = ""
        self._loop: bool | None = None
        self._plate_on_loop: str | None = None
        self.line = SerialLine(
            f"gate-{name}",
            LineParams(config.port, read_timeout=_READ_TIMEOUT, reconnect_delay_max=config.reconnect_max),
            self,
            self.health,
            clock=clock,
        )
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
        return [("tx", self._tx_loop)]

    def _start(self) -> None:
        super()._start()
        self.line.start()

    def _after_stop(self) -> None:
        self.line.stop()

    def request_status(self) -> None:
        """Ask the controller for its state; changes come back as events."""
        self._commands.put(Command.STATUS)

    @property
    def last_rejection(self) -> str:
        """Why the last rejected frame was rejected (for diagnostics), or ""."""
        with self._state:
            return self._last_reject

    # -- the line (its reader thread) --------------------------------------------------
    def open_failed(self, reason: str) -> None:
        self._set_down(reason)

    def connection_made(self, note: str) -> None:
        self.endpoint.restart_stream()
        with self._state:
            self._port_note = note
            self._opened_at = self._clock()
            self._hello_refused = ""
            if not self._ever_up:
                self._link = Link.CONNECTING
                self._link_detail = f"{self.config.port.url} open; waiting for the controller"
            # After a loss the health stays OFFLINE, with its reason, until the
            # controller answers: no flicker through CONNECTING on every retry.
        self._refresh_health()
        # HELLO makes the controller forget our old numbering and send its STATUS.
        self.endpoint.submit(MsgType.HELLO, bytes((PROTOCOL_VERSION,)), on_done=self._hello_done)

    def data_received(self, data: bytes, now: float) -> None:
        self.endpoint.feed(data, now)

    def tick(self, now: float) -> None:
        self.endpoint.expire_partial(now, self.config.inter_byte_timeout)

    def connection_lost(self, reason: str) -> None:
        with self._state:
            self.barrier.withdraw()  # no position read-back while the link is down
        self.endpoint.cancel_all()
        self._set_down(reason)

    def _write(self, data: bytes, frame: Frame) -> bool:
        return self.line.write(data)

    def _hello_done(self, result: SendResult) -> None:
        if result.outcome is Outcome.REFUSED:
            with self._state:
                self._hello_refused = f"controller refused HELLO ({result.describe()})"
            self._refresh_health()

    # -- frames from the controller (line thread) -------------------------------------
    def _on_valid(self, now: float) -> None:
        # Called under the endpoint lock for every good frame: keep it short.
        self.line.answered()
        self._mark_up()

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
            self._emit(GateEvent(GateEventKind.VEHICLE_PRESENT))
        elif kind is MsgType.VEHICLE_GONE:
            self._loop, self._plate_on_loop = False, None
            self._emit(GateEvent(GateEventKind.VEHICLE_GONE, plate=decode_plate(p) if p else None))
        elif kind is MsgType.VEHICLE_PASSED:
            self._emit(GateEvent(GateEventKind.VEHICLE_PASSED, plate=decode_plate(p) if p else None))
        elif kind is MsgType.PLATE_READ:
            read = decode_plate_read(p)
            self._plate_on_loop = read.plate
            self._emit(GateEvent(GateEventKind.PLATE_READ, plate=read.plate, confidence=read.confidence))
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
            self._emit(GateEvent(GateEventKind.VEHICLE_PRESENT))
        elif not status.loop_occupied and self._loop is True:
            self._loop, self._plate_on_loop = False, None
            self._emit(GateEvent(GateEventKind.VEHICLE_GONE))
        if status.loop_occupied and status.plate is not None and status.plate.plate != self._plate_on_loop:
            self._plate_on_loop = status.plate.plate
            self._emit(
                GateEvent(GateEventKind.PLATE_READ, plate=status.plate.plate, confidence=status.plate.confidence)
            )
        if status.open_limit and self.barrier.position != "open":
            self._reached("open")
        elif status.closed_limit and self.barrier.position != "closed":
            self._reached("closed")
        if status.fault and self.barrier.fault is None:
            self._barrier_fault("controller reports a barrier fault")

    # -- tx thread -------------------------------------------------------------------
    def _tx_loop(self) -> None:
        while not self._stopping.is_set():
            now = self._clock()
            deadline = self.endpoint.poll(now) if self.line.is_open else now + _TICK
            timeout = min(max(deadline - now, 0.001), _TICK)
            try:
                cmd = self._commands.get(timeout=timeout)
            except queue.Empty:
                cmd = None
            if self._stopping.is_set():
                return
            if cmd is not None:
                self._send_command(cmd)
            now = self._clock()
            self._watch_barrier(now)
            self._watch_heartbeat(now)

    def _send_command(self, cmd: Command) -> None:
        if self._link is not Link.UP:
            if cmd is not Command.STATUS:
                self._fail(cmd, "lane controller offline")
            return
        if cmd is Command.STATUS:
            self.endpoint.submit(MsgType.STATUS_REQUEST)
            return
        position: Position = "open" if cmd is Command.OPEN else "closed"
        with self._state:
            self.barrier.expect(position, self._clock())
        kind = MsgType.OPEN if cmd is Command.OPEN else MsgType.CLOSE
        self.health.count(COMMANDS)
        self.endpoint.submit(kind, on_done=lambda result: self._command_done(cmd, position, result))

    def _command_done(self, cmd: Command, position: Position, result: SendResult) -> None:
        if result.outcome is Outcome.ACKED:
            return
        with self._state:
            self.barrier.withdraw(position)
        self._fail(cmd, "link lost" if result.outcome is Outcome.CANCELLED else result.describe())

    def _watch_heartbeat(self, now: float) -> None:
        lost: str | None = None
        with self._state:
            heard = max(self.endpoint.last_rx, self._opened_at)
            if self.line.is_open and not self.line.reconnect_pending and now - heard >= self.config.heartbeat_timeout:
                was_up = self._link is Link.UP
                what = "no heartbeat from the controller" if was_up else "no answer from the controller"
                lost = f"{what} for {self.config.heartbeat_timeout:g} s"
                if self._link is not Link.DOWN:
                    self._link, self._link_detail = Link.DOWN, lost
                self.barrier.withdraw()
                if was_up:
                    self.health.count("heartbeats_lost")
        if lost is not None:
            self.endpoint.cancel_all()
            self.line.reconnect(lost)
        self._refresh_health()

    # -- health ----------------------------------------------------------------------
    def _degraded(self, now: float) -> str | None:
        while self._rejects and self._rejects[0] < now - NOISE_WINDOW:
            self._rejects.popleft()
        if self._hello_refused:
            return self._hello_refused
        if len(self._rejects) >= NOISE_THRESHOLD:
            return "rejecting corrupt frames (line noise?)"
        return None
