"""The one serial URL grammar: every form the four older grammars (lanes, Modbus lanes,
elevator, printer) accepted still parses to the settings it did, the e-bike pile's plain
pyserial URLs still open what they opened, and the cases where the old grammars disagreed
are settled as docs/drivers.md says.

The expected tuples were printed by the older parsers themselves (url, baud, bytesize,
parity, stopbits, rs485 -- flow instead of rs485 for the printer)."""

from __future__ import annotations

import pytest

from drivers.charger import open_epile
from drivers.elevator import ElevatorURLError
from drivers.elevator.serial_link import parse_serial_url
from drivers.gate.urls import GateURLError, parse_modbus_url, parse_serial_lane_url
from drivers.printer import open_printer
from drivers.printer.errors import PrinterConfigError
from drivers.printer.transport import SerialTransport
from drivers.serialline import LineSettings, LineURL, SerialURLError, parse_line_url

Expected = tuple[str, int, int, str, float, object]

GATE=[
    ('/dev/ttyUSB0?baud=9600', ('/dev/ttyUSB0', 9600, 8, 'N', 1, False)),
    ('/dev/ttyUSB0?baud=19200&rs485=1', ('/dev/ttyUSB0', 19200, 8, 'N', 1, True)),
    ('serial:///dev/serial/by-id/usb-FTDI_lane1-if00?baud=19200&rs485=1', ('/dev/serial/by-id/usb-FTDI_lane1-if00', 19200, 8, 'N', 1, True)),
    ('serial:///dev/serial/by-id/usb-FTDI_lane1-if00?parity=E&stopbits=2&bytesize=7', ('/dev/serial/by-id/usb-FTDI_lane1-if00', 9600, 7, 'E', 2, False)),
    ('serial:///dev/serial/by-id/usb-FTDI_FT232R_lane1-if00-port0?baud=19200&rs485=1', ('/dev/serial/by-id/usb-FTDI_FT232R_lane1-if00-port0', 19200, 8, 'N', 1, True)),
    ('socket://10.0.0.7:4001?heartbeat_timeout=5', ('socket://10.0.0.7:4001', 9600, 8, 'N', 1, False)),
    ('socket://10.0.0.7:4001?heartbeat_timeout=5&logging=debug', ('socket://10.0.0.7:4001?logging=debug', 9600, 8, 'N', 1, False)),
    ('rfc2217://10.0.0.7:4002?baud=9600', ('rfc2217://10.0.0.7:4002', 9600, 8, 'N', 1, False)),
    ('spy:///dev/ttyUSB0?file=trace.txt&baud=19200', ('spy:///dev/ttyUSB0?file=trace.txt', 19200, 8, 'N', 1, False)),
    ('loop://', ('loop://', 9600, 8, 'N', 1, False)),
    ('/dev/ttyS1?heartbeat=0.5&heartbeat_timeout=2&ack_timeout=0.1&retries=5&barrier_timeout=8', ('/dev/ttyS1', 9600, 8, 'N', 1, False)),
    ('serial://COM3', ('COM3', 9600, 8, 'N', 1, False)),
    ('COM3?baud=115200&parity=o&stopbits=1.5&rs485=0', ('COM3', 115200, 8, 'O', 1.5, False)),
    ('/dev/ttyUSB0?rs485', ('/dev/ttyUSB0', 9600, 8, 'N', 1, True)),
    ('/dev/ttyUSB0?rs485=yes', ('/dev/ttyUSB0', 9600, 8, 'N', 1, True)),
    ('file:///dev/ttyUSB3?bytesize=7&parity=e', ('/dev/ttyUSB3', 9600, 7, 'E', 1, False)),
    ('cp2110://0001:0002:00', ('cp2110://0001:0002:00', 9600, 8, 'N', 1, False)),
]
MODBUS=[
    ('modbus-rtu:///dev/ttyUSB1?baud=9600&unit=1&open_coil=0&loop_input=0&open_limit=1&closed_limit=2', ('/dev/ttyUSB1', 9600, 8, 'N', 1, False)),
    ('modbus-rtu+socket://10.0.0.8:4001?unit=3&open_coil=2&loop_input=4', ('socket://10.0.0.8:4001', 9600, 8, 'N', 1, False)),
    ('modbus-rtu+rfc2217://10.0.0.8:4002?baud=19200&unit=1&open_coil=0&loop_input=0', ('rfc2217://10.0.0.8:4002', 19200, 8, 'N', 1, False)),
    ('modbus-rtu:///dev/ttyUSB1?unit=1&open_coil=0&loop_input=0&plates=%2Fdev%2FttyUSB2%3Fbaud%3D9600', ('/dev/ttyUSB1', 9600, 8, 'N', 1, False)),
    ('modbus-rtu+serial:///dev/ttyUSB1?parity=E&stopbits=2', ('/dev/ttyUSB1', 9600, 8, 'E', 2, False)),
]
ELEVATOR=[
    ('/dev/ttyUSB2?baud=9600&parity=N&stopbits=1&bytesize=8&rs485=0', ('/dev/ttyUSB2', 9600, 8, 'N', 1, False)),
    ('/dev/ttyUSB2?baud=19200&parity=e&stopbits=2&bytesize=7&rs485=1', ('/dev/ttyUSB2', 19200, 7, 'E', 2, True)),
    ('/dev/ttyUSB2', ('/dev/ttyUSB2', 9600, 8, 'N', 1, False)),
    ('/dev/serial/by-id/usb-FTDI_x-if00-port0', ('/dev/serial/by-id/usb-FTDI_x-if00-port0', 9600, 8, 'N', 1, False)),
    ('socket://10.0.0.20:4001', ('socket://10.0.0.20:4001', 9600, 8, 'N', 1, False)),
    ('rfc2217://10.0.0.20:4001', ('rfc2217://10.0.0.20:4001', 9600, 8, 'N', 1, False)),
    ('loop://', ('loop://', 9600, 8, 'N', 1, False)),
    ('socket://127.0.0.1:4001?logging=debug&baud=9600', ('socket://127.0.0.1:4001?logging=debug', 9600, 8, 'N', 1, False)),
    ('/dev/ttyUSB2?parity=M', ('/dev/ttyUSB2', 9600, 8, 'M', 1, False)),
    ('/dev/ttyUSB2?parity=s&baud=2400', ('/dev/ttyUSB2', 2400, 8, 'S', 1, False)),
    ('/dev/ttyUSB2?rs485=true', ('/dev/ttyUSB2', 9600, 8, 'N', 1, True)),
    ('/dev/ttyUSB2?rs485=off', ('/dev/ttyUSB2', 9600, 8, 'N', 1, False)),
    ('spy:///dev/ttyUSB2?file=trace.txt', ('spy:///dev/ttyUSB2?file=trace.txt', 9600, 8, 'N', 1, False)),
    ('hwgrep://0403:6001', ('hwgrep://0403:6001', 9600, 8, 'N', 1, False)),
]
PRINTER=[
    ('serial:///dev/ttyUSB0?baud=19200', ('/dev/ttyUSB0', 19200, 8, 'N', 1, 'none')),
    ('serial:///dev/ttyUSB0?baud=19200&parity=E&flow=rtscts&profile=TM-T20II', ('/dev/ttyUSB0', 19200, 8, 'E', 1, 'rtscts')),
    ('serial://COM3', ('COM3', 9600, 8, 'N', 1, 'none')),
    ('serial:///dev/ttyS0?parity=even&stopbits=1.0&bytesize=0x7&baud=0x2580', ('/dev/ttyS0', 9600, 7, 'E', 1, 'none')),
    ('serial://localhost/dev/ttyUSB0', ('/dev/ttyUSB0', 9600, 8, 'N', 1, 'none')),
    ('serial:///dev/tty%20x?flow=XONXOFF&parity=none', ('/dev/tty x', 9600, 8, 'N', 1, 'xonxoff')),
    ('serial:///dev/ttyS0?parity=Mark&stopbits=2&timeout=3&width=32', ('/dev/ttyS0', 9600, 8, 'M', 2, 'none')),
]


def as_tuple(s: LineSettings) -> Expected:
    return (s.url, s.baudrate, s.bytesize, s.parity, s.stopbits, s.rs485)


@pytest.mark.parametrize(("url", "expected"), GATE)
def test_lane_forms_keep_their_settings(url: str, expected: Expected) -> None:
    assert as_tuple(parse_serial_lane_url(url).port) == expected


@pytest.mark.parametrize(("url", "expected"), MODBUS)
def test_modbus_lane_forms_keep_their_settings(url: str, expected: Expected) -> None:
    assert as_tuple(parse_modbus_url(url).port) == expected


@pytest.mark.parametrize(("url", "expected"), ELEVATOR)
def test_elevator_forms_keep_their_settings(url: str, expected: Expected) -> None:
    settings = parse_serial_url(url)
    assert as_tuple(settings) == expected
    assert settings.port_url == settings.url


@pytest.mark.parametrize(("url", "expected"), PRINTER)
def test_printer_serial_forms_keep_their_settings(url: str, expected: Expected) -> None:
    transport = open_printer(url).transport
    assert isinstance(transport, SerialTransport)
    s = transport.settings
    assert (s.url, s.baudrate, s.bytesize, s.parity, s.stopbits, s.flow) == expected


@pytest.mark.parametrize(
    "url", ["/dev/ttyUSB0", "/dev/serial/by-id/usb-FTDI_pile-if00", "socket://converter:4001", "loop://",
            "spy:///dev/ttyUSB0?file=pile.txt", "socket://10.0.0.9:4001?logging=debug"]
)
def test_pile_urls_open_what_pyserial_opened(url: str) -> None:
    # The pile handed its URL to serial_for_url as it was, at the `baudrate` argument.
    driver = open_epile("P", url, baudrate=19200)
    assert driver.line is not None and driver.url_error == ""
    assert as_tuple(driver.line.params.settings) == (url, 19200, 8, "N", 1, False)


def test_pile_urls_take_line_options_now() -> None:
    driver = open_epile("P", "/dev/ttyUSB0?baud=2400&parity=E")
    assert driver.line is not None
    assert as_tuple(driver.line.params.settings) == ("/dev/ttyUSB0", 2400, 8, "E", 1, False)


def test_a_pile_url_the_grammar_refuses_leaves_the_pile_offline_with_the_reason() -> None:
    driver = open_epile("P", "/dev/ttyUSB0?speed=9600")
    driver.start(lambda _event: None)
    try:
        health = driver.health_snapshot()
        assert health.state.value == "offline" and "unknown option(s) speed" in health.detail
    finally:
        driver.stop()


# -- where the older grammars disagreed ------------------------------------------------------


def test_rs485_bare_flag_is_on_and_an_empty_value_is_off() -> None:
    assert parse_line_url("/dev/ttyUSB0?rs485").rs485  # the lanes' flag form
    assert not parse_line_url("/dev/ttyUSB0?rs485=").rs485  # as the elevator read it
    assert not parse_serial_lane_url("/dev/ttyUSB0?rs485=").port.rs485  # the lanes read "on" here


def test_every_device_now_takes_every_line_option() -> None:
    lane = parse_serial_lane_url("/dev/ttyUSB0?parity=M&flow=rtscts&baud=0x2580")
    assert (lane.port.parity, lane.port.flow, lane.port.baudrate) == ("M", "rtscts", 9600)
    elevator = parse_serial_url("serial:///dev/ttyUSB2?stopbits=1.0&flow=xonxoff&parity=space")
    assert as_tuple(elevator) == ("/dev/ttyUSB2", 9600, 8, "S", 1, False) and elevator.flow == "xonxoff"
    printer = open_printer("serial:///dev/ttyUSB0?rs485=1").transport
    assert isinstance(printer, SerialTransport) and printer.settings.rs485


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("/dev/ttyUSB2?rs485=2", ElevatorURLError, "rs485 must be 1 or 0"),  # the elevator read "off"
        ("/dev/ttyUSB2?baud=20000000", ElevatorURLError, "baud must be within 1..12000000"),
        ("/dev/ttyUSB2?parity=X", ElevatorURLError, "parity must be N, E or O"),
        ("serial:///dev/ttyS0?parity=nonsense", PrinterConfigError, "parity must be N, E or O"),  # read as N
        ("ftp://host/x", ElevatorURLError, "unsupported elevator controller URL scheme"),
    ],
)
def test_values_no_device_could_use_are_refused(url: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        if error is PrinterConfigError:
            open_printer(url)
        else:
            parse_serial_url(url)


def test_one_message_serves_every_device() -> None:
    # The lanes' and the printer's tests each pinned their own wording; the grammar's
    # messages carry both.
    with pytest.raises(GateURLError) as lane:
        parse_serial_lane_url("serial:///dev/ttyUSB0?baud=fast")
    with pytest.raises(PrinterConfigError) as printer:
        open_printer("serial:///dev/ttyUSB0?baud=fast")
    for text in (str(lane.value), str(printer.value)):
        assert "baud must be a whole number" in text and "baud must be a number" in text
    with pytest.raises(SerialURLError, match="no serial device path") as empty:
        LineURL("serial://")
    assert "no device path" in str(empty.value)


def test_device_errors_are_serial_url_errors() -> None:
    for parse in (parse_serial_lane_url, parse_serial_url):
        with pytest.raises(SerialURLError):
            parse("/dev/ttyUSB0?bauds=9600")


def test_repeated_options_take_the_last_and_pyserial_options_pass_through() -> None:
    s = parse_line_url("socket://h:1?baud=1200&baud=2400&logging=debug&timeout=/x:1")
    assert (s.url, s.baudrate) == ("socket://h:1?logging=debug&timeout=/x:1", 2400)
    assert not s.is_local and parse_line_url("/dev/x").is_local
