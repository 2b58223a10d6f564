"""Printer URLs: which transport, and the options of the printer behind it.

    tcp://192.168.1.50:9100                 network printer (port defaults to 9100)
    serial:///dev/ttyUSB0?baud=19200        serial port (serial://COM3 on Windows)
    usb://04b8:0202                         USB vendor:product (needs pyusb)
    file:///var/lib/booth/receipts.bin      append every job to a file
    dummy://                                an in-memory simulated printer

Options, as query parameters (they override the same keyword arguments of `open_printer`):

    profile=TM-T88V     python-escpos printer profile (code pages, paper width, QR support)
    width=42            characters per line in the normal font
    cjk=gb18030         Chinese text: gb18030 (printer's Chinese mode), image (drawn with a
                        font), none ("?")
    font=/path/font.ttf font for text drawn as an image
    timeout=5           seconds for connecting, and the longest the printer may go without
                        taking any data while a job is sent
    status_timeout=2    seconds to wait for a DLE EOT status reply
    status=dle-eot      ask the printer's status around each job; "none" for printers that
                        do not answer (file:// never asks)
    serial only: the line options of every serial device (drivers.serialline.url):
                 baud=9600 bytesize=8 parity=N stopbits=1 flow=none|rtscts|dsrdtr|xonxoff rs485=0
    usb only:    in_ep=0x82 out_ep=0x01
    dummy only:  state=ok|paper_near_end|paper_out|cover_open|cutter_jam|offline|stalled
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from drivers.printer.errors import PrinterConfigError
from drivers.printer.layout import CJK_MODES
from drivers.serialline import LINE_OPTIONS, LineURL

COMMON_KEYS = frozenset({"profile", "width", "cjk", "font", "timeout", "status_timeout", "status"})
SCHEME_KEYS: dict[str, frozenset[str]] = {
    "tcp": frozenset(),
    "serial": LINE_OPTIONS,
    "usb": frozenset({"in_ep", "out_ep"}),
    "file": frozenset(),
    "dummy": frozenset({"state"}),
}
STATUS_MODES = ("dle-eot", "none")


@dataclass(frozen=True, slots=True)
class PrinterURL:
    """A parsed printer URL."""

    scheme: str
    target: str  # host, device path, vendor:product or file path
    port: int | None = None
    options: dict[str, str] = field(default_factory=dict)


def _number(url: str, key: str, value: str, kind: type, low: float, high: float) -> Any:
    try:
        number = kind(value, 0) if kind is int and value.lower().startswith("0x") else kind(value)
    except ValueError:
        raise PrinterConfigError(f"{url}: {key} must be a number, not {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number) or not low <= number <= high:
        raise PrinterConfigError(f"{url}: {key} must be from {low:g} to {high:g}, not {value}")
    return number


def _serial_line(url: str) -> LineURL:
    return LineURL(url, kind="printer", error=PrinterConfigError)


def parse_printer_url(url: str) -> PrinterURL:
    """Split and check a printer URL; anything wrong raises PrinterConfigError."""
    if not isinstance(url, str) or not url.strip():
        raise PrinterConfigError("no printer URL configured (e.g. tcp://192.168.1.50:9100 or file:///tmp/receipts.bin)")
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEME_KEYS:
        raise PrinterConfigError(f"{url}: unsupported printer URL scheme {parts.scheme!r}; use one of "
                                 f"{', '.join(s + '://' for s in SCHEME_KEYS)}")
    options: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        options[key] = value
    allowed = COMMON_KEYS | SCHEME_KEYS[scheme]
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise PrinterConfigError(f"{url}: unknown option(s) {', '.join(unknown)}; {scheme}:// takes "
                                 f"{', '.join(sorted(allowed))}")
    port: int | None = None
    if scheme == "tcp":
        try:
            target, port = parts.hostname or "", parts.port or 9100
        except ValueError:
            raise PrinterConfigError(f"{url}: the port must be a number from 1 to 65535") from None
        if not target:
            raise PrinterConfigError(f"{url}: no host name (tcp://HOST:9100)")
    elif scheme == "usb":
        target = parts.netloc or parts.path.lstrip("/")
    elif scheme == "dummy":
        target = ""
    elif scheme == "serial":  # the serial line grammar; serial://COM3 keeps the name in the netloc
        target = _serial_line(url).target
    else:  # file names a path
        target = unquote(parts.netloc + parts.path) if parts.netloc not in ("localhost",) else unquote(parts.path)
        if not target:
            raise PrinterConfigError(f"{url}: no file path (e.g. file:///tmp/receipts.bin)")
    return PrinterURL(scheme, target, port, options)


@dataclass(slots=True)
class PrinterSettings:
    """Everything `open_printer` needs, after merging URL options over arguments."""

    url: PrinterURL
    profile: str | None = None
    width: int | None = None
    cjk: str = "gb18030"
    font: str | None = None
    timeout: float = 5.0
    status_timeout: float = 2.0
    query_status: bool = True
    transport_args: dict[str, Any] = field(default_factory=dict)


def settings_from(raw_url: str, *, profile: str | None, width: int | None, cjk: str | None, font: str | None,
                  timeout: float | None, status_timeout: float | None) -> PrinterSettings:
    """Merge URL options over keyword arguments and check every value."""
    url = parse_printer_url(raw_url)
    opts = url.options
    settings = PrinterSettings(url=url)
    settings.profile = opts.get("profile") or profile or None
    if "width" in opts:
        settings.width = _number(raw_url, "width", opts["width"], int, 16, 96)
    elif width is not None:
        if isinstance(width, bool) or not isinstance(width, int) or not 16 <= width <= 96:
            raise PrinterConfigError(f"width must be 16-96 characters, not {width!r}")
        settings.width = width
    settings.cjk = opts.get("cjk") or cjk or "gb18030"
    if settings.cjk not in CJK_MODES:
        raise PrinterConfigError(f"{raw_url}: cjk must be one of {', '.join(CJK_MODES)}, not {settings.cjk!r}")
    settings.font = opts.get("font") or font or None
    if settings.font is not None:
        from drivers.printer.fonts import _cmap

        if not os.path.isfile(settings.font):
            raise PrinterConfigError(f"font file {settings.font} does not exist")
        if not _cmap(settings.font):
            raise PrinterConfigError(f"{settings.font} is not a TrueType/OpenType font that can be read")
    settings.timeout = (_number(raw_url, "timeout", opts["timeout"], float, 0.05, 300) if "timeout" in opts
                        else float(timeout) if timeout is not None else 5.0)
    settings.status_timeout = (_number(raw_url, "status_timeout", opts["status_timeout"], float, 0.05, 60)
                               if "status_timeout" in opts
                               else float(status_timeout) if status_timeout is not None else 2.0)
    status = opts.get("status", "dle-eot")
    if status not in STATUS_MODES:
        raise PrinterConfigError(f"{raw_url}: status must be one of {', '.join(STATUS_MODES)}, not {status!r}")
    settings.query_status = status == "dle-eot"

    args: dict[str, Any] = {}
    if url.scheme == "serial":
        line = _serial_line(raw_url)
        for key in COMMON_KEYS:
            line.options.take(key)
        args["line"] = line.settings()
    elif url.scheme == "usb":
        ids = url.target.split(":")
        try:
            vendor, product = (int(x, 16) for x in ids)
        except ValueError:
            raise PrinterConfigError(f"{raw_url}: use usb://VENDOR:PRODUCT in hex, e.g. usb://04b8:0202") from None
        if not (0 <= vendor <= 0xFFFF and 0 <= product <= 0xFFFF):
            raise PrinterConfigError(f"{raw_url}: USB ids are 4 hex digits")
        args.update(vendor=vendor, product=product,
                    in_ep=_number(raw_url, "in_ep", opts.get("in_ep", "0x82"), int, 0, 255),
                    out_ep=_number(raw_url, "out_ep", opts.get("out_ep", "0x01"), int, 0, 255))
    elif url.scheme == "dummy":
        from drivers.printer.simulator import PrinterState

        state = opts.get("state", "ok")
        if state not in {s.value for s in PrinterState}:
            raise PrinterConfigError(f"{raw_url}: state must be one of {', '.join(s.value for s in PrinterState)}")
        args["state"] = PrinterState(state)
    settings.transport_args = args
    return settings
