"""A simulated e-bike pile with N ports on a pseudo-terminal, speaking the real protocol.

Scriptable from tests and benchmarks: plug a bike in, set the current a bike draws, make a
relay stick (current flows with the port off), set the meter back, remove a port, or go
silent. Energy is integrated from current x voltage on the simulator's clock.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from dataclasses import dataclass
from typing import Callable

from drivers.charger.epile_protocol import (
    Cmd,
    Decoder,
    Frame,
    NakCode,
    PortStatus,
    PowerResult,
    ProtocolError,
    decode_power,
    encode,
    encode_power_ack,
    encode_status,
)

VOLTAGE = 220


@dataclass(slots=True)
class SimPort:
    number: int
    plugged: bool = False
    powered: bool = False
    load_ma: int = 17_000  # what a plugged bike draws when powered
    leak_ma: int = 0  # what flows when unpowered (stuck relay, leakage)
    energy_mwh: int = 0  # milli-watt-hours so slow ports still accumulate

    @property
    def current_ma(self) -> int:
        if self.powered and self.plugged:
            return self.load_ma
        return self.leak_ma

    def status(self) -> PortStatus:
        return PortStatus(self.number, self.powered, self.plugged, self.current_ma, self.energy_mwh // 1000)


class EPileSimulator:
    """A pile answering on the slave side of a pty; `url` is what the driver opens."""

    def __init__(self, ports: int = 8, address: int = 1, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.address = address
        self.ports: dict[int, SimPort] = {n: SimPort(n) for n in range(1, ports + 1)}
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        self.url = os.ttyname(self._slave)
        self._last_tick = clock()
        self.silent = False
        self.polls = 0

    # -- scripting ------------------------------------------------------------------
    def plug(self, port: int, plugged: bool = True) -> None:
        with self._lock:
            self._integrate()
            self.ports[port].plugged = plugged

    def set_load(self, port: int, milliamps: int) -> None:
        with self._lock:
            self._integrate()
            self.ports[port].load_ma = milliamps

    def set_leak(self, port: int, milliamps: int) -> None:
        """A stuck relay or leakage: current flows while the port is off."""
        with self._lock:
            self._integrate()
            self.ports[port].leak_ma = milliamps

    def set_energy(self, port: int, wh: int) -> None:
        """Set the port's meter (backwards to simulate a reset or a swapped meter board)."""
        with self._lock:
            self.ports[port].energy_mwh = wh * 1000

    def add_port(self, port: int) -> None:
        with self._lock:
            self.ports.setdefault(port, SimPort(port))

    def remove_port(self, port: int) -> None:
        with self._lock:
            self.ports.pop(port, None)

    def port(self, number: int) -> SimPort:
        with self._lock:
            self._integrate()
            p = self.ports[number]
            return SimPort(p.number, p.plugged, p.powered, p.load_ma, p.leak_ma, p.energy_mwh)

    # -- life cycle -----------------------------------------------------------------
    def start(self) -> EPileSimulator:
        self._thread = threading.Thread(target=self._run, name=f"epile-sim-{self.address}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _integrate(self) -> None:
        now = self._clock()
        dt = now - self._last_tick
        self._last_tick = now
        if dt <= 0:
            return
        for p in self.ports.values():
            current = p.current_ma
            if current:
                p.energy_mwh += int(current * VOLTAGE * dt / 3600)  # mA*V*s/3600 = mWh

    def _run(self) -> None:
        decoder = Decoder()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            for frame in decoder.feed(data):
                if frame.address != self.address or self.silent:
                    continue
                reply = self._answer(frame)
                try:
                    os.write(self._master, encode(reply))
                except OSError:
                    return

    def _answer(self, frame: Frame) -> Frame:
        with self._lock:
            self._integrate()
            if frame.cmd == Cmd.POLL:
                self.polls += 1
                statuses = [p.status() for p in sorted(self.ports.values(), key=lambda p: p.number)]
                return Frame(self.address, Cmd.STATUS, encode_status(statuses))
            if frame.cmd == Cmd.POWER:
                try:
                    number, on = decode_power(frame.payload)
                except ProtocolError:
                    return Frame(self.address, Cmd.NAK, bytes((NakCode.BAD_PAYLOAD,)))
                port = self.ports.get(number)
                if port is None:
                    return Frame(self.address, Cmd.POWER_ACK, encode_power_ack(number, False, PowerResult.NO_SUCH_PORT))
                if on and not port.plugged:
                    return Frame(self.address, Cmd.POWER_ACK, encode_power_ack(number, False, PowerResult.NOT_PLUGGED))
                port.powered = on
                return Frame(self.address, Cmd.POWER_ACK, encode_power_ack(number, on, PowerResult.OK))
            return Frame(self.address, Cmd.NAK, bytes((NakCode.UNKNOWN_COMMAND,)))
