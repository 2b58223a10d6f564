"""The driver against the network printer simulator on a loopback socket."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from drivers.health import DeviceHealth, HealthState
from drivers.printer import open_printer
from drivers.printer.document import Cut, PrintDocument, Text
from drivers.printer.errors import (
    CoverOpen,
    PaperOut,
    PrinterFault,
    PrinterOffline,
    PrinterTimeout,
)
from drivers.printer.simulator import NetworkPrinterSimulator, PrinterState
from tests.drivers.printer.printer_samples import E_RECEIPT, SITE_CJK


def test_receipt_prints_with_text_qr_and_cut(network_sim: NetworkPrinterSimulator, receipt: PrintDocument) -> None:
    printer = open_printer(network_sim.url, name="booth-1 printer")
    printer.print_document(receipt)
    decoded = network_sim.decode()
    lines = decoded.text_lines
    assert lines[0] == "Central Park"
    assert decoded.lines[0].bold and decoded.lines[0].size == 2 and decoded.lines[0].align == "center"
    for left, right in (("Receipt", "R-000123"), ("Plate", "ABC-1234"), ("Total", "12.00"), ("Change", "8.00"),
                        ("Tariff", "T-2025-01"), ("Attendant", "Lee"), ("Entry", "2025-03-01 08:15")):
        assert left + " " * (42 - len(left) - len(right)) + right in lines
    assert "First hour " + "." * (42 - len("First hour") - len("5.00") - 2) + " 5.00" in lines
    assert decoded.find_line("Plate").bold
    assert [q.data for q in decoded.qr_codes] == [E_RECEIPT]
    assert len(decoded.cuts) == 1 and decoded.items[-1] == decoded.cuts[0]
    # status asked before and after the job
    assert decoded.status_requests == [1, 4, 1, 4]
    health = printer.health.snapshot()
    assert health.state is HealthState.OK
    assert health.counters["jobs_printed"] == 1 and health.counters["bytes_sent"] > 0


def test_chinese_site_name_round_trips(network_sim: NetworkPrinterSimulator, cjk_receipt: PrintDocument) -> None:
    printer = open_printer(network_sim.url)
    printer.print_document(cjk_receipt)
    decoded = network_sim.decode()
    assert decoded.text_lines[0] == SITE_CJK
    assert decoded.lines[0].columns == (3 * 2 + len(" Central Park")) * 2
    assert printer.last_warnings == ()


def test_status_reports_ok_and_paper_near_end(network_sim: NetworkPrinterSimulator) -> None:
    printer = open_printer(network_sim.url)
    assert printer.health.snapshot().state is HealthState.CONNECTING
    assert printer.status().state is HealthState.OK
    network_sim.set_state(PrinterState.PAPER_NEAR_END)
    health = printer.status()
    assert (health.state, health.detail) == (HealthState.DEGRADED, "paper near end")
    printer.print_document(PrintDocument([Text("still prints"), Cut()]))  # near end is not a fault
    assert "still prints" in network_sim.decode().text_lines


@pytest.mark.parametrize(("state", "error", "detail"), [
    (PrinterState.PAPER_OUT, PaperOut, "paper out"),
    (PrinterState.COVER_OPEN, CoverOpen, "cover open"),
    (PrinterState.CUTTER_JAM, PrinterFault, "cutter error (paper jam?)"),
])
def test_reported_faults_stop_the_job_before_it_is_sent(network_sim: NetworkPrinterSimulator, receipt: PrintDocument,
                                                        state: PrinterState, error: type, detail: str) -> None:
    printer = open_printer(network_sim.url, name="printer")
    network_sim.set_state(state)
    with pytest.raises(error) as info:
        printer.print_document(receipt)
    assert info.value.sent is False and info.value.retryable
    assert str(info.value) == f"printer: {detail}"
    assert network_sim.decode().lines == []  # nothing but status requests reached the printer
    health = printer.health.snapshot()
    assert (health.state, health.detail) == (HealthState.FAULT, detail)
    assert health.counters["jobs_failed"] == 1
    assert printer.status().state is HealthState.FAULT
    network_sim.set_state(PrinterState.OK)  # the attendant fixes it; the queued job goes out
    printer.print_document(receipt)
    assert printer.status().state is HealthState.OK
    assert network_sim.decode().text_lines[0] == "Central Park"


def test_fault_that_appears_during_the_job_is_reported_as_sent(network_sim: NetworkPrinterSimulator) -> None:
    printer = open_printer(network_sim.url)
    model = network_sim.model
    original = model.session

    def session_that_runs_out_of_paper():  # the paper ends while the job is being received
        inner = original()
        receive = inner.receive

        def wrapped(data: bytes) -> bytes:
            if b"\x1dV" in data:
                model.set_state(PrinterState.PAPER_OUT)
            return receive(data)

        inner.receive = wrapped  # type: ignore[method-assign]
        return inner

    model.session = session_that_runs_out_of_paper  # type: ignore[method-assign]
    with pytest.raises(PaperOut) as info:
        printer.print_document(PrintDocument([Text("half a receipt"), Cut()]))
    assert info.value.sent is True


def test_offline_printer_refuses_and_comes_back(network_sim: NetworkPrinterSimulator, receipt: PrintDocument) -> None:
    printer = open_printer(network_sim.url)
    network_sim.set_state(PrinterState.OFFLINE)
    with pytest.raises(PrinterOffline, match="refused the connection") as info:
        printer.print_document(receipt)
    assert info.value.sent is False
    health = printer.status()
    assert health.state is HealthState.OFFLINE and "refused" in health.detail
    network_sim.set_state(PrinterState.OK)
    assert printer.status().state is HealthState.OK
    printer.print_document(receipt)
    assert network_sim.decode().qr_codes[0].data == E_RECEIPT


def test_hung_printer_times_out_instead_of_blocking(network_sim: NetworkPrinterSimulator) -> None:
    printer = open_printer(network_sim.url + "?timeout=0.5&status_timeout=0.3")
    network_sim.set_state(PrinterState.STALLED)
    started = time.monotonic()
    with pytest.raises(PrinterTimeout, match="no reply to status request"):
        printer.print_document(PrintDocument([Text("x")]))
    assert time.monotonic() - started < 3
    started = time.monotonic()
    assert printer.status().state is HealthState.OFFLINE
    assert time.monotonic() - started < 3


def test_connect_timeout_when_nobody_accepts() -> None:
    # A listener whose accept queue is full and never drained: further connection attempts
    # get no answer at all, like a host that drops packets.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.1)
        printer = open_printer(f"tcp://127.0.0.1:{port}?timeout=0.4&status_timeout=0.2")
        started = time.monotonic()
        with pytest.raises(PrinterOffline):  # a timeout, or a refusal on kernels that reset
            printer.print_document(PrintDocument([Text("x")]))
        assert time.monotonic() - started < 3
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def test_printer_without_status_support_prints_with_status_none(network_sim: NetworkPrinterSimulator) -> None:
    printer = open_printer(network_sim.url + "?status=none")
    printer.print_document(PrintDocument([Text("no status"), Cut()]))
    decoded = network_sim.decode()
    assert decoded.status_requests == [] and decoded.text_lines == ["no status"] + [""] * 6
    assert printer.health.snapshot().state is HealthState.OK


def test_concurrent_jobs_never_interleave(network_sim: NetworkPrinterSimulator) -> None:
    printer = open_printer(network_sim.url)
    errors: list[BaseException] = []

    def job(n: int) -> None:
        try:
            printer.print_document(PrintDocument([Text(f"job {n} line {i}") for i in range(20)] + [Cut()]))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    jobs = network_sim.decode().jobs()
    assert len(jobs) == 6
    for decoded in jobs:
        printed = [line for line in decoded.text_lines if line]
        n = printed[0].split()[1]
        assert printed == [f"job {n} line {i}" for i in range(20)]
    assert network_sim.connections == 6


def test_status_does_not_wait_for_a_running_job(network_sim: NetworkPrinterSimulator) -> None:
    printer = open_printer(network_sim.url + "?timeout=2&status_timeout=1")
    network_sim.set_state(PrinterState.STALLED)
    failures: list[BaseException] = []

    def job() -> None:
        try:
            printer.print_document(PrintDocument([Text("x")]))
        except BaseException as exc:  # noqa: BLE001 - checked below
            failures.append(exc)

    worker = threading.Thread(target=job)
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    printer.status()  # the job holds the printer: the last known health comes back at once
    assert time.monotonic() - started < 0.2
    worker.join(timeout=10)
    assert len(failures) == 1 and isinstance(failures[0], PrinterTimeout)


def test_health_listener_and_monitor(network_sim: NetworkPrinterSimulator) -> None:
    seen: list[DeviceHealth] = []
    printer = open_printer(network_sim.url, listener=seen.append)
    printer.start_monitor(interval=0.05)
    try:
        deadline = time.monotonic() + 5
        while not any(h.state is HealthState.OK for h in seen) and time.monotonic() < deadline:
            time.sleep(0.02)
        network_sim.set_state(PrinterState.COVER_OPEN)
        while not any(h.state is HealthState.FAULT for h in seen) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        printer.close()
    states = [h.state for h in seen]
    assert HealthState.OK in states and HealthState.FAULT in states
    assert seen[-1].detail == "cover open"
    with pytest.raises(PrinterOffline, match="closed"):
        printer.print_document(PrintDocument([Text("x")]))
