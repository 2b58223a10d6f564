"""E-bike pile protocol and driver over a real pseudo-terminal."""

from __future__ import annotations

import threading
import time
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.charger import PlugChanged, PortsReported, PowerDone, open_epile
from drivers.charger.epile_protocol import (
    Cmd,
    Decoder,
    Frame,
    PortStatus,
    ProtocolError,
    crc16_modbus,
    decode_status,
    encode,
    encode_status,
)
from drivers.charger.epile_sim import EPileSimulator
from drivers.health import HealthState


class Events:
    def __init__(self) -> None:
        self.items: list[object] = []
        self._cv = threading.Condition()

    def __call__(self, event: object) -> None:
        with self._cv:
            self.items.append(event)
            self._cv.notify_all()

    def wait(self, predicate: Callable[[object], bool], timeout: float = 5.0) -> object:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for item in self.items:
                    if predicate(item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("event not seen in time")
                self._cv.wait(left)


def test_crc_matches_the_modbus_check_value() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37


def test_frame_bytes_are_exact() -> None:
    data = encode(Frame(1, Cmd.POLL))
    assert data[:4] == bytes((0x02, 0x01, 0x01, 0x00))
    assert data[4:] == crc16_modbus(bytes((1, 1, 0))).to_bytes(2, "little")


def test_decoder_skips_noise_and_bad_crc() -> None:
    good = encode(Frame(3, Cmd.STATUS, encode_status([PortStatus(1, True, True, 17_000, 42)])))
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    d = Decoder()
    frames = d.feed(b"\x00\xff" + bytes(bad) + good[:5])
    assert frames == []
    frames = d.feed(good[5:])
    assert len(frames) == 1 and decode_status(frames[0].payload) == [PortStatus(1, True, True, 17_000, 42)]
    assert d.rejected >= 2


def test_false_start_byte_is_dropped_once_enough_bytes_show_it_wrong() -> None:
    good = encode(Frame(3, Cmd.STATUS, encode_status([PortStatus(1, True, True, 17_000, 42)])))
    d = Decoder()
    # A stray STX makes the decoder wait for a frame it announced; the CRC then fails,
    # it resynchronises and finds the real frames behind it.
    frames = d.feed(b"\x02" + good * 12)
    assert len(frames) >= 10


def test_status_with_wrong_length_is_refused() -> None:
    with pytest.raises(ProtocolError):
        decode_status(bytes((2,)) + b"\x00" * 8)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_never_crashes_on_garbage(data: bytes) -> None:
    for frame in Decoder().feed(data):
        assert 0 <= frame.cmd <= 255


@pytest.fixture
def pile() -> EPileSimulator:
    sim = EPileSimulator(ports=4, address=7).start()
    yield sim
    sim.stop()


def test_driver_polls_powers_and_reads_energy(pile: EPileSimulator) -> None:
    events = Events()
    health: list[object] = []
    driver = open_epile("A", pile.url, address=7, poll_interval=0.05)
    driver.start(events, health.append)
    try:
        events.wait(lambda e: isinstance(e, PortsReported) and len(e.ports) == 4)
        pile.plug(2)
        events.wait(lambda e: isinstance(e, PlugChanged) and e.port == 2 and e.plugged)
        driver.set_power(2, True)
        done = events.wait(lambda e: isinstance(e, PowerDone) and e.port == 2)
        assert isinstance(done, PowerDone) and done.ok
        reading = events.wait(
            lambda e: isinstance(e, PortsReported) and e.ports[1].powered and e.ports[1].current_ma == 17_000 and e.ports[1].energy_wh >= 1,
            timeout=5,
        )
        assert isinstance(reading, PortsReported)
        driver.set_power(3, True)  # nothing plugged on port 3
        refused = events.wait(lambda e: isinstance(e, PowerDone) and e.port == 3)
        assert isinstance(refused, PowerDone) and not refused.ok and "plugged" in refused.detail
        assert driver.health.snapshot().state is HealthState.OK
    finally:
        driver.stop()


def test_silent_pile_goes_offline_and_comes_back(pile: EPileSimulator) -> None:
    events = Events()
    driver = open_epile("B", pile.url, address=7, poll_interval=0.05, reply_timeout=0.05)
    driver.start(events)
    try:
        events.wait(lambda e: isinstance(e, PortsReported))
        pile.silent = True
        deadline = time.monotonic() + 5
        while driver.health.snapshot().state is not HealthState.OFFLINE:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        pile.silent = False
        while driver.health.snapshot().state is not HealthState.OK:
            assert time.monotonic() < deadline + 5
            time.sleep(0.02)
    finally:
        driver.stop()


def test_missing_device_reports_offline_without_crashing() -> None:
    driver = open_epile("C", "/dev/does-not-exist-epile", poll_interval=0.05, reconnect_max=0.05)
    driver.start(lambda e: None)
    try:
        deadline = time.monotonic() + 3
        while driver.health.snapshot().state is not HealthState.OFFLINE:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert "cannot open" in driver.health.snapshot().detail
    finally:
        driver.stop()
