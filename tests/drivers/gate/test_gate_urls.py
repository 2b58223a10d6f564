"""Lane device URLs from the site file: what each form means, and clear errors for bad
ones (caught at start-up, before any port is touched)."""

from __future__ import annotations

import pytest
import serial

from drivers.gate import LaneRole, open_gate
from drivers.gate.factory import GateURLError
from drivers.gate.modbus_driver import ModbusRelayGate
from drivers.gate.serial_driver import SerialGate
from drivers.gate.simulated import InProcessGate
from drivers.gate.urls import parse_modbus_url, parse_serial_lane_url, plates_option


def test_local_serial_forms() -> None:
    a = parse_serial_lane_url("/dev/ttyUSB0?baud=19200&rs485=1")
    assert a.port.url == "/dev/ttyUSB0" and a.port.baudrate == 19200 and a.port.rs485
    assert a.port.is_local
    b = parse_serial_lane_url("serial:///dev/serial/by-id/usb-FTDI_lane1-if00?parity=E&stopbits=2&bytesize=7")
    assert b.port.url == "/dev/serial/by-id/usb-FTDI_lane1-if00"
    assert (b.port.parity, b.port.stopbits, b.port.bytesize) == (serial.PARITY_EVEN, 2, 7)
    assert b.port.baudrate == 9600 and not b.port.rs485
    c = parse_serial_lane_url("/dev/ttyS1?heartbeat=0.5&heartbeat_timeout=2&ack_timeout=0.1&retries=5&barrier_timeout=8")
    assert (c.heartbeat, c.heartbeat_timeout, c.ack_timeout, c.retries, c.barrier_timeout) == (0.5, 2.0, 0.1, 5, 8.0)


def test_network_forms_pass_pyserial_options_through() -> None:
    a = parse_serial_lane_url("socket://10.0.0.7:4001?heartbeat_timeout=5&logging=debug")
    assert a.port.url == "socket://10.0.0.7:4001?logging=debug" and a.heartbeat_timeout == 5.0
    assert not a.port.is_local
    b = parse_serial_lane_url("rfc2217://10.0.0.7:4002?baud=9600")
    assert b.port.url == "rfc2217://10.0.0.7:4002" and b.port.baudrate == 9600
    c = parse_serial_lane_url("spy:///dev/ttyUSB0?file=trace.txt&baud=19200")
    assert c.port.url == "spy:///dev/ttyUSB0?file=trace.txt" and c.port.baudrate == 19200


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/dev/ttyUSB0?baud=fast", "baud must be a whole number"),
        ("/dev/ttyUSB0?baud=0", "baud must be within"),
        ("/dev/ttyUSB0?bauds=9600", "unknown option(s) bauds"),
        ("/dev/ttyUSB0?parity=X", "parity must be N, E or O"),
        ("/dev/ttyUSB0?stopbits=3", "stopbits"),
        ("/dev/ttyUSB0?rs485=maybe", "rs485 must be 1 or 0"),
        ("/dev/ttyUSB0?heartbeat=-1", "heartbeat must be greater than 0"),
        ("/dev/ttyUSB0?ack_timeout=nan", "finite"),
        ("/dev/ttyUSB0?heartbeat=2&heartbeat_timeout=1", "heartbeat_timeout must be longer"),
        ("serial://", "no serial device path"),
        ("socket://?baud=9600", "needs host:port"),
        ("ftp://lane1", "unsupported lane device URL scheme"),
    ],
)
def test_bad_serial_urls(url: str, message: str) -> None:
    with pytest.raises(GateURLError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_serial_lane_url(url)


def test_modbus_forms() -> None:
    m = parse_modbus_url(
        "modbus-rtu:///dev/ttyUSB1?baud=9600&unit=3&open_coil=2&close_coil=3&loop_input=4&open_limit=5&closed_limit=6&pulse=0.8"
    )
    assert m.port.url == "/dev/ttyUSB1" and m.unit == 3
    assert (m.open_coil, m.close_coil, m.loop_input, m.open_limit, m.closed_limit, m.fault_input) == (2, 3, 4, 5, 6, None)
    assert m.pulse == 0.8 and m.plates is None
    n = parse_modbus_url("modbus-rtu+socket://10.0.0.8:4001?closed_limit=none&plates=" + plates_option("/dev/ttyUSB2?baud=19200"))
    assert n.port.url == "socket://10.0.0.8:4001" and n.closed_limit is None
    assert n.plates == "/dev/ttyUSB2?baud=19200"
    assert parse_modbus_url("modbus-rtu+rfc2217://h:1").port.url == "rfc2217://h:1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("modbus-rtu:///dev/ttyUSB1?unit=0", "unit must be within 1..247"),
        ("modbus-rtu:///dev/ttyUSB1?open_coil=1&close_coil=1", "open_coil and close_coil must differ"),
        ("modbus-rtu:///dev/ttyUSB1?loop_input=2&open_limit=2", "must differ"),
        ("modbus-rtu:///dev/ttyUSB1?loop_input=0&fault_input=5000", "within 2000 addresses"),
        ("modbus-rtu:///dev/ttyUSB1?open_coil=-1", "open_coil must be within"),
        ("modbus-rtu:///dev/ttyUSB1?pulse=0", "pulse must be greater than 0"),
        ("modbus-rtu:///dev/ttyUSB1?plates=ftp://x", "unsupported lane device URL scheme"),
        ("modbus-rtu:///dev/ttyUSB1?coil=1", "unknown option(s) coil"),
        ("modbus-tcp://10.0.0.8:502", "unsupported lane device URL scheme"),
    ],
)
def test_bad_modbus_urls(url: str, message: str) -> None:
    with pytest.raises(GateURLError, match=message.replace("(", r"\(").replace(")", r"\)")):
        (parse_modbus_url if url.startswith("modbus-rtu") else parse_serial_lane_url)(url)


def test_open_gate_routes_by_scheme_without_touching_ports() -> None:
    role = LaneRole.ENTRY
    assert isinstance(open_gate("sim://?timing=fast", name="a", role=role), InProcessGate)
    for url in ("/dev/ttyUSB0?baud=9600", "serial:///dev/ttyUSB0", "socket://127.0.0.1:1", "rfc2217://127.0.0.1:2"):
        assert isinstance(open_gate(url, name="b", role=role), SerialGate)
    drv = open_gate("modbus-rtu:///dev/ttyUSB1?unit=1&open_coil=0&loop_input=0", name="c", role=role)
    assert isinstance(drv, ModbusRelayGate) and drv.plates is None
    with pytest.raises(GateURLError):
        open_gate("modbus-rtu:///dev/ttyUSB1?unit=999", name="d", role=role)
    with pytest.raises(GateURLError):
        open_gate("gopher://lane", name="e", role=role)
