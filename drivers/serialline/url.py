"""The one URL grammar for serial lines, whatever device is on the line.

A serial line URL names the port and carries the line settings in its query; the device
driver takes its own options out of the same query first::

    /dev/ttyUSB0?baud=9600                           a local port (any device path; COM3)
    serial:///dev/serial/by-id/usb-FTDI-if00?rs485=1 the same with a scheme (serial://COM3)
    socket://10.0.0.7:4001                           raw TCP to a serial-over-IP converter
    rfc2217://10.0.0.7:4002?baud=19200               a converter with RFC 2217 port control
    loop://  spy:///dev/ttyUSB0?file=trace.txt  alt://  hwgrep://  cp2110://   (pyserial's own)

Line options, the same for every device:

    baud=9600 bytesize=8 parity=N stopbits=1        parity N, E, O, M, S (or none, even...)
    flow=none|rtscts|dsrdtr|xonxoff                  flow control
    rs485=0|1                                        kernel RS-485 direction control (local
                                                     ports; a bare `rs485` means 1)

What neither the device nor the line takes is an error on a local port (a typo is caught at
start-up), and on a pyserial URL goes to pyserial unchanged (e.g. `logging=debug`).
Whole numbers may be written in hex (`0x2580`); stop bits as `1.0`. An empty `rs485=` is
off (see docs/drivers.md for how the older per-device grammars map onto this one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus, urlencode, urlsplit

import serial

ErrorFactory = Callable[[str], Exception]


class SerialURLError(ValueError):
    """A serial line URL this build cannot open."""


# pyserial URL schemes handed to serial_for_url as they are.
PYSERIAL_SCHEMES = ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep", "cp2110")
_PATH_SCHEMES = ("", "serial", "file")
_PARITIES = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
    "NONE": serial.PARITY_NONE,
    "EVEN": serial.PARITY_EVEN,
    "ODD": serial.PARITY_ODD,
    "MARK": serial.PARITY_MARK,
    "SPACE": serial.PARITY_SPACE,
}
FLOW_CONTROLS = ("none", "rtscts", "dsrdtr", "xonxoff")
LINE_OPTIONS = frozenset({"baud", "bytesize", "parity", "stopbits", "flow", "rs485"})
MAX_BAUD = 12_000_000  # the fastest USB serial adapters
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Where the bytes go and how the UART is set."""

    url: str  # for serial.serial_for_url: a device path or a pyserial URL
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = serial.PARITY_NONE
    stopbits: float = 1
    rs485: bool = False  # kernel RS-485 direction control (local ports only)
    flow: str = "none"

    @property
    def is_local(self) -> bool:
        """True for a device path (as opposed to a pyserial URL such as socket://)."""
        return "://" not in self.url

    @property
    def port_url(self) -> str:
        """`url` under the name the elevator driver has always used."""
        return self.url


class UrlOptions:
    """The query options of one URL, taken one by one; each getter checks its value and
    raises `error` with the URL and the option named."""

    def __init__(self, url: str, query: str, error: ErrorFactory = SerialURLError) -> None:
        self.url = url
        self.error = error
        self.items: dict[str, str] = {}
        self.bare: set[str] = set()  # options written without "=" (flags)
        for field in query.split("&"):
            if not field:
                continue
            key, eq, value = field.partition("=")
            key = unquote_plus(key)
            self.items[key] = unquote_plus(value)  # the last of repeated options wins
            if eq:
                self.bare.discard(key)
            else:
                self.bare.add(key)

    def fail(self, problem: str) -> Exception:
        """The error to raise for `problem` with this URL."""
        return self.error(f"{self.url}: {problem}")

    def take(self, key: str) -> str | None:
        """The raw value of `key` (removed from the options), or None."""
        return self.items.pop(key, None)

    def number(self, key: str, default: float, *, minimum: float = 0.0, exclusive: bool = True) -> float:
        """A finite number above (or, not `exclusive`, at least) `minimum`."""
        raw = self.take(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(f"{key} must be a number, not {raw!r}") from None
        if not math.isfinite(value):
            raise self.fail(f"{key} must be a finite number")
        if value < minimum or (exclusive and value == minimum):
            bound = "greater than" if exclusive else "at least"
            raise self.fail(f"{key} must be {bound} {minimum:g}")
        return value

    def integer(self, key: str, default: int, *, low: int, high: int, hint: str = "") -> int:
        """A whole number within low..high (decimal, or hex written 0x...)."""
        raw = self.take(key)
        if raw is None:
            return default
        return self._int(key, raw, low, high, hint)

    def optional_int(self, key: str, default: int | None, *, low: int, high: int) -> int | None:
        """As `integer`, where "", "none" or "-" mean "not set"."""
        raw = self.take(key)
        if raw is None:
            return default
        if raw.lower() in ("", "none", "-"):
            return None
        return self._int(key, raw, low, high, "")

    def _int(self, key: str, raw: str, low: int, high: int, hint: str) -> int:
        text = raw.strip()
        try:
            value = int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            raise self.fail(f"{key} must be a whole number, not {raw!r}{f' ({hint})' if hint else ''}") from None
        if not low <= value <= high:
            raise self.fail(f"{key} must be within {low}..{high}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """1/true/yes/on or a bare `key` is on; 0/false/no/off or an empty value is off."""
        raw = self.take(key)
        if raw is None:
            return default
        if key in self.bare or raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise self.fail(f"{key} must be 1 or 0, not {raw!r}")

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        """One of `choices` (compared in lower case)."""
        raw = self.take(key)
        if raw is None:
            return default
        value = raw.lower()
        if value not in choices:
            raise self.fail(f"{key} must be one of {', '.join(choices)}, not {raw!r}")
        return value

    def reject_unknown(self) -> None:
        """Refuse whatever option nobody took."""
        if self.items:
            raise self.fail(f"unknown option(s) {', '.join(sorted(self.items))}")

    def rest(self) -> str:
        """Options left over, re-encoded for pyserial (and taken out)."""
        rest = urlencode(list(self.items.items()), safe="/:")
        self.items.clear()
        return rest


class LineURL:
    """A serial line URL being read: the port it names, and its options for the device
    driver to take before `settings()` takes the line's own.

    `kind` names the device in messages ("lane device"); `scheme` overrides the URL's
    scheme (a Modbus URL's transport, `modbus-rtu+socket://` -> "socket").
    """

    def __init__(
        self, url: str, *, kind: str = "serial device", error: ErrorFactory = SerialURLError, scheme: str | None = None
    ) -> None:
        self.url = url
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower() if scheme is None else scheme
        self.options = UrlOptions(url, parts.query, error)
        if scheme in _PATH_SCHEMES:
            # serial://COM3 keeps the name in the host part; serial://localhost/dev/x is a path.
            host = "" if parts.netloc in ("", "localhost") else parts.netloc
            self.target = unquote(host + parts.path)
            if not self.target:
                raise self.options.fail("no serial device path (the URL names no device path; e.g. serial:///dev/ttyUSB0)")
            self.passthrough = False
        elif scheme in PYSERIAL_SCHEMES:
            if scheme in ("socket", "rfc2217") and not parts.netloc:
                raise self.options.fail("needs host:port")
            self.target = f"{scheme}://{parts.netloc}{parts.path}"
            self.passthrough = True
        else:
            raise self.options.fail(f"unsupported {kind} URL scheme {parts.scheme!r}")

    def settings(self, *, baudrate: int = 9600) -> LineSettings:
        """Take the line options (`baudrate` is the default speed) and finish the URL:
        leftovers go to pyserial, or are refused on a local port."""
        q = self.options
        baud = q.integer("baud", baudrate, low=1, high=MAX_BAUD, hint="baud must be a number of bits per second, e.g. 9600")
        bytesize = q.integer("bytesize", 8, low=5, high=8)
        parity_raw = (q.take("parity") or "N").strip().upper()
        if parity_raw not in _PARITIES:
            raise q.fail("parity must be N, E or O (or M, S: mark, space)")
        stopbits = _stopbits(q, q.take("stopbits"))
        flow = q.choice("flow", "none", FLOW_CONTROLS)
        rs485 = q.flag("rs485", False)
        target = self.target
        if self.passthrough:
            rest = q.rest()
            if rest:
                target = f"{target}?{rest}"
        else:
            q.reject_unknown()
        return LineSettings(target, baud, bytesize, _PARITIES[parity_raw], stopbits, rs485, flow)


def _stopbits(q: UrlOptions, raw: str | None) -> float:
    if raw is None or not raw.strip():
        return 1
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value not in (1, 1.5, 2):
        raise q.fail("stopbits must be 1, 1.5 or 2")
    return 1.5 if value == 1.5 else int(value)


def parse_line_url(url: str, *, kind: str = "serial device", error: ErrorFactory = SerialURLError, baudrate: int = 9600) -> LineSettings:
    """The settings of a URL that carries line options only."""
    return LineURL(url, kind=kind, error=error).settings(baudrate=baudrate)
