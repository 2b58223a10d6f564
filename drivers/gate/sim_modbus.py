"""A simulated Modbus RTU relay board lane: pymodbus's own server (RTU framing over a
loopback TCP socket, the way a serial-over-IP converter carries it) in front of a small
device model whose coils and discrete inputs are wired to a `SimLane`:

* coil `open_coil` / `close_coil`: a rising edge presses the barrier controller's
  OPEN / CLOSE contact;
* discrete inputs: the loop detector, the open and closed limit switches and the
  controller's fault output, read live from the lane.

Optionally a plate reader on its own pty line (`plate_line=True`) reports the lane's
plate reads in the lane protocol, as the `plates=` option of the driver expects.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import SimData, SimDevice
from pymodbus.simulator.simutils import DataType

from drivers.gate.base import GateEvent, GateEventKind, LaneRole
from drivers.gate.sim_serial import PtyWire, WireLaneSimulator
from drivers.gate.simlane import SimLane, SimTiming
from drivers.gate.simworld import Traffic

logging.getLogger("pymodbus").addHandler(logging.NullHandler())

_BITS = 64  # coils and discrete inputs 0..63 exist on the simulated board
_READ_COILS, _READ_INPUTS, _WRITE_COIL, _WRITE_COILS = 1, 2, 5, 15


@dataclass(frozen=True, slots=True)
class BoardWiring:
    """Which relay and which input does what (zero-based Modbus addresses)."""

    open_coil: int = 0
    close_coil: int | None = 1
    loop_input: int = 0
    open_limit: int | None = 1
    closed_limit: int | None = 2
    fault_input: int | None = 3

    def query(self) -> dict[str, str]:
        """The driver URL options for this wiring."""
        out = {"open_coil": str(self.open_coil), "loop_input": str(self.loop_input)}
        for key in ("close_coil", "open_limit", "closed_limit", "fault_input"):
            value = getattr(self, key)
            out[key] = "none" if value is None else str(value)
        return out


class ModbusLaneSimulator:
    """A relay board lane on `socket://127.0.0.1:PORT` (port chosen by the OS)."""

    def __init__(
        self,
        role: LaneRole,
        traffic: Traffic,
        arrival_rate: float = 0.0,
        timing: SimTiming | None = None,
        *,
        unit: int = 1,
        wiring: BoardWiring | None = None,
        plate_line: bool = False,
        baud: int = 9600,
    ) -> None:
        self.unit = unit
        self.wiring = wiring or BoardWiring()
        self.baud = baud
        self.lane = SimLane(role, traffic, self._on_lane_event, arrival_rate=arrival_rate, timing=timing)
        self.coil_writes: list[tuple[float, int, bool]] = []  # (monotonic, coil, on) of every write
        self.presses: list[str] = []  # contact presses the barrier controller saw
        self.requests = 0
        self.port = 0
        self._coils = [False] * _BITS
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: ModbusSerialServer | None = None
        self._tmpdir: str | None = None
        self.plate_reader: WireLaneSimulator | None = None
        if plate_line:
            self._tmpdir = tempfile.mkdtemp(prefix="booth-plates-")
            self.plate_reader = WireLaneSimulator(
                PtyWire(os.path.join(self._tmpdir, f"plates-{role.value}")),
                self.lane,
                only=frozenset({GateEventKind.PLATE_READ}),
                accepts_commands=False,
            )
        self.plugged = False

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> None:
        """Start the board (server), the plate reader line and the lane."""
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run_loop, args=(ready,), name="sim-modbus", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=5.0):
            raise RuntimeError("simulated Modbus board did not start")
        self.replug()
        if self.plate_reader is not None:
            self.plate_reader.start()
        self.lane.start()

    def stop(self) -> None:
        """Stop everything. Idempotent."""
        self.lane.stop()
        if self.plate_reader is not None:
            self.plate_reader.stop()
        if self._loop is not None and self._thread is not None:
            self.unplug()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def unplug(self) -> None:
        """Cut the board off: the server stops and drops the console's connection."""
        if self._server is not None and self._loop is not None:
            server, self._server = self._server, None
            asyncio.run_coroutine_threadsafe(server.shutdown(), self._loop).result(timeout=2.0)
        self.plugged = False

    def replug(self) -> None:
        """Bring the board back on the same address."""
        if self._server is not None or self._loop is None:
            return
        self._server = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=5.0)
        self.plugged = True

    @property
    def url(self) -> str:
        """The driver URL for this board, wiring included."""
        query = {"baud": str(self.baud), "unit": str(self.unit), **self.wiring.query()}
        if self.plate_reader is not None:
            assert isinstance(self.plate_reader.wire, PtyWire)
            query["plates"] = self.plate_reader.wire.link_path
        return f"modbus-rtu+socket://127.0.0.1:{self.port}?{urlencode(query)}"

    def arrive(self, plate: str) -> None:
        """A vehicle with this plate drives up to the lane."""
        self.lane.arrive(plate)

    # -- server ------------------------------------------------------------------------
    def _run_loop(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _serve(self) -> ModbusSerialServer:
        bits = [SimData(0, count=_BITS, values=False, datatype=DataType.BITS)]
        regs = [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)]
        device = SimDevice(id=self.unit, simdata=(bits, list(bits), regs, list(regs)), action=self._action)
        server = ModbusSerialServer(
            device,
            framer=FramerType.RTU,
            port=f"socket://127.0.0.1:{self.port}",
            baudrate=self.baud,
        )
        await server.serve_forever(background=True)
        transport = server.transport
        sockets = getattr(transport, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return server

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """The device model: inputs read live from the lane, coil edges drive it."""
        self.requests += 1
        if function_code == _READ_INPUTS:
            self._publish_inputs(registers)
        elif function_code in (_WRITE_COIL, _WRITE_COILS) and set_values is not None:
            for offset, value in enumerate(set_values):
                self._coil(address + offset, bool(value))
        return None

    def _publish_inputs(self, registers: list[int]) -> None:
        lane, w = self.lane, self.wiring
        settled = not lane.moving
        values = {
            w.loop_input: lane.vehicle_on_loop,
            w.open_limit: settled and lane.barrier_open,
            w.closed_limit: settled and not lane.barrier_open,
            w.fault_input: lane.jammed and lane.moving,
        }
        for addr, on in values.items():
            if addr is None or addr >= _BITS:
                continue
            reg, bit = divmod(addr, 16)
            if on:
                registers[reg] |= 1 << bit
            else:
                registers[reg] &= ~(1 << bit)

    def _coil(self, addr: int, on: bool) -> None:
        if not 0 <= addr < _BITS:
            return
        was = self._coils[addr]
        self._coils[addr] = on
        self.coil_writes.append((time.monotonic(), addr, on))
        if on and not was:
            if addr == self.wiring.open_coil:
                self.presses.append("open")
                self.lane.open_barrier()
            elif addr == self.wiring.close_coil:
                self.presses.append("close")
                self.lane.close_barrier()

    # -- lane events -----------------------------------------------------------------
    def _on_lane_event(self, event: GateEvent) -> None:
        # The board has no wire for events: the console polls the inputs. Only the
        # plate reader line, if any, reports (plate reads).
        if self.plate_reader is not None:
            self.plate_reader.report(event)
