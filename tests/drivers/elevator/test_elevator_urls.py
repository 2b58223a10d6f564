"""Elevator controller URLs: line settings split off, bad URLs refused clearly."""

from __future__ import annotations

import pytest
import serial

from drivers.elevator import ElevatorURLError, SimulatedElevator, open_elevator
from drivers.elevator.serial_link import SerialElevator, parse_serial_url


def test_device_path_with_line_settings() -> None:
    s = parse_serial_url("/dev/ttyUSB2?baud=19200&parity=e&stopbits=2&bytesize=7&rs485=1")
    assert s.port_url == "/dev/ttyUSB2"
    assert (s.baudrate, s.parity, s.stopbits, s.bytesize, s.rs485) == (
        19200,
        serial.PARITY_EVEN,
        serial.STOPBITS_TWO,
        7,
        True,
    )


def test_defaults_are_9600_8n1() -> None:
    s = parse_serial_url("/dev/ttyUSB2")
    assert (s.port_url, s.baudrate, s.parity, s.stopbits, s.bytesize, s.rs485) == (
        "/dev/ttyUSB2",
        9600,
        "N",
        1,
        8,
        False,
    )


def test_socket_url_keeps_pyserial_options() -> None:
    s = parse_serial_url("socket://127.0.0.1:4001?logging=debug&baud=9600")
    assert s.port_url == "socket://127.0.0.1:4001?logging=debug"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "/dev/ttyUSB2?baud=fast",
        "/dev/ttyUSB2?baud=0",
        "/dev/ttyUSB2?parity=X",
        "/dev/ttyUSB2?stopbits=3",
        "/dev/ttyUSB2?bytesize=9",
        "/dev/ttyUSB2?speed=9600",
        "ftp://example/port",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ElevatorURLError):
        open_elevator(url)


@pytest.mark.parametrize(
    "url",
    [
        "sim://?cars=0",
        "sim://?rate=-1",
        "sim://?cars=two",
        "sim://?colour=red",
        "sim://?lowest=5&highest=2",
        "sim://?lobby=0",
    ],
)
def test_bad_sim_urls_are_refused(url: str) -> None:
    with pytest.raises(ElevatorURLError):
        open_elevator(url)


def test_factory_picks_the_implementation() -> None:
    assert isinstance(open_elevator("/dev/ttyUSB2?baud=9600"), SerialElevator)
    sim = open_elevator("sim://?cars=3&lowest=-1&highest=5&timing=fast&seed=1")
    assert isinstance(sim, SimulatedElevator)
    try:
        assert sorted(sim.simulator.cars) == [1, 2, 3]
        assert sim.simulator.floors == [-1, 1, 2, 3, 4, 5]
    finally:
        sim.stop()
