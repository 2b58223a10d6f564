"""Simulated lanes on real wires, for the demo and for tests: the console's real drivers
talk to them through a pseudo-terminal or a loopback socket."""

from __future__ import annotations

from typing import Literal, Union

from drivers.gate.base import LaneRole
from drivers.gate.sim_modbus import ModbusLaneSimulator
from drivers.gate.sim_serial import PtyLaneSimulator, TcpLaneSimulator
from drivers.gate.simlane import SimTiming
from drivers.gate.simworld import Traffic

LaneSimulator = Union[PtyLaneSimulator, TcpLaneSimulator, ModbusLaneSimulator]
SimKind = Literal["serial", "tcp", "modbus", "modbus-noplates"]


def start_simulated_lane(
    kind: str,
    role: LaneRole,
    traffic: Traffic,
    arrival_rate: float = 0.0,
    timing: SimTiming | None = None,
) -> tuple[LaneSimulator, str]:
    """Start a simulated lane controller and return it with the device URL for
    `open_gate`. Stop it with `simulator.stop()` after the driver.

    kind:
    * "serial": lane protocol on a pseudo-terminal (URL: a stable symlink path);
    * "tcp": lane protocol behind a simulated serial-over-IP converter (`socket://`);
    * "modbus": relay board (`modbus-rtu+socket://`) with a plate reader on its own pty
      line (the `plates=` option), limit switches and fault input wired;
    * "modbus-noplates": the same board without a plate reader (the attendant types).
    """
    sim: LaneSimulator
    if kind == "serial":
        sim = PtyLaneSimulator(role, traffic, arrival_rate, timing)
    elif kind == "tcp":
        sim = TcpLaneSimulator(role, traffic, arrival_rate, timing)
    elif kind in ("modbus", "modbus-noplates"):
        sim = ModbusLaneSimulator(role, traffic, arrival_rate, timing, plate_line=kind == "modbus")
    else:
        raise ValueError(f"unknown simulated lane kind {kind!r} (serial, tcp, modbus, modbus-noplates)")
    sim.start()
    return sim, sim.url
