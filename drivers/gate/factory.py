"""Choose a lane controller driver from the lane's device URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from drivers.gate.base import GateDriver, LaneRole
from drivers.gate.simlane import FAST_TIMING, SimTiming
from drivers.gate.simulated import InProcessGate
from drivers.gate.simworld import Traffic
from drivers.gate.urls import (
    MODBUS_SCHEMES,
    GateURLError,
    parse_modbus_url,
    parse_serial_lane_url,
)

__all__ = ["SIMULATED_WIRES", "GateURLError", "check_gate_url", "open_gate", "sim_options"]


def sim_options(url: str) -> tuple[float, SimTiming]:
    """The arrival rate (per second, for an entry lane) and mechanics of a `sim://` URL."""
    query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    try:
        rate = float(query.get("rate", "0"))
    except ValueError:
        raise GateURLError(f"{url}: rate must be a number") from None
    if rate < 0:
        raise GateURLError(f"{url}: rate must not be negative")
    return rate, FAST_TIMING if query.get("timing") == "fast" else SimTiming()


# The wires `sim://?wire=...` can run a simulated lane controller on (drivers.gate.simulators).
SIMULATED_WIRES = ("serial", "tcp", "modbus", "modbus-noplates")


def check_gate_url(url: str) -> None:
    """Parse `url` as `open_gate` would, without opening anything. Raises GateURLError."""
    parts = urlsplit(url)
    if parts.scheme == "sim":
        sim_options(url)
        wire = parse_qs(parts.query).get("wire", [""])[0]
        if wire and wire not in SIMULATED_WIRES:
            raise GateURLError(f"{url}: unknown simulated wire {wire!r} ({', '.join(SIMULATED_WIRES)})")
    elif parts.scheme in MODBUS_SCHEMES:
        parse_modbus_url(url)
    else:
        parse_serial_lane_url(url)


def open_gate(url: str, *, name: str, role: LaneRole, traffic: Traffic | None = None) -> GateDriver:
    """Build (not start) the driver for `url`. Raises GateURLError for a bad URL.

    * `sim://?rate=0.2&timing=fast`: the in-process simulator; `rate` is arrivals per
      second for an entry lane.
    * `/dev/ttyUSB0?baud=9600`, `serial:///dev/...`, `socket://host:port`,
      `rfc2217://host:port`: a lane controller speaking the lane protocol
      (`docs/gate-protocol.md`), through `serial.serial_for_url`.
    * `modbus-rtu:///dev/ttyUSB1?unit=1&open_coil=0&loop_input=0...`,
      `modbus-rtu+socket://host:port?...`: a Modbus RTU relay board.

    `role` and `traffic` matter to the simulator only: a real controller is what it is.
    """
    parts = urlsplit(url)
    if parts.scheme == "sim":
        rate, timing = sim_options(url)
        return InProcessGate(name, role, traffic or Traffic(), arrival_rate=rate, timing=timing)
    if parts.scheme in MODBUS_SCHEMES:
        from drivers.gate.modbus_driver import (
            ModbusRelayGate,  # pymodbus only when used
        )

        return ModbusRelayGate(name, parse_modbus_url(url))
    from drivers.gate.serial_driver import SerialGate

    return SerialGate(name, parse_serial_lane_url(url))
