"""Is a device there? Open its line, close it again, within a timeout; nothing is sent.

For `booth doctor`: each function returns "" when the device answered the open, or a short
reason for people. A port the running console holds open reports "in use".
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import serial

_NETWORK_SCHEMES = {"socket": None, "rfc2217": None, "tcp": 9100, "rtsp": 554}


def within(timeout: float, probe: Callable[[], str]) -> str:
    """Run `probe` on a thread; a probe that does not return in time counts as no answer."""
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(probe()), daemon=True, name="probe")
    worker.start()
    worker.join(timeout)
    if not result:
        return f"no answer within {timeout:g} s"
    return result[0]


def probe_tcp(host: str, port: int, timeout: float) -> str:
    """Open and close a TCP connection."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except socket.timeout:
        return f"{host}:{port} does not answer (timeout {timeout:g} s)"
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


def probe_serial(device: str, timeout: float) -> str:
    """Open and close a local serial port, exclusively (as the drivers do)."""
    if not Path(device).exists():
        return f"{device} does not exist (unplugged? check /dev/serial/by-id/)"
    port = serial.Serial()
    port.port = device
    port.timeout = timeout
    port.exclusive = True
    try:
        port.open()
    except (serial.SerialException, OSError) as exc:
        text = str(exc)
        if "Resource temporarily unavailable" in text or getattr(exc, "errno", None) in (errno.EAGAIN, errno.EBUSY):
            return f"{device} is in use by another program (the console, if it is running)"
        if "Permission denied" in text or getattr(exc, "errno", None) == errno.EACCES:
            return f"{device}: permission denied (add the booth's user to the dialout group)"
        return f"{device}: {text}"
    try:
        port.close()
    except (serial.SerialException, OSError):
        pass
    return ""


def probe_url(url: str, timeout: float) -> str:
    """Probe a device URL: a serial device path (query options ignored), `socket://`,
    `rfc2217://`, `tcp://host:port`, `rtsp://host[:port]/...`, `serial:///dev/...`,
    `usb://N` (a V4L2 camera), `file:///path` (must be readable)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme
    if scheme in _NETWORK_SCHEMES:
        host = parts.hostname or ""
        port = parts.port or _NETWORK_SCHEMES[scheme]
        if not host or port is None:
            return f"{url}: needs host:port"
        return probe_tcp(host, port, timeout)
    if scheme in ("", "serial"):
        target = parts.path if scheme else url.split("?", 1)[0]
        return probe_serial(target, timeout)
    if scheme == "usb" and parts.netloc.isdigit():
        device = f"/dev/video{parts.netloc}"
        if not os.path.exists(device):
            return f"{device} does not exist (camera unplugged?)"
        return "" if os.access(device, os.R_OK) else f"{device}: permission denied (add the booth's user to the video group)"
    if scheme == "file":
        path = Path(parts.netloc + parts.path)
        return "" if os.access(path, os.R_OK) else f"{path} cannot be read"
    return f"{url}: cannot be checked from here"
