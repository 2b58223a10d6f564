"""The shared serial line through real transports: a pseudo-terminal published under a
stable name (as udev publishes /dev/serial/by-id/...) that vanishes and comes back, a
second opener of the same local port, and a loopback TCP converter that drops the link."""

from __future__ import annotations

import os
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import serial

from drivers.health import HealthTracker
from drivers.reconnect import Backoff
from drivers.serialline import LineParams, SerialLine, open_port, parse_line_url


class Recorder:
    """A LineProtocol that writes down what the line tells it."""

    def __init__(self) -> None:
        self.cv = threading.Condition()
        self.calls: list[tuple[str, object, float]] = []  # (what, detail, monotonic time)
        self.data = bytearray()
        self.line: SerialLine | None = None
        self.echo = False
        self.fail_on: bytes | None = None

    def _note(self, what: str, detail: object) -> None:
        with self.cv:
            self.calls.append((what, detail, time.monotonic()))
            self.cv.notify_all()

    def open_failed(self, reason: str) -> None:
        self._note("open_failed", reason)

    def connection_made(self, note: str) -> None:
        self._note("made", note)

    def data_received(self, data: bytes, now: float) -> None:
        if self.fail_on is not None and self.fail_on in data:
            raise RuntimeError("protocol bug")
        with self.cv:
            self.data += data
            self.cv.notify_all()
        assert self.line is not None
        self.line.answered()
        if self.echo:
            self.line.write(data.upper())

    def tick(self, now: float) -> None:
        pass

    def connection_lost(self, reason: str) -> None:
        self._note("lost", reason)

    def count(self, what: str) -> int:
        with self.cv:
            return sum(1 for w, _, _ in self.calls if w == what)

    def times(self, what: str) -> list[float]:
        with self.cv:
            return [t for w, _, t in self.calls if w == what]

    def details(self, what: str) -> list[object]:
        with self.cv:
            return [d for w, d, _ in self.calls if w == what]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> float:
        start = time.monotonic()
        with self.cv:
            while not predicate():
                left = start + timeout - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what} not reached within {timeout} s: {self.calls}")
                self.cv.wait(min(left, 0.02))
        return time.monotonic() - start


class PtyDevice:
    """The far end of a pty whose slave is published under `link` while plugged in."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master: int | None = None
        self.slave: int | None = None

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        tmp = self.link.with_suffix(".new")
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def write(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def read(self, n: int, timeout: float = 3.0) -> bytes:
        assert self.master is not None
        out = b""
        deadline = time.monotonic() + timeout
        os.set_blocking(self.master, False)
        while len(out) < n and time.monotonic() < deadline:
            try:
                out += os.read(self.master, n - len(out))
            except BlockingIOError:
                time.sleep(0.005)
        return out


@pytest.fixture
def device(tmp_path: Path) -> Iterator[PtyDevice]:
    dev = PtyDevice(tmp_path / "usb-test-if00")
    dev.plug()
    yield dev
    dev.unplug()


def make_line(url: str, rec: Recorder, **params: float) -> tuple[SerialLine, HealthTracker]:
    health = HealthTracker("test line")
    line = SerialLine("test", LineParams(parse_line_url(url), **params), rec, health)
    rec.line = line
    return line, health


def test_bytes_flow_both_ways(device: PtyDevice) -> None:
    rec = Recorder()
    rec.echo = True
    line, health = make_line(str(device.link), rec)
    line.start()
    try:
        rec.wait_for(lambda: rec.count("made") == 1, what="port open")
        device.write(b"hello")
        rec.wait_for(lambda: bytes(rec.data) == b"hello", what="bytes read")
        assert device.read(5) == b"HELLO"
        assert line.is_open
    finally:
        line.stop()
    assert rec.details("lost") == ["stopped"] and not line.is_open
    assert line.write(b"late") is False  # no port: nothing written, nothing raised


def test_reconnect_with_back_off_after_the_device_vanishes_and_comes_back(device: PtyDevice) -> None:
    rec = Recorder()
    line, health = make_line(str(device.link), rec, reconnect_delay=0.05, reconnect_delay_max=0.4)
    line.start()
    try:
        rec.wait_for(lambda: rec.count("made") == 1, what="port open")
        device.write(b"x")  # the device answered: after its loss the back-off starts over
        rec.wait_for(lambda: rec.data == b"x", what="first byte")

        device.unplug()
        rec.wait_for(lambda: rec.count("lost") == 1, timeout=2, what="loss noticed")
        assert str(rec.details("lost")[0]).startswith("link lost")
        rec.wait_for(lambda: rec.count("open_failed") >= 6, timeout=5, what="six attempts while unplugged")
        lost_at = rec.times("lost")[0]
        attempts = rec.times("open_failed")
        gaps = [b - a for a, b in zip([lost_at, *attempts], attempts, strict=False)]
        print("\nwaits between attempts: " + ", ".join(f"{g * 1000:.0f} ms" for g in gaps))
        # 50, 100, 200, 400, 400 ms...: doubling, then capped (with a margin for a busy machine)
        assert gaps[0] < 0.3 and gaps[2] > gaps[0] + 0.05
        assert all(0.35 <= g < 0.9 for g in gaps[4:6])
        assert "cannot open" in str(rec.details("open_failed")[0])
        assert health.counter("open_failures") >= 6

        device.plug()
        replugged = time.monotonic()
        rec.wait_for(lambda: rec.count("made") == 2, timeout=3, what="reopened")
        took = rec.times("made")[1] - replugged
        print(f"reopened {took * 1000:.0f} ms after replug")
        assert took < 1.0
        device.write(b"y")
        rec.wait_for(lambda: rec.data == b"xy", what="bytes after replug")
        assert health.counter("reconnects") == 1
    finally:
        line.stop()


def test_the_back_off_keeps_growing_while_the_device_never_answers(device: PtyDevice) -> None:
    rec = Recorder()
    line, _ = make_line(str(device.link), rec, reconnect_delay=0.05, reconnect_delay_max=0.4)
    line.start()
    try:
        rec.wait_for(lambda: rec.count("made") == 1, what="port open")
        for _ in range(3):  # open, silent, reopened on request: never answered
            want = rec.count("made") + 1
            line.reconnect("silent")
            rec.wait_for(lambda want=want: rec.count("made") == want, timeout=3, what="reopened")
        lost, made_at = rec.times("lost"), rec.times("made")
        waits = [m - lo for lo, m in zip(lost, made_at[1:], strict=True)]
        assert waits[-1] > waits[0] + 0.08  # 50, 100, 200 ms: no reset without an answer
        assert rec.details("lost") == ["silent"] * 3
    finally:
        line.stop()


def test_a_second_opener_of_a_local_port_is_refused(device: PtyDevice) -> None:
    first, second = Recorder(), Recorder()
    line, _ = make_line(str(device.link), first)
    intruder, intruder_health = make_line(str(device.link), second, reconnect_delay=0.05, reconnect_delay_max=0.1)
    line.start()
    try:
        first.wait_for(lambda: first.count("made") == 1, what="first open")
        intruder.start()
        second.wait_for(lambda: second.count("open_failed") >= 2, what="intruder refused twice")
        assert "lock" in str(second.details("open_failed")[0]).lower()
        assert second.count("made") == 0 and intruder_health.counter("open_failures") >= 2
        device.write(b"still mine")
        first.wait_for(lambda: first.data == b"still mine", what="first keeps the port")
        with pytest.raises(serial.SerialException, match="(?i)lock"):
            open_port(parse_line_url(str(device.link)), read_timeout=0.05)
    finally:
        intruder.stop()
        line.stop()
    port, note = open_port(parse_line_url(str(device.link)), read_timeout=0.05)  # free again
    assert note == ""
    port.close()


def test_rs485_on_a_pty_opens_as_plain_serial_with_a_note(device: PtyDevice) -> None:
    rec = Recorder()
    line, health = make_line(f"{device.link}?rs485=1", rec)
    line.start()
    try:
        rec.wait_for(lambda: rec.count("made") == 1, what="port open")
        assert "RS-485 mode not available" in str(rec.details("made")[0])
        assert health.counter("rs485_unsupported") == 1
    finally:
        line.stop()


def test_a_protocol_bug_reopens_the_port_instead_of_ending_the_line(device: PtyDevice) -> None:
    rec = Recorder()
    rec.fail_on = b"!"
    line, health = make_line(str(device.link), rec, reconnect_delay=0.05, reconnect_delay_max=0.1)
    line.start()
    try:
        rec.wait_for(lambda: rec.count("made") == 1, what="port open")
        device.write(b"!")
        rec.wait_for(lambda: rec.count("made") == 2, what="reopened after the bug")
        assert rec.details("lost")[0] == "internal error: protocol bug"
        assert health.counter("internal_errors") == 1
        device.write(b"ok")
        rec.wait_for(lambda: rec.data == b"ok", what="bytes after the bug")
    finally:
        line.stop()


class Converter:
    """A serial-over-IP converter on loopback that accepts one connection at a time."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]

    def accept(self) -> socket.socket:
        self.server.settimeout(5)
        conn, _ = self.server.accept()
        return conn

    def close(self) -> None:
        self.server.close()


def test_a_converter_that_drops_the_link_is_reconnected() -> None:
    conv = Converter()
    rec = Recorder()
    rec.echo = True
    line, health = make_line(f"socket://127.0.0.1:{conv.port}", rec, reconnect_delay=0.05, reconnect_delay_max=0.2)
    line.start()
    try:
        conn = conv.accept()
        rec.wait_for(lambda: rec.count("made") == 1, what="connected")
        conn.sendall(b"ping")
        conn.settimeout(3)
        echoed = b""
        while len(echoed) < 4:  # TCP may hand the echo over in pieces
            echoed += conn.recv(16)
        assert echoed == b"PING"
        conn.close()  # the converter restarts
        rec.wait_for(lambda: rec.count("lost") == 1, what="loss noticed")
        conn = conv.accept()
        rec.wait_for(lambda: rec.count("made") == 2, what="reconnected")
        conn.sendall(b"again")
        rec.wait_for(lambda: rec.data == b"pingagain", what="bytes after reconnecting")
        assert health.counter("reconnects") == 1
        conn.close()
    finally:
        line.stop()
        conv.close()


def test_backoff_doubles_to_its_ceiling_and_starts_over_after_an_answer() -> None:
    b = Backoff(0.05, 0.3)
    assert [b.next() for _ in range(5)] == [0.05, 0.1, 0.2, 0.3, 0.3]
    b.reset()
    assert b.next() == 0.05
    assert Backoff(2.0, 0.5).next() == 0.5  # a first wait above the ceiling is the ceiling
    with pytest.raises(ValueError):
        Backoff(0, 1)
