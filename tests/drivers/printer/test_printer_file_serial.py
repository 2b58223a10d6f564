"""File backend with the decode command, and serial backend over pseudo-terminals."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest

from drivers.health import HealthState
from drivers.printer import open_printer
from drivers.printer.document import Cut, PrintDocument, Text
from drivers.printer.errors import PaperOut, PrinterOffline, PrinterTimeout
from drivers.printer.simulator import PrinterState, SerialPrinterSimulator
from tests.drivers.printer.printer_samples import E_RECEIPT, SITE_CJK, make_receipt

REPO = Path(__file__).resolve().parents[3]


def run_decode(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "drivers.printer.escpos_decode", *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=60)


# -- file ----------------------------------------------------------------------------------------


def test_file_backend_appends_jobs_and_the_decode_command_shows_them(tmp_path: Path) -> None:
    path = tmp_path / "spool" / "receipts.bin"
    printer = open_printer(f"file://{path}")
    assert printer.status().state is HealthState.OK
    printer.print_document(make_receipt(SITE_CJK))
    printer.print_document(PrintDocument([Text("Shift report", align="center"), Cut()]))
    assert printer.health.snapshot().counters["jobs_printed"] == 2
    assert path.read_bytes().count(b"\x1b@") == 2  # both jobs, appended

    out = run_decode(str(path))
    assert out.returncode == 0, out.stderr
    text = out.stdout.splitlines()
    assert text[0].startswith("=== job 1") and any(line.startswith("=== job 2") for line in text)
    assert any(line.strip() == SITE_CJK for line in text)
    assert any(line.strip() == f"[QR size 6 ec M: {E_RECEIPT}]" for line in text)
    assert any(line.strip() == "Shift report" for line in text)
    assert sum(" cut " in line for line in text) == 2

    last = run_decode(str(path), "--last", "1", "--json")
    items = json.loads(last.stdout)["items"]
    assert [i["text"] for i in items if i["type"] == "line" and i["text"]] == ["Shift report"]
    assert items[-1] == {"type": "cut", "partial": False}


def test_decode_command_on_a_missing_file_fails_clearly(tmp_path: Path) -> None:
    out = run_decode(str(tmp_path / "nope.bin"))
    assert out.returncode == 2
    assert "cannot read" in out.stderr and "Traceback" not in out.stderr


def test_file_backend_that_cannot_write_is_offline(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    printer = open_printer(f"file://{folder}")  # a directory cannot be appended to
    with pytest.raises(PrinterOffline, match="cannot write"):
        printer.print_document(PrintDocument([Text("x")]))
    assert printer.health.snapshot().state is HealthState.OFFLINE


# -- serial --------------------------------------------------------------------------------------


def read_master(fd: int, count: int, timeout: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            data += os.read(fd, 65536)
    return data


def test_serial_backend_sends_exact_bytes_over_a_pty() -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        printer = open_printer(f"serial://{os.ttyname(slave)}?baud=19200&status=none")
        document = make_receipt()
        printer.print_document(document)
        expected = printer.render(document).data
        assert read_master(master, len(expected)) == expected
    finally:
        os.close(master)
        os.close(slave)


def test_serial_write_times_out_when_the_printer_stops_reading() -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        printer = open_printer(f"serial://{os.ttyname(slave)}?status=none&timeout=0.3")
        big = PrintDocument([Text("x" * 40) for _ in range(4000)])  # far more than a pty buffers
        started = time.monotonic()
        with pytest.raises(PrinterTimeout, match="write timed out") as info:
            printer.print_document(big)
        assert time.monotonic() - started < 5
        assert info.value.sent is True  # part of it went out
        assert printer.health.snapshot().state is HealthState.OFFLINE
    finally:
        os.close(master)
        os.close(slave)


def test_slow_printer_that_keeps_taking_data_is_not_a_timeout() -> None:
    # The timeout limits time without progress, not the time a long job takes.
    master, slave = os.openpty()
    tty.setraw(master)
    received = bytearray()
    done = threading.Event()

    def slow_printer() -> None:
        while not done.is_set():
            ready, _, _ = select.select([master], [], [], 0.02)
            if ready:
                received.extend(os.read(master, 2048))
            time.sleep(0.02)  # about 50-100 kB/s, and the job is 80 kB

    reader = threading.Thread(target=slow_printer, daemon=True)
    reader.start()
    try:
        printer = open_printer(f"serial://{os.ttyname(slave)}?status=none&timeout=0.5")
        big = PrintDocument([Text("y" * 40) for _ in range(2000)])
        started = time.monotonic()
        printer.print_document(big)
        assert time.monotonic() - started > 0.5
        expected = printer.render(big).data
        deadline = time.monotonic() + 5
        while len(received) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert bytes(received) == expected
    finally:
        done.set()
        reader.join(timeout=2)
        os.close(master)
        os.close(slave)


def test_serial_printer_with_status(serial_sim: SerialPrinterSimulator) -> None:
    printer = open_printer(serial_sim.url + "?status_timeout=0.5")
    assert printer.status().state is HealthState.OK
    printer.print_document(make_receipt())
    decoded = serial_sim.decode()
    assert decoded.text_lines[0] == "Central Park" and decoded.qr_codes[0].data == E_RECEIPT
    serial_sim.set_state(PrinterState.PAPER_OUT)
    with pytest.raises(PaperOut):
        printer.print_document(make_receipt())
    serial_sim.set_state(PrinterState.OFFLINE)  # a switched-off serial printer just says nothing
    with pytest.raises(PrinterTimeout, match="no reply"):
        printer.print_document(make_receipt())
    assert printer.status().state is HealthState.OFFLINE


def test_missing_serial_port_is_offline() -> None:
    printer = open_printer("serial:///dev/ttyNOPE-printer")
    with pytest.raises(PrinterOffline, match="cannot open"):
        printer.print_document(PrintDocument([Text("x")]))
    assert printer.status().state is HealthState.OFFLINE
