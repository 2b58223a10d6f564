"""Lane device URLs from the site file, parsed into checked settings.

Serial lane controllers (the framed lane protocol)::

    /dev/ttyUSB0?baud=9600
    serial:///dev/serial/by-id/usb-FTDI_lane1-if00?baud=19200&rs485=1
    socket://10.0.0.7:4001?heartbeat_timeout=5      (serial-over-IP converter, raw TCP)
    rfc2217://10.0.0.7:4002?baud=9600               (converter with RFC 2217 port control)

Modbus RTU relay boards::

    modbus-rtu:///dev/ttyUSB1?baud=9600&unit=1&open_coil=0&loop_input=0&open_limit=1&closed_limit=2
    modbus-rtu+socket://10.0.0.8:4001?unit=3&open_coil=2&loop_input=4
    modbus-rtu+rfc2217://10.0.0.8:4002?...

The lane options below are taken out of the query first; the port and its line options
follow the one serial line grammar of `drivers.serialline.url`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit

from drivers.serialline import LineSettings, LineURL, SerialURLError

KIND = "lane device"


class GateURLError(SerialURLError):
    """A lane device URL this build cannot open."""


@dataclass(frozen=True, slots=True)
class SerialLaneConfig:
    """A lane controller speaking the framed lane protocol. Times in seconds."""

    port: LineSettings
    ack_timeout: float = 0.25
    retries: int = 3
    heartbeat: float = 1.0  # send a HEARTBEAT when idle this long
    heartbeat_timeout: float = 3.0  # nothing heard this long: link lost
    barrier_timeout: float = 6.0  # OPEN/CLOSE not confirmed by a limit switch: BARRIER_FAULT
    inter_byte_timeout: float = 0.5  # a partial frame this old is discarded
    reconnect_max: float = 1.0  # longest wait between attempts to reopen the port


@dataclass(frozen=True, slots=True)
class ModbusLaneConfig:
    """A Modbus RTU relay board wired to the barrier controller and the loop detector.

    Coil and input numbers are zero-based protocol addresses (relay 1 = coil 0 on most
    boards). `None` means "not wired".
    """

    port: LineSettings
    unit: int = 1
    open_coil: int = 0
    close_coil: int | None = None
    loop_input: int = 0
    open_limit: int | None = None
    closed_limit: int | None = None
    fault_input: int | None = None
    pulse: float = 0.5  # how long the open/close contact is held
    poll: float = 0.05  # discrete input polling period
    timeout: float = 0.3  # per Modbus request
    retries: int = 1  # per Modbus request, by pymodbus
    offline_after: int = 3  # consecutive failed requests before the link counts as lost
    barrier_timeout: float = 6.0
    reconnect_max: float = 1.0
    plates: str | None = None  # URL of a plate reader line speaking the lane protocol


def parse_serial_lane_url(url: str) -> SerialLaneConfig:
    """Settings for a lane controller speaking the framed lane protocol."""
    line = LineURL(url, kind=KIND, error=GateURLError)
    q = line.options
    cfg = SerialLaneConfig(
        port=LineSettings(line.target),  # replaced below, once the lane options are taken
        ack_timeout=q.number("ack_timeout", 0.25),
        retries=q.integer("retries", 3, low=0, high=10),
        heartbeat=q.number("heartbeat", 1.0),
        heartbeat_timeout=q.number("heartbeat_timeout", 3.0),
        barrier_timeout=q.number("barrier_timeout", 6.0),
        inter_byte_timeout=q.number("inter_byte_timeout", 0.5),
        reconnect_max=q.number("reconnect_max", 1.0),
    )
    port = line.settings()
    if cfg.heartbeat_timeout <= cfg.heartbeat:
        raise GateURLError(f"{url}: heartbeat_timeout must be longer than heartbeat")
    return replace(cfg, port=port)


MODBUS_SCHEMES = ("modbus-rtu", "modbus-rtu+serial", "modbus-rtu+socket", "modbus-rtu+rfc2217")


def parse_modbus_url(url: str) -> ModbusLaneConfig:
    """Settings for a Modbus RTU relay board lane."""
    scheme = urlsplit(url.strip()).scheme
    if scheme not in MODBUS_SCHEMES:
        raise GateURLError(f"{url}: not a Modbus RTU URL (use {', '.join(MODBUS_SCHEMES)})")
    line = LineURL(url, kind=KIND, error=GateURLError, scheme=scheme.partition("+")[2] or "serial")
    q = line.options
    lo, hi = 0, 65535
    cfg = ModbusLaneConfig(
        port=LineSettings(line.target),  # replaced below, once the Modbus options are taken
        unit=q.integer("unit", 1, low=1, high=247),
        open_coil=q.integer("open_coil", 0, low=lo, high=hi),
        close_coil=q.optional_int("close_coil", None, low=lo, high=hi),
        loop_input=q.integer("loop_input", 0, low=lo, high=hi),
        open_limit=q.optional_int("open_limit", None, low=lo, high=hi),
        closed_limit=q.optional_int("closed_limit", None, low=lo, high=hi),
        fault_input=q.optional_int("fault_input", None, low=lo, high=hi),
        pulse=q.number("pulse", 0.5),
        poll=q.number("poll", 0.05),
        timeout=q.number("timeout", 0.3),
        retries=q.integer("retries", 1, low=0, high=10),
        offline_after=q.integer("offline_after", 3, low=1, high=100),
        barrier_timeout=q.number("barrier_timeout", 6.0),
        reconnect_max=q.number("reconnect_max", 1.0),
        plates=q.take("plates") or None,
    )
    port = line.settings()
    if cfg.open_coil == cfg.close_coil:
        raise GateURLError(f"{url}: open_coil and close_coil must differ")
    inputs = [i for i in (cfg.loop_input, cfg.open_limit, cfg.closed_limit, cfg.fault_input) if i is not None]
    if len(set(inputs)) != len(inputs):
        raise GateURLError(f"{url}: loop_input, open_limit, closed_limit and fault_input must differ")
    if max(inputs) - min(inputs) > 1999:
        raise GateURLError(f"{url}: inputs must lie within 2000 addresses (one Modbus read)")
    if cfg.plates is not None:
        parse_serial_lane_url(cfg.plates)  # fail now, not at run time
    return replace(cfg, port=port)


def plates_option(url: str) -> str:
    """Percent-encode a plate reader URL for the `plates=` option of a Modbus URL."""
    return quote(url, safe="")
