"""Opening a lane's serial line from its settings, the same way for every driver."""

from __future__ import annotations

import serial
import serial.rs485

from drivers.gate.urls import PortSettings


def open_port(settings: PortSettings, read_timeout: float, write_timeout: float = 1.0) -> tuple[serial.SerialBase, str]:
    """Open the port; return it and a note for the health detail ("" when all is as asked).

    Raises `serial.SerialException`, `OSError` or `ValueError` when the port cannot be
    opened. RS-485 mode is switched on after opening: ports that cannot do it (a pty, most
    USB adapters with automatic direction control, a network converter) stay usable as
    plain serial ports and the note says so.
    """
    port = serial.serial_for_url(settings.url, do_not_open=True)
    port.baudrate = settings.baudrate
    port.bytesize = settings.bytesize
    port.parity = settings.parity
    port.stopbits = settings.stopbits
    port.timeout = read_timeout
    port.write_timeout = write_timeout
    if settings.is_local:
        # A second booth process on the same port would steal half the frames.
        port.exclusive = True
    port.open()
    note = ""
    if settings.rs485:
        if not settings.is_local:
            note = "rs485 option ignored: the converter handles the line"
        else:
            try:
                port.rs485_mode = serial.rs485.RS485Settings()
            except (ValueError, OSError) as exc:
                note = f"RS-485 mode not available on this port ({exc}); used as plain serial"
    return port, note


def close_quietly(port: serial.SerialBase | None) -> None:
    """Close a port that may already be dead."""
    if port is None:
        return
    try:
        port.close()
    except Exception:  # noqa: BLE001 - closing a vanished device can fail in many ways
        pass
