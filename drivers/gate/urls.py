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

Options this module knows are taken out of the query; what remains of a socket:// or
rfc2217:// query goes to pyserial unchanged (e.g. `logging=debug`). Unknown options on
a local port are an error, so a typo in the site file is caught at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import serial


class GateURLError(ValueError):
    """A lane device URL this build cannot open."""


# pyserial URL schemes handed to serial_for_url as they are.
_PYSERIAL_SCHEMES = ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep", "cp2110")
_PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class PortSettings:
    """Where the bytes go and how the UART is set."""

    url: str  # for serial.serial_for_url: a device path or a pyserial URL
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = serial.PARITY_NONE
    stopbits: float = 1
    rs485: bool = False  # kernel RS-485 direction control (local ports only)

    @property
    def is_local(self) -> bool:
        return "://" not in self.url


@dataclass(frozen=True, slots=True)
class SerialLaneConfig:
    """A lane controller speaking the framed lane protocol. Times in seconds."""

    port: PortSettings
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

    port: PortSettings
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


class _Query:
    """The query options of one URL, consumed one by one."""

    def __init__(self, url: str, query: str) -> None:
        self.url = url
        self.items: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            self.items[key] = value

    def take(self, key: str) -> str | None:
        return self.items.pop(key, None)

    def number(self, key: str, default: float, *, minimum: float = 0.0, exclusive: bool = True) -> float:
        raw = self.take(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise GateURLError(f"{self.url}: {key} must be a number, not {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise GateURLError(f"{self.url}: {key} must be a finite number")
        if value < minimum or (exclusive and value == minimum):
            bound = "greater than" if exclusive else "at least"
            raise GateURLError(f"{self.url}: {key} must be {bound} {minimum:g}")
        return value

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        raw = self.take(key)
        if raw is None:
            return default
        return self._int(key, raw, low, high)

    def optional_int(self, key: str, default: int | None, *, low: int, high: int) -> int | None:
        raw = self.take(key)
        if raw is None:
            return default
        if raw.lower() in ("", "none", "-"):
            return None
        return self._int(key, raw, low, high)

    def _int(self, key: str, raw: str, low: int, high: int) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise GateURLError(f"{self.url}: {key} must be a whole number, not {raw!r}") from None
        if not low <= value <= high:
            raise GateURLError(f"{self.url}: {key} must be within {low}..{high}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        raw = self.take(key)
        if raw is None:
            return default
        if raw.lower() in _TRUE or raw == "":
            return True
        if raw.lower() in _FALSE:
            return False
        raise GateURLError(f"{self.url}: {key} must be 1 or 0, not {raw!r}")

    def reject_unknown(self) -> None:
        if self.items:
            names = ", ".join(sorted(self.items))
            raise GateURLError(f"{self.url}: unknown option(s) {names}")

    def rest(self) -> str:
        """Options left over, re-encoded for pyserial."""
        return urlencode(list(self.items.items()), safe="/:")


def _port(url: str, target: str, query: _Query, *, passthrough: bool) -> PortSettings:
    baud = query.integer("baud", 9600, low=50, high=4_000_000)
    bytesize = query.integer("bytesize", 8, low=5, high=8)
    parity_raw = (query.take("parity") or "N").upper()
    if parity_raw not in _PARITIES:
        raise GateURLError(f"{url}: parity must be N, E or O")
    stop_raw = query.take("stopbits") or "1"
    if stop_raw not in ("1", "1.5", "2"):
        raise GateURLError(f"{url}: stopbits must be 1, 1.5 or 2")
    rs485 = query.flag("rs485", False)
    if passthrough:
        rest = query.rest()
        query.items.clear()
        if rest:
            target = f"{target}?{rest}"
    return PortSettings(
        url=target,
        baudrate=baud,
        bytesize=bytesize,
        parity=_PARITIES[parity_raw],
        stopbits=float(stop_raw) if stop_raw == "1.5" else int(stop_raw),
        rs485=rs485,
    )


def _split_target(url: str, scheme: str, netloc: str, path: str) -> tuple[str, bool]:
    """(what serial_for_url opens, whether leftover options belong to pyserial)."""
    if scheme in ("", "serial", "file"):
        device = (netloc + path) if scheme else path
        if not device:
            raise GateURLError(f"{url}: no serial device path")
        return device, False
    if scheme in _PYSERIAL_SCHEMES:
        if scheme in ("socket", "rfc2217") and not netloc:
            raise GateURLError(f"{url}: needs host:port")
        return f"{scheme}://{netloc}{path}", True
    raise GateURLError(f"{url}: unsupported lane device URL scheme {scheme!r}")


def parse_serial_lane_url(url: str) -> SerialLaneConfig:
    """Settings for a lane controller speaking the framed lane protocol."""
    parts = urlsplit(url.strip())
    target, passthrough = _split_target(url, parts.scheme, parts.netloc, parts.path)
    q = _Query(url, parts.query)
    cfg = SerialLaneConfig(
        port=PortSettings(target),  # replaced below, once the lane options are taken
        ack_timeout=q.number("ack_timeout", 0.25),
        retries=q.integer("retries", 3, low=0, high=10),
        heartbeat=q.number("heartbeat", 1.0),
        heartbeat_timeout=q.number("heartbeat_timeout", 3.0),
        barrier_timeout=q.number("barrier_timeout", 6.0),
        inter_byte_timeout=q.number("inter_byte_timeout", 0.5),
        reconnect_max=q.number("reconnect_max", 1.0),
    )
    port = _port(url, target, q, passthrough=passthrough)
    q.reject_unknown()
    if cfg.heartbeat_timeout <= cfg.heartbeat:
        raise GateURLError(f"{url}: heartbeat_timeout must be longer than heartbeat")
    return replace(cfg, port=port)


MODBUS_SCHEMES = ("modbus-rtu", "modbus-rtu+serial", "modbus-rtu+socket", "modbus-rtu+rfc2217")


def parse_modbus_url(url: str) -> ModbusLaneConfig:
    """Settings for a Modbus RTU relay board lane."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme
    if scheme not in MODBUS_SCHEMES:
        raise GateURLError(f"{url}: not a Modbus RTU URL (use {', '.join(MODBUS_SCHEMES)})")
    transport = scheme.partition("+")[2] or "serial"
    target, passthrough = _split_target(url, transport, parts.netloc, parts.path)
    q = _Query(url, parts.query)
    lo, hi = 0, 65535
    cfg = ModbusLaneConfig(
        port=PortSettings(target),  # replaced below, once the Modbus options are taken
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
    port = _port(url, target, q, passthrough=passthrough)
    q.reject_unknown()
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
