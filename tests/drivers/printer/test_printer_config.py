"""Printer URLs, options and documents: good ones work, bad ones fail with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers.health import HealthState
from drivers.printer import open_printer
from drivers.printer.document import QR, Columns, Cut, Feed, PrintDocument, Rule, Text
from drivers.printer.errors import (
    CoverOpen,
    DocumentError,
    PaperOut,
    PrinterConfigError,
    PrinterOffline,
)
from drivers.printer.simulator import PrinterState
from drivers.printer.transport import (
    FileTransport,
    MemoryTransport,
    SerialTransport,
    TcpTransport,
)
from drivers.printer.url import parse_printer_url
from tests.drivers.printer.printer_samples import make_receipt


@pytest.mark.parametrize(("url", "message"), [
    ("", "no printer URL"),
    ("lpt://1", "unsupported printer URL scheme"),
    ("tcp://", "no host name"),
    ("tcp://printer:99999", "port must be a number"),
    ("tcp://printer?colour=red", "unknown option"),
    ("tcp://printer?baud=9600", "unknown option"),
    ("serial://", "no device path"),
    ("serial:///dev/ttyS0?baud=fast", "baud must be a number"),
    ("serial:///dev/ttyS0?parity=Z", "parity"),
    ("serial:///dev/ttyS0?stopbits=3", "stopbits"),
    ("serial:///dev/ttyS0?flow=magic", "flow"),
    ("usb://zz:11", "VENDOR:PRODUCT"),
    ("file://", "no file path"),
    ("dummy://?state=broken", "state must be one of"),
    ("tcp://printer?cjk=klingon", "cjk must be one of"),
    ("tcp://printer?width=5", "width must be from"),
    ("tcp://printer?timeout=-1", "timeout must be from"),
    ("tcp://printer?timeout=nan", "timeout must be from"),
    ("tcp://printer?status=maybe", "status must be one of"),
    ("tcp://printer?profile=TM-NOPE", "unknown printer profile"),
    ("tcp://printer?font=/nonexistent/font.ttf", "does not exist"),
])
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(PrinterConfigError, match=message) as info:
        open_printer(url)
    assert isinstance(info.value, ValueError)


def test_a_file_that_is_not_a_font_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "font.ttf"
    fake.write_text("not a font")
    with pytest.raises(PrinterConfigError, match="not a TrueType"):
        open_printer(f"dummy://?font={fake}")


def test_usb_without_pyusb_says_what_to_install() -> None:
    from drivers.printer import _escpos

    if _escpos.escpos()["printer"].Usb.is_usable():
        pytest.skip("pyusb is installed here")
    with pytest.raises(PrinterConfigError, match="pyusb"):
        open_printer("usb://04b8:0202")


def test_urls_pick_the_transport_and_options() -> None:
    tcp = open_printer("tcp://printer.local")
    assert isinstance(tcp.transport, TcpTransport) and tcp.transport.port == 9100
    assert tcp.transport.host == "printer.local" and tcp.width == 42 and tcp.profile == "default"
    serial = open_printer("serial:///dev/ttyUSB0?baud=19200&parity=E&flow=rtscts&profile=TM-T20II")
    assert isinstance(serial.transport, SerialTransport)
    assert (serial.transport.device, serial.transport.baudrate, serial.transport.parity, serial.transport.flow) == (
        "/dev/ttyUSB0", 19200, "E", "rtscts")
    assert serial.width == 48  # from the profile
    assert open_printer("serial://COM3").transport.device == "COM3"  # type: ignore[attr-defined]
    assert isinstance(open_printer("file://receipts.bin").transport, FileTransport)
    assert str(open_printer("file:///tmp/a%20b.bin").transport.describe()) == "/tmp/a b.bin"
    assert isinstance(open_printer("dummy://").transport, MemoryTransport)
    assert parse_printer_url("TCP://Printer:9101").port == 9101


def test_url_options_override_arguments() -> None:
    printer = open_printer("dummy://?width=32&timeout=1.5", width=42, profile="TM-T88V", timeout=9)
    assert (printer.width, printer.profile, printer.timeout) == (32, "TM-T88V", 1.5)
    assert open_printer("dummy://", width=40).width == 40


def test_dummy_printer_simulates_states() -> None:
    printer = open_printer("dummy://?state=paper_out")
    with pytest.raises(PaperOut):
        printer.print_document(make_receipt())
    assert printer.status().detail == "paper out"
    model = printer.transport.model  # type: ignore[attr-defined]
    model.set_state(PrinterState.OFFLINE)
    with pytest.raises(PrinterOffline):
        printer.print_document(make_receipt())
    model.set_state(PrinterState.OK)
    printer.print_document(make_receipt())
    assert model.decode().text_lines[0] == "Central Park"
    assert printer.status().state is HealthState.OK


# -- documents -----------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [
    lambda: Text(42),
    lambda: Text("x", align="middle"),
    lambda: Text("x", size=3),
    lambda: Text("x", size=True),
    lambda: Text("x", bold="yes"),
    lambda: Columns("a", None),
    lambda: Columns("a", "b", fill=".."),
    lambda: Rule(""),
    lambda: QR(""),
    lambda: QR("x" * 3000),
    lambda: QR("x", size=0),
    lambda: Feed(-1),
    lambda: Feed(256),
    lambda: Cut(partial="no"),
    lambda: PrintDocument(["text"]),
    lambda: PrintDocument([Text("x")], title=None),
])
def test_bad_blocks_are_document_errors(build: object) -> None:
    with pytest.raises(DocumentError) as info:
        build()  # type: ignore[operator]
    assert info.value.retryable is False


def test_documents_round_trip_through_json() -> None:
    document = make_receipt("停车场")
    again = PrintDocument.from_dict(json.loads(json.dumps(document.to_dict())))
    assert again == document
    assert PrintDocument(blocks=[Text("a")]).blocks == (Text("a"),)  # lists become tuples


@pytest.mark.parametrize("data", [
    None,
    [],
    {"blocks": "text"},
    {"blocks": [{"type": "barcode", "data": "1"}]},
    {"blocks": [{"type": "text"}]},
    {"blocks": [{"type": "text", "text": "x", "colour": "red"}]},
    {"blocks": [{"type": "qr", "data": "x", "size": 99}]},
    {"blocks": [["text", "x"]]},
    {"blocks": [], "title": 5},
])
def test_malformed_stored_documents_are_document_errors(data: object) -> None:
    with pytest.raises(DocumentError):
        PrintDocument.from_dict(data)


def test_print_raw_sends_stored_bytes_with_the_same_checks() -> None:
    printer = open_printer("dummy://")
    data = printer.render(make_receipt()).data
    printer.print_raw(data, title="reprint R-000123")
    assert printer.transport.model.decode().qr_codes  # type: ignore[attr-defined]
    with pytest.raises(DocumentError):
        printer.print_raw("not bytes")  # type: ignore[arg-type]
    printer.transport.model.set_state(PrinterState.COVER_OPEN)  # type: ignore[attr-defined]
    with pytest.raises(CoverOpen):
        printer.print_raw(data)
