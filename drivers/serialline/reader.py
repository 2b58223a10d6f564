"""A serial port kept open by its own reader thread, for every serial device.

The idea is pyserial's `serial.threaded.ReaderThread`: one thread owns the reading and
hands the bytes to a protocol object. Unlike it, the line outlives the port: when the
device vanishes (a USB adapter unplugged, a converter restarted) it closes the port, tells
the protocol, and reopens the same URL with the one back-off policy of `drivers.reconnect`,
for as long as the driver runs. Like pymodbus's transport layer, one parameter set
(`LineParams`) says where the port is, how it is set and how it reconnects.

Threads: the protocol's methods run on the reader thread only, one at a time; `write`,
`reconnect` and `answered` may be called from any thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import serial

from drivers.health import HealthTracker
from drivers.reconnect import Backoff, keep_connected
from drivers.serialline.port import close_quietly, open_port
from drivers.serialline.url import LineSettings

log = logging.getLogger(__name__)

OPEN_FAILURES = "open_failures"
RS485_UNSUPPORTED = "rs485_unsupported"
WRITE_TIMEOUTS = "write_timeouts"
INTERNAL_ERRORS = "internal_errors"


@dataclass(frozen=True, slots=True)
class LineParams:
    """Everything a serial line needs, in seconds where it is a time."""

    settings: LineSettings
    read_timeout: float = 0.05  # longest a read blocks: how late `tick` may run, how long stop() takes
    write_timeout: float = 1.0  # a write the line does not take within this fails
    reconnect_delay: float = 0.05  # first wait before reopening a lost port
    reconnect_delay_max: float = 1.0  # longest wait between attempts


class LineProtocol(Protocol):
    """What a device does with its line. Called on the line's reader thread only."""

    def open_failed(self, reason: str) -> None:
        """The port could not be opened ("cannot open URL: why"); the line retries."""

    def connection_made(self, note: str) -> None:
        """The port is open (`note` says what was not as asked, e.g. no RS-485 mode)."""

    def data_received(self, data: bytes, now: float) -> None:
        """Bytes from the device, read at monotonic time `now`."""

    def tick(self, now: float) -> None:
        """After every read, with or without data: run the protocol's clocks."""

    def connection_lost(self, reason: str) -> None:
        """The port was closed ("link lost: why", a `reconnect` reason, or "stopped")."""


class SerialLine:
    """The reader thread of one serial device (see the module's docstring)."""

    def __init__(
        self,
        name: str,
        params: LineParams,
        protocol: LineProtocol,
        health: HealthTracker,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.params = params
        self.protocol = protocol
        self.health = health
        self.backoff = Backoff(params.reconnect_delay, params.reconnect_delay_max)
        self.note = ""  # the open port's note (see `LineProtocol.connection_made`)
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._port: serial.Serial | None = None
        self._reopen: str | None = None
        self._answered = False

    @property
    def url(self) -> str:
        return self.params.settings.url

    @property
    def is_open(self) -> bool:
        """Whether the port is open now."""
        return self._port is not None

    # -- any thread ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the reader thread; it opens the port. Idempotent."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self.backoff.reset()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-line", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Close the port and end the thread (within about `read_timeout`). Idempotent."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def write(self, data: bytes) -> bool:
        """Send `data`; False when there is no open port or the write failed (a failed
        port is then reopened; a stuck line just loses these bytes)."""
        with self._write_lock:
            port = self._port
            if port is None:
                return False
            try:
                port.write(data)
                return True
            except serial.SerialTimeoutException:
                # Flow control or a full TCP buffer: the protocols repeat what matters.
                self.health.count(WRITE_TIMEOUTS)
                return False
            except (serial.SerialException, OSError, TypeError, ValueError) as exc:
                self.reconnect(f"link lost: {exc}")
                return False

    @property
    def reconnect_pending(self) -> bool:
        """Whether a `reconnect` was asked for and the port is not yet closed."""
        return self._reopen is not None

    def reconnect(self, reason: str) -> None:
        """Close the port and open it again (a half-open TCP link or a wedged adapter
        only comes back that way); `reason` goes to `connection_lost`."""
        self._reopen = reason

    def answered(self) -> None:
        """The device spoke on this connection: after its loss the back-off starts over."""
        self._answered = True

    # -- reader thread ---------------------------------------------------------------------
    def discard_input(self) -> None:
        """Drop bytes received but not yet read (before a request whose answer must not
        be confused with older bytes)."""
        port = self._port
        if port is not None:
            try:
                port.reset_input_buffer()
            except (serial.SerialException, OSError, TypeError, ValueError):
                pass  # the next read notices a dead port

    def _run(self) -> None:
        keep_connected(
            stopping=self._stopping, connect=self._open, serve=self._serve, backoff=self.backoff, health=self.health
        )

    def _open(self) -> serial.Serial | None:
        p = self.params
        try:
            port, note = open_port(p.settings, p.read_timeout, p.write_timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            self.health.count(OPEN_FAILURES)
            self._call(self.protocol.open_failed, f"cannot open {p.settings.url}: {exc}")
            return None
        if note:
            self.health.count(RS485_UNSUPPORTED)
        if p.settings.is_local:
            # Bytes queued while nobody listened belong to a link that no longer exists
            # (a fresh TCP connection holds only new ones).
            try:
                port.reset_input_buffer()
            except (serial.SerialException, OSError):
                pass
        self.note = note
        return port

    def _serve(self, port: serial.Serial) -> bool:
        """Read until the port fails, a reconnect is asked for, or the line stops."""
        self._answered = False
        self._reopen = None
        with self._write_lock:
            self._port = port
        reason = "stopped"
        failed = False
        protocol = self.protocol
        try:
            protocol.connection_made(self.note)
            while not self._stopping.is_set():
                if self._reopen is not None:
                    reason = self._reopen
                    break
                try:
                    data = port.read(port.in_waiting or 1)
                except (serial.SerialException, OSError, TypeError, ValueError) as exc:
                    reason = f"link lost: {exc}"
                    break
                now = self._clock()
                if data:
                    protocol.data_received(data, now)
                protocol.tick(now)
        except Exception as exc:  # a bug (the protocol's or a listener's) must not end the line for good
            log.exception("%s: serial line failed", self.name)
            self.health.count(INTERNAL_ERRORS)
            reason, failed = f"internal error: {exc}", True
        with self._write_lock:
            self._port = None
        close_quietly(port)
        self._call(protocol.connection_lost, reason)
        return self._answered and not failed  # a failing protocol backs off to the longest wait

    def _call(self, callback: Callable[[str], None], reason: str) -> None:
        try:
            callback(reason)
        except Exception:  # noqa: BLE001 - as in _serve
            log.exception("%s: serial line failed", self.name)
            self.health.count(INTERNAL_ERRORS)
