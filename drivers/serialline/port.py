"""Opening a serial port from its settings, the same way for every device."""

from __future__ import annotations

import os

import serial
import serial.rs485

from drivers.serialline.url import LineSettings


def open_port(settings: LineSettings, read_timeout: float | None, write_timeout: float | None = 1.0) -> tuple[serial.Serial, str]:
    """Open the port; return it and a note for the health detail ("" when all is as asked).

    A local port is opened exclusively: a second booth process on the same port would
    steal half the frames (or interleave two receipts). Raises `serial.SerialException`,
    `OSError` or `ValueError` when the port cannot be opened. RS-485 mode is switched on
    after opening: a port that cannot do it stays usable as a plain serial port and the
    note says so.
    """
    port = serial.serial_for_url(settings.url, do_not_open=True)
    port.baudrate = settings.baudrate
    port.bytesize = settings.bytesize
    port.parity = settings.parity
    port.stopbits = settings.stopbits
    port.rtscts = settings.flow == "rtscts"
    port.dsrdtr = settings.flow == "dsrdtr"
    port.xonxoff = settings.flow == "xonxoff"
    port.timeout = read_timeout
    port.write_timeout = write_timeout
    if settings.is_local and os.name == "posix":  # Windows opens COM ports exclusively anyway
        port.exclusive = True
    port.open()
    return port, enable_rs485(port, settings)


def enable_rs485(port: serial.SerialBase | None, settings: LineSettings) -> str:
    """Switch an open port to RS-485 mode if the settings ask for it; the note for the
    health detail ("" when nothing needs saying)."""
    if not settings.rs485:
        return ""
    if not settings.is_local:
        return "rs485 option ignored: the converter handles the line"
    if port is None:
        return "RS-485 mode not available on this port; used as plain serial"
    try:
        port.rs485_mode = serial.rs485.RS485Settings()
    except (ValueError, OSError) as exc:
        # Most USB adapters switch direction in hardware, and a pty cannot at all.
        return f"RS-485 mode not available on this port ({exc}); used as plain serial"
    return ""


def close_quietly(port: serial.SerialBase | None) -> None:
    """Close a port that may already be dead."""
    if port is None:
        return
    try:
        port.close()
    except Exception:  # noqa: BLE001 - closing a vanished device can fail in many ways
        pass
