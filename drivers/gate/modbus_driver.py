"""Lane on a Modbus RTU relay board: the cheapest common setup.

A relay (coil) is wired to the barrier controller's OPEN push-button contact (and,
if present, its CLOSE contact) and pulsed; the loop detector's relay output and, when
wired, the barrier's limit switches and fault output are the board's discrete inputs,
polled. There is no plate reader on the board: the attendant types the plate, unless
`plates=` names a separate plate reader line speaking the lane protocol, whose plate
reads are merged into this lane's events.

One poll thread owns the Modbus client (pymodbus is not shared between threads);
commands reach it through a queue, so `open_barrier()` returns at once.
"""

from __future__ import annotations

import logging
import queue
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from pymodbus.client import ModbusSerialClient
from pymodbus.framer import FramerType

from drivers.gate.barrier import Position
from drivers.gate.base import GateEvent, GateEventKind
from drivers.gate.serial_driver import SerialGate
from drivers.gate.urls import ModbusLaneConfig, parse_modbus_url, parse_serial_lane_url
from drivers.gate.wire import COMMANDS, Command, Link, WireGate
from drivers.health import DeviceHealth, HealthState
from drivers.reconnect import Backoff, keep_connected
from drivers.serialline.port import enable_rs485
from drivers.serialline.reader import RS485_UNSUPPORTED

# pymodbus logs through the standard logging module; without a handler of our own its
# warnings would go to stderr through logging's last resort and smear a terminal UI.
logging.getLogger("pymodbus").addHandler(logging.NullHandler())

ERROR_WINDOW = 10.0


@dataclass(slots=True)
class _Pulse:
    coil: int
    until: float


class _BoardError(Exception):
    """A Modbus request failed: no answer (link) or an exception response (config)."""

    def __init__(self, message: str, *, link: bool) -> None:
        super().__init__(message)
        self.link = link


class ModbusRelayGate(WireGate):
    """A lane driven through a Modbus RTU relay board.

    `open_barrier()` pulses the open contact; BARRIER_OPENED follows when the open limit
    switch is wired (otherwise nothing confirms the position). `close_barrier()` pulses
    the close contact, if one is wired, and fails with COMMAND_FAILED otherwise.
    """

    def __init__(self, name: str, config: ModbusLaneConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(name, link_url=config.port.url, barrier_timeout=config.barrier_timeout, clock=clock)
        self.config = config
        self._board_errors: deque[float] = deque()
        self._last_board_error = ""
        self._plates_health: DeviceHealth | None = None
        self._pulse: _Pulse | None = None
        self._loop: bool | None = None
        self._fault_input: bool | None = None
        self._opened_for_vehicle = False
        self.plates: SerialGate | None = None
        if config.plates:
            self.plates = SerialGate(f"{name}-plates", parse_serial_lane_url(config.plates), clock=clock)
        inputs = [i for i in (config.loop_input, config.open_limit, config.closed_limit, config.fault_input) if i is not None]
        self._first_input = min(inputs)
        self._input_count = max(inputs) - self._first_input + 1

    @classmethod
    def from_url(cls, name: str, url: str) -> ModbusRelayGate:
        return cls(name, parse_modbus_url(url))

    # -- GateDriver ------------------------------------------------------------------
    def _workers(self) -> list[tuple[str, Callable[[], None]]]:
        return [("modbus", self._poll_loop)]

    def _start(self) -> None:
        super()._start()
        if self.plates is not None:
            self.plates.start(self._on_plate_event, self._on_plate_health)

    def _after_stop(self) -> None:
        if self.plates is not None:
            self.plates.stop()

    # -- poll thread -------------------------------------------------------------------
    def _poll_loop(self) -> None:
        keep_connected(
            stopping=self._stopping,
            connect=self._connect,
            serve=self._serve_and_close,
            backoff=Backoff(0.05, self.config.reconnect_max),
            health=self.health,
            wait=self._idle_offline,
        )

    def _connect(self) -> ModbusSerialClient | None:
        port = self.config.port
        try:
            client = ModbusSerialClient(
                port.url,
                framer=FramerType.RTU,
                baudrate=port.baudrate,
                bytesize=port.bytesize,
                parity=port.parity,
                stopbits=int(port.stopbits),
                timeout=self.config.timeout,
                retries=self.config.retries,
            )
            ok = client.connect()
        except Exception as exc:  # noqa: BLE001 - pymodbus and pyserial raise many kinds
            self._set_down(f"cannot open {port.url}: {exc}")
            return None
        if not ok:
            self._set_down(f"cannot open {port.url}")
            return None
        note = enable_rs485(client.socket, port)
        if note:
            self.health.count(RS485_UNSUPPORTED)
        self._port_note = note
        return client

    def _serve_and_close(self, client: ModbusSerialClient) -> bool:
        """Serve the board until it stops answering; True if it answered."""
        reason = self._serve(client)
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a vanished port can fail in many ways
            pass
        with self._state:
            was_up = self._link is Link.UP
            self.barrier.withdraw()
            self._pulse = None
        self._set_down(reason)
        return was_up

    def _idle_offline(self, seconds: float) -> None:
        """Wait before the next attempt, failing commands at once: an OPEN held back
        until the board answers again could let the wrong vehicle through."""
        deadline = self._clock() + seconds
        while not self._stopping.is_set():
            left = deadline - self._clock()
            if left <= 0:
                return
            try:
                cmd = self._commands.get(timeout=left)
            except queue.Empty:
                return
            if cmd is not None:
                self._fail(cmd, "relay board offline")

    def _serve(self, client: ModbusSerialClient) -> str:
        """Talk to the board until it stops answering. Returns why."""
        failures = 0
        # Never leave a contact held: a pulse cut short by a lost link would keep the
        # barrier open (many controllers read a held OPEN as "stay open").
        for coil in (self.config.open_coil, self.config.close_coil):
            if coil is None:
                continue
            try:
                self._write_coil(client, coil, False)
            except _BoardError as exc:
                if exc.link:
                    return f"relay board not answering: {exc}"
                self._mark_up()
                self._board_error(str(exc))
        next_poll = self._clock()
        while not self._stopping.is_set():
            now = self._clock()
            pulse = self._pulse
            if pulse is not None and now >= pulse.until:
                try:
                    self._write_coil(client, pulse.coil, False)
                    self._pulse = None
                except _BoardError as exc:
                    failures += 1
                    if failures >= self.config.offline_after:
                        return f"relay board not answering: {exc}"
            if now >= next_poll:
                next_poll = now + self.config.poll
                try:
                    bits = self._read_inputs(client)
                except _BoardError as exc:
                    if exc.link:
                        failures += 1
                        self.health.count("timeouts")
                        if failures >= self.config.offline_after:
                            return f"relay board not answering: {exc}"
                    else:
                        self._mark_up()  # it answered: the link is fine, the request is not
                        self._board_error(str(exc))
                else:
                    failures = 0
                    self._mark_up()
                    self._apply_inputs(bits)
                    if self._board_errors:
                        self._refresh_health()  # let old board errors age out
            self._watch_barrier(self._clock())
            wake = next_poll if self._pulse is None else min(next_poll, self._pulse.until)
            try:
                cmd = self._commands.get(timeout=max(wake - self._clock(), 0.0))
            except queue.Empty:
                continue
            if cmd is not None:
                self._do(client, cmd)
        return "stopped"

    def _do(self, client: ModbusSerialClient, cmd: Command) -> None:
        if not self.link_up:
            self._fail(cmd, "relay board offline")
            return
        cfg = self.config
        if cmd is Command.CLOSE:
            if cfg.close_coil is None:
                self._fail(cmd, "no close contact wired; the barrier closes by itself")
                return
            if self._loop:
                self._fail(cmd, "vehicle on loop")
                return
        coil = cfg.open_coil if cmd is Command.OPEN else cfg.close_coil
        assert coil is not None
        pulse = self._pulse
        try:
            if pulse is not None and pulse.coil != coil:
                self._write_coil(client, pulse.coil, False)  # one contact at a time
            self._write_coil(client, coil, True)
        except _BoardError as exc:
            self._fail(cmd, f"relay board did not take the command: {exc}")
            return
        now = self._clock()
        self._pulse = _Pulse(coil, now + cfg.pulse)
        self.health.count(COMMANDS)
        if cmd is Command.OPEN and self._loop:
            self._opened_for_vehicle = True
        limit = cfg.open_limit if cmd is Command.OPEN else cfg.closed_limit
        if limit is not None:
            position: Position = "open" if cmd is Command.OPEN else "closed"
            with self._state:
                self.barrier.expect(position, now)

    # -- Modbus requests ---------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            response = fn(*args, device_id=self.config.unit, **kwargs)
        except Exception as exc:  # noqa: BLE001 - ModbusIOException, SerialException, OSError...
            raise _BoardError(f"{what}: {exc}", link=True) from None
        if response is None:
            raise _BoardError(f"{what}: no response", link=True)
        if response.isError():
            code = getattr(response, "exception_code", "?")
            self.health.count("modbus_errors")
            raise _BoardError(f"{what}: board answered exception {code}", link=False)
        return response

    def _write_coil(self, client: ModbusSerialClient, coil: int, on: bool) -> None:
        self._call(f"write coil {coil}", client.write_coil, coil, on)

    def _read_inputs(self, client: ModbusSerialClient) -> list[bool]:
        self.health.count("polls")
        response = self._call(
            f"read inputs {self._first_input}..{self._first_input + self._input_count - 1}",
            client.read_discrete_inputs,
            self._first_input,
            count=self._input_count,
        )
        bits = list(response.bits)
        if len(bits) < self._input_count:
            raise _BoardError("short answer to read inputs", link=False)
        return bits

    # -- inputs -> events ------------------------------------------------------------
    def _bit(self, bits: list[bool], address: int | None) -> bool | None:
        return None if address is None else bool(bits[address - self._first_input])

    def _apply_inputs(self, bits: list[bool]) -> None:
        cfg = self.config
        loop = self._bit(bits, cfg.loop_input)
        open_limit = self._bit(bits, cfg.open_limit)
        closed_limit = self._bit(bits, cfg.closed_limit)
        fault = self._bit(bits, cfg.fault_input)
        position = self.barrier.position
        if open_limit and position != "open":
            self._reached("open")
        elif closed_limit and position != "closed":
            self._reached("closed")
        elif open_limit is False and closed_limit is not True and position == "open":
            self.barrier.moving()  # left the open limit
        elif closed_limit is False and open_limit is not True and position == "closed":
            self.barrier.moving()
        if loop and self._loop is not True:
            self._loop = True
            self._opened_for_vehicle = self.barrier.position == "open"
            self._emit(GateEvent(GateEventKind.VEHICLE_PRESENT))
        elif not loop and self._loop is True:
            self._loop = False
            # One loop cannot see the vehicle cross: if the barrier was opened for it,
            # it went through; otherwise it turned away.
            if self._opened_for_vehicle:
                self._emit(GateEvent(GateEventKind.VEHICLE_PASSED))
            self._opened_for_vehicle = False
            self._emit(GateEvent(GateEventKind.VEHICLE_GONE))
        elif self._loop is None:
            self._loop = bool(loop)
        if fault and not self._fault_input:
            self._barrier_fault("barrier controller fault input active")
        self._fault_input = fault

    def _reached(self, position: Position) -> None:
        if position == "open" and self._loop:
            self._opened_for_vehicle = True
        super()._reached(position)

    # -- plate reader line -----------------------------------------------------------
    def _on_plate_event(self, event: GateEvent) -> None:
        # Only plates: the loop and barrier of this lane are the board's business.
        if event.kind is GateEventKind.PLATE_READ:
            self._emit(event)

    def _on_plate_health(self, health: DeviceHealth) -> None:
        with self._state:
            self._plates_health = health
        self._refresh_health()

    # -- health ----------------------------------------------------------------------
    def _board_error(self, detail: str) -> None:
        with self._state:
            self._board_errors.append(self._clock())
            self._last_board_error = detail
        self._refresh_health()

    def _degraded(self, now: float) -> str | None:
        while self._board_errors and self._board_errors[0] < now - ERROR_WINDOW:
            self._board_errors.popleft()
        if self._board_errors:
            return self._last_board_error
        plates = self._plates_health
        if plates is not None and plates.state not in (HealthState.OK, HealthState.DEGRADED):
            return f"plate reader {plates.state.value}: {plates.detail}"
        return None
