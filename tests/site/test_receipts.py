"""Receipts from the exit flow to a printer on a loopback socket, checked by decoding the
ESC/POS bytes the printer received."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.site.events import ExitPending
from console.store import visits
from console.store.engine import sqlite_url
from console.store.tables import PaymentRow, ReceiptRow
from drivers.gate.simworld import Traffic
from drivers.printer.simulator import NetworkPrinterSimulator
from tests.conftest import Recorder, site_text

ROOT = Path(__file__).resolve().parents[2]


def _config(printer_url: str):  # type: ignore[no-untyped-def]
    return parse_site(site_text(200, f'\n[printer]\nurl = "{printer_url}"\n'), "t.toml")


@pytest.fixture
def printer_sim():  # type: ignore[no-untyped-def]
    with NetworkPrinterSimulator() as sim:
        yield sim


def _paid_exit(site, rec: Recorder, clock, plate: str, tendered: str = "20") -> int:  # type: ignore[no-untyped-def]
    site.lanes.gates["IN1"].arrive(plate)
    rec.wait_for(lambda: site.store.query(visits.open_visit_for, plate) is not None)
    clock.advance(hours=2, minutes=5)
    before = len(rec.of(ExitPending))
    site.lanes.gates["OUT1"].arrive(plate)
    rec.wait_for(lambda: len(rec.of(ExitPending)) > before)
    ticket = rec.of(ExitPending)[-1].ticket
    settled = site.desk.pay_cash(ticket.id, tendered, attendant="ann")
    assert settled.closed.receipt_number is not None
    return settled.closed.receipt_number


def _receipts(store) -> list[ReceiptRow]:  # type: ignore[no-untyped-def]
    with Session(store.engine) as s:
        return list(s.exec(select(ReceiptRow).order_by(ReceiptRow.number)).all())


def _site(store, clock, url: str):  # type: ignore[no-untyped-def]
    site = build_site(_config(url), store, clock=clock, traffic=Traffic(seed=3))
    rec = Recorder()
    site.bus.subscribe(rec)
    site.start()
    if site.staff.current_shift() is None:
        site.staff.open_shift("ann", "0")
    return site, rec


def test_paid_exit_prints_a_complete_receipt(store, clock, printer_sim) -> None:  # type: ignore[no-untyped-def]
    site, rec = _site(store, clock, printer_sim.url)
    try:
        number = _paid_exit(site, rec, clock, "AB1234C")
        assert printer_sim.model.wait_for(lambda data: b"\x1dV" in data, timeout=10)
        deadline = time.monotonic() + 5
        while _receipts(store)[0].printed_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        site.stop()
    job = printer_sim.decode().jobs()[-1]
    text = job.text
    assert job.text_lines[0] == "Test Garage"
    assert f"Receipt {number}" in text
    assert "AB1234C" in job.find_line("Plate").text
    assert "€7.50" in job.find_line("TOTAL").text and job.find_line("TOTAL").bold
    assert "Parking: 3 x 1 h @ 2.50" in text
    assert "€20.00" in job.find_line("Tendered").text
    assert "€12.50" in job.find_line("Change").text
    assert "Served by ann" in text and "Tariff test-hourly@1" in text
    assert [q.data.startswith("BOOTH-RECEIPT:booth-1:") for q in job.qr_codes] == [True]
    assert len(job.cuts) == 1
    assert _receipts(store)[0].printed_at is not None


def test_offline_printer_keeps_the_receipt_until_it_is_back(store, clock, printer_sim) -> None:  # type: ignore[no-untyped-def]
    printer_sim.set_state("offline")
    site, rec = _site(store, clock, printer_sim.url)
    site.print_queue._retry = 0.2  # retry quickly in the test
    try:
        _paid_exit(site, rec, clock, "AB1234C")
        with Session(store.engine) as s:
            assert len(s.exec(select(PaymentRow)).all()) == 1  # the payment did not wait for paper
        rec.wait_for(lambda: any(getattr(e, "health", None) and e.health.device == "printer" and e.health.state.value == "offline" for e in rec.events), timeout=10)
        deadline = time.monotonic() + 5
        while _receipts(store)[0].attempts < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _receipts(store)[0].printed_at is None
        assert _receipts(store)[0].attempts >= 1 and "refused" in (_receipts(store)[0].last_error or "")
        printer_sim.set_state("ok")
        site.print_queue.wake()
        deadline = time.monotonic() + 10
        while _receipts(store)[0].printed_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _receipts(store)[0].printed_at is not None
    finally:
        site.stop()
    assert "AB1234C" in printer_sim.decode().text


def test_numbers_are_gap_free_and_reprints_say_so(store, clock, printer_sim) -> None:  # type: ignore[no-untyped-def]
    site, rec = _site(store, clock, printer_sim.url)
    try:
        numbers = [_paid_exit(site, rec, clock, plate) for plate in ("AA1", "BB2", "CC3")]
        assert numbers == [1, 2, 3]
        copy = site.documents.reprint(1, actor="ann")
        assert copy == 4
        assert printer_sim.model.wait_for(lambda data: data.count(b"\x1dV") >= 4, timeout=10)
    finally:
        site.stop()
    last = printer_sim.decode().jobs()[-1]
    assert "COPY of receipt 1" in last.text and "AA1" in last.text
    from console.site.errors import SiteError

    with pytest.raises(SiteError, match="no receipt 99"):
        site.documents.reprint(99, actor="ann")


CHILD = r"""
import sys, time
from datetime import timedelta
from console.domain.clock import FixedClock
from console.site.build import build_site, open_store
from console.site.config import parse_site
from console.site.events import ExitPending
from console.store import visits
from drivers.gate.simworld import Traffic
from tests.conftest import T0, Recorder, site_text
config = parse_site(site_text(200, '\n[printer]\nurl = "' + sys.argv[2] + '"\n'), "t.toml")
clock = FixedClock(T0)
site = build_site(config, open_store(sys.argv[1]), clock=clock, traffic=Traffic(seed=1))
rec = Recorder(); site.bus.subscribe(rec); site.start(); site.staff.open_shift("ann", "0")
site.lanes.gates["IN1"].arrive("KILL1")
rec.wait_for(lambda: site.store.query(visits.open_visit_for, "KILL1") is not None)
clock.advance(hours=1, minutes=30)
site.lanes.gates["OUT1"].arrive("KILL1")
rec.wait_for(lambda: bool(rec.of(ExitPending)))
site.desk.pay_cash(rec.of(ExitPending)[0].ticket.id, "10", attendant="ann")
print("PAID", flush=True)
time.sleep(60)
"""


def test_killed_between_payment_and_print_the_receipt_prints_after_restart(tmp_path: Path, clock, printer_sim) -> None:  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path / "kill.sqlite3")
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens here: the printer is "off" while the child pays
    proc = subprocess.Popen([sys.executable, "-c", CHILD, url, f"tcp://127.0.0.1:{dead_port}?timeout=0.5"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "PAID"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    store = open_store(url)
    with Session(store.engine) as s:
        assert len(s.exec(select(PaymentRow)).all()) == 1
        waiting = s.exec(select(ReceiptRow)).all()
    assert [(r.number, r.printed_at) for r in waiting] == [(1, None)]
    site, _ = _site(store, clock, printer_sim.url)  # restart with the printer on
    try:
        assert printer_sim.model.wait_for(lambda data: b"\x1dV" in data, timeout=10)
    finally:
        site.stop()
    assert "KILL1" in printer_sim.decode().text
    with Session(store.engine) as s:
        assert len(s.exec(select(PaymentRow)).all()) == 1
