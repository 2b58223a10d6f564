"""The wires to a printer: TCP port 9100, a serial port, USB, a file, or an in-memory printer.

A `Transport` knows where the printer is; `open()` makes a `Link` for one job or one status
check, and the link is closed right after. A fresh connection per job is deliberate: many
network printers serve one client at a time (a held connection would lock out every other
booth and tool), and reconnecting is how a driver notices a printer that was switched off
and on again. Every blocking call has a timeout, so no call waits forever.
"""

from __future__ import annotations

import os
import socket
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.printer import _escpos
from drivers.printer.errors import PrinterConfigError, PrinterOffline, PrinterTimeout
from drivers.serialline import LineSettings, open_port

if TYPE_CHECKING:
    from drivers.printer.simulator import PrinterModel


#: Bytes per write call; a write that makes no progress for `timeout` seconds fails.
CHUNK = 4096


class Link(ABC):
    """An open connection to the printer."""

    can_read = True

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send all of `data` or raise PrinterTimeout / PrinterOffline."""

    def read_byte(self, timeout: float) -> int | None:
        """One byte from the printer, or None if nothing came within `timeout` seconds."""
        return None

    def discard_input(self) -> None:
        """Drop bytes the printer sent earlier (so a status reply is not confused with them)."""

    def wait_sent(self, timeout: float) -> None:
        """Wait (up to `timeout`) until written bytes have left this computer."""

    @abstractmethod
    def close(self) -> None:
        """Close; never raises."""


class Transport(ABC):
    """Where a printer is and how to open a link to it."""

    #: whether the printer can answer DLE EOT status requests over this transport
    can_read = True

    @abstractmethod
    def open(self, timeout: float) -> Link:
        """Connect within `timeout` seconds or raise PrinterOffline / PrinterTimeout."""

    @abstractmethod
    def describe(self) -> str:
        """Where the printer is, for health details and errors."""

    def check(self) -> str | None:
        """For transports that cannot read status: None if usable, else the problem."""
        return None


# -- TCP ---------------------------------------------------------------------------------------


class TcpTransport(Transport):
    """A network printer (raw TCP, usually port 9100)."""

    def __init__(self, host: str, port: int = 9100) -> None:
        self.host = host
        self.port = port

    def describe(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self, timeout: float) -> Link:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except ConnectionRefusedError:
            raise PrinterOffline(f"{self.describe()} refused the connection (printer off or port wrong)") from None
        except socket.timeout:
            raise PrinterTimeout(f"no answer from {self.describe()} within {timeout:g} s") from None
        except OSError as exc:
            raise PrinterOffline(f"cannot reach {self.describe()}: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _TcpLink(sock, self.describe(), timeout)


class _TcpLink(Link):
    def __init__(self, sock: socket.socket, where: str, timeout: float) -> None:
        self._sock = sock
        self._where = where
        self._timeout = timeout
        self._pending = bytearray()
        self._sent_job = False

    def write(self, data: bytes) -> None:
        if not data.startswith(b"\x10\x04") or len(data) > 4:
            self._sent_job = True
        self._sock.settimeout(self._timeout)
        try:
            # In chunks: the timeout limits how long the printer may go without taking data,
            # not how long a big job takes to print through a small printer buffer.
            for start in range(0, len(data), CHUNK):
                self._sock.sendall(data[start:start + CHUNK])
        except socket.timeout:
            raise PrinterTimeout(f"{self._where} stopped taking data (write timed out after {self._timeout:g} s)") from None
        except OSError as exc:
            raise PrinterOffline(f"connection to {self._where} lost: {exc.strerror or exc}") from None

    def read_byte(self, timeout: float) -> int | None:
        if not self._pending:
            self._sock.settimeout(max(timeout, 0.001))
            try:
                chunk = self._sock.recv(64)
            except socket.timeout:
                return None
            except OSError as exc:
                raise PrinterOffline(f"connection to {self._where} lost: {exc.strerror or exc}") from None
            if not chunk:
                raise PrinterOffline(f"{self._where} closed the connection")
            self._pending += chunk
        value = self._pending[0]
        del self._pending[0]
        return value

    def discard_input(self) -> None:
        self._pending.clear()
        self._sock.setblocking(False)
        try:
            while self._sock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        finally:
            self._sock.settimeout(self._timeout)

    def close(self) -> None:
        # Unread input makes close() send a reset, and some printers drop the job still in
        # their buffer on a reset: read what is left, end our side and, after a job, wait
        # briefly for the printer to end its side.
        try:
            self.discard_input()
            self._sock.shutdown(socket.SHUT_WR)
            if not self._sent_job:
                return
            deadline = time.monotonic() + min(self._timeout, 1.0)
            while (left := deadline - time.monotonic()) > 0:
                self._sock.settimeout(left)
                if not self._sock.recv(4096):
                    break
        except OSError:
            pass
        finally:
            self._sock.close()


# -- serial ------------------------------------------------------------------------------------


class SerialTransport(Transport):
    """A printer on a serial port (or a USB-serial adapter), opened the way every serial
    device is (`drivers.serialline.port`): exclusively, since two programs printing at
    once would interleave receipts."""

    def __init__(self, settings: LineSettings) -> None:
        self.settings = settings

    @property
    def device(self) -> str:
        return self.settings.url

    @property
    def baudrate(self) -> int:
        return self.settings.baudrate

    @property
    def parity(self) -> str:
        return self.settings.parity

    @property
    def flow(self) -> str:
        return self.settings.flow

    def describe(self) -> str:
        return f"{self.device} at {self.baudrate} baud"

    def open(self, timeout: float) -> Link:
        import serial

        try:
            port, _note = open_port(self.settings, read_timeout=timeout, write_timeout=timeout)
        except ValueError as exc:
            raise PrinterConfigError(f"serial settings for {self.device}: {exc}") from None
        except (serial.SerialException, OSError) as exc:
            raise PrinterOffline(f"cannot open {self.device}: {exc}") from None
        return _SerialLink(port, self.describe(), timeout)


class _SerialLink(Link):
    def __init__(self, port: Any, where: str, timeout: float) -> None:
        self._port = port
        self._where = where
        self._timeout = timeout

    def write(self, data: bytes) -> None:
        import serial

        try:
            for start in range(0, len(data), CHUNK):  # the timeout is per chunk, as for TCP
                self._port.write(data[start:start + CHUNK])
        except serial.SerialTimeoutException:
            raise PrinterTimeout(f"{self._where}: printer stopped taking data (write timed out after "
                                 f"{self._timeout:g} s)") from None
        except (serial.SerialException, OSError) as exc:
            raise PrinterOffline(f"{self._where}: {exc}") from None

    def read_byte(self, timeout: float) -> int | None:
        import serial

        try:
            wanted = max(timeout, 0.001)
            if abs((self._port.timeout or 0) - wanted) > 0.05:  # changing it reconfigures the port
                self._port.timeout = wanted
            data = self._port.read(1)
        except (serial.SerialException, OSError) as exc:
            raise PrinterOffline(f"{self._where}: {exc}") from None
        return data[0] if data else None

    def discard_input(self) -> None:
        try:
            self._port.reset_input_buffer()
        except Exception:  # noqa: BLE001 - best effort
            pass

    def wait_sent(self, timeout: float) -> None:
        # Not flush(): tcdrain has no timeout and a printer holding flow control would hang it.
        try:
            on_the_wire = self._port.out_waiting * 10 / max(self._port.baudrate, 1)
        except Exception:  # noqa: BLE001
            on_the_wire = 0.0
        deadline = time.monotonic() + timeout + on_the_wire
        try:
            while self._port.out_waiting and time.monotonic() < deadline:
                time.sleep(0.005)
        except Exception:  # noqa: BLE001 - out_waiting is not available everywhere
            pass

    def close(self) -> None:
        try:
            self._port.close()
        except Exception:  # noqa: BLE001 - closing must not fail a finished job
            pass


# -- file --------------------------------------------------------------------------------------


class FileTransport(Transport):
    """Append jobs to a file (an archive, a demo, or a device node such as /dev/usb/lp0)."""

    can_read = False

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def check(self) -> str | None:
        folder = self.path.parent
        if self.path.exists():
            return None if os.access(self.path, os.W_OK) else f"cannot write {self.path}: permission denied"
        if folder.exists() and not os.access(folder, os.W_OK):
            return f"cannot create {self.path}: permission denied"
        return None

    def open(self, timeout: float) -> Link:
        try:
            if not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "ab")
        except OSError as exc:
            raise PrinterOffline(f"cannot write {self.path}: {exc.strerror or exc}") from None
        return _FileLink(handle, str(self.path))


class _FileLink(Link):
    can_read = False

    def __init__(self, handle: Any, where: str) -> None:
        self._handle = handle
        self._where = where

    def write(self, data: bytes) -> None:
        try:
            self._handle.write(data)
            self._handle.flush()
        except OSError as exc:
            raise PrinterOffline(f"cannot write {self._where}: {exc.strerror or exc}") from None

    def close(self) -> None:
        try:
            self._handle.close()
        except OSError:
            pass


# -- USB ---------------------------------------------------------------------------------------


class UsbTransport(Transport):
    """A USB printer by vendor and product id, through python-escpos and pyusb."""

    def __init__(self, vendor: int, product: int, *, in_ep: int = 0x82, out_ep: int = 0x01) -> None:
        self.vendor = vendor
        self.product = product
        self.in_ep = in_ep
        self.out_ep = out_ep
        usb_module = _escpos.escpos()["printer"]
        if not usb_module.Usb.is_usable():
            raise PrinterConfigError(
                "usb:// printers need pyusb and libusb: pip install 'python-escpos[usb]' "
                "(or use the kernel's printer device with file:///dev/usb/lp0)"
            )

    def describe(self) -> str:
        return f"USB {self.vendor:04x}:{self.product:04x}"

    def open(self, timeout: float) -> Link:
        printer_module = _escpos.escpos()["printer"]
        device = printer_module.Usb(self.vendor, self.product, timeout=int(timeout * 1000),
                                    in_ep=self.in_ep, out_ep=self.out_ep)
        try:
            with _escpos.quiet_root_logging():
                device.open()
        except Exception as exc:  # noqa: BLE001 - escpos wraps pyusb errors in its own types
            raise PrinterOffline(f"{self.describe()} not found or busy: {exc}") from None
        return _UsbLink(device, self.describe(), timeout)


class _UsbLink(Link):
    def __init__(self, device: Any, where: str, timeout: float) -> None:
        self._device = device
        self._where = where
        self._timeout = timeout
        self._pending = bytearray()

    def write(self, data: bytes) -> None:
        try:
            self._device._raw(data)
        except Exception as exc:  # noqa: BLE001 - pyusb raises USBTimeoutError / USBError
            if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
                raise PrinterTimeout(f"{self._where}: write timed out after {self._timeout:g} s") from None
            raise PrinterOffline(f"{self._where}: {exc}") from None

    def read_byte(self, timeout: float) -> int | None:
        if not self._pending:
            try:
                chunk = self._device.device.read(self._device.in_ep, 16, int(max(timeout, 0.001) * 1000))
            except Exception as exc:  # noqa: BLE001
                if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
                    return None
                raise PrinterOffline(f"{self._where}: {exc}") from None
            self._pending += bytes(chunk)
            if not self._pending:
                return None
        value = self._pending[0]
        del self._pending[0]
        return value

    def close(self) -> None:
        try:
            with _escpos.quiet_root_logging():
                self._device.close()
        except Exception:  # noqa: BLE001
            pass


# -- in memory ---------------------------------------------------------------------------------


class MemoryTransport(Transport):
    """A simulated printer inside this process (`dummy://`); `model` holds its state and bytes."""

    def __init__(self, model: PrinterModel | None = None) -> None:
        from drivers.printer.simulator import PrinterModel

        self.model = model or PrinterModel()

    def describe(self) -> str:
        return "in-memory printer"

    @property
    def output(self) -> bytes:
        """Every byte the printer received."""
        return self.model.received

    def open(self, timeout: float) -> Link:
        from drivers.printer.simulator import PrinterState

        if self.model.state is PrinterState.OFFLINE:
            raise PrinterOffline("in-memory printer is switched off")
        return _MemoryLink(self.model, timeout)


class _MemoryLink(Link):
    def __init__(self, model: PrinterModel, timeout: float) -> None:
        self._model = model
        self._session = model.session()
        self._timeout = timeout
        self._replies = bytearray()

    def write(self, data: bytes) -> None:
        from drivers.printer.simulator import PrinterState

        if self._model.state is PrinterState.STALLED:
            raise PrinterTimeout(f"in-memory printer stopped taking data (write timed out after {self._timeout:g} s)")
        self._replies += self._session.receive(data)

    def read_byte(self, timeout: float) -> int | None:
        if not self._replies:
            return None
        value = self._replies[0]
        del self._replies[0]
        return value

    def discard_input(self) -> None:
        self._replies.clear()

    def close(self) -> None:
        pass
