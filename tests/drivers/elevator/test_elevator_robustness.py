"""Line noise, cut frames and a cable pulled out: counted, survived, no invented events."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from drivers.elevator import FAST_TIMING, ElevatorSimulator, LinkTiming, SerialElevator
from drivers.elevator import ElevatorEventKind as K
from drivers.elevator.protocol import (
    SYNC,
    BodyError,
    FrameDecoder,
    MsgType,
    body_car_floor,
    body_card_swiped,
    decode_body,
    encode_frame,
)
from drivers.health import HealthState


def garbage(rng: random.Random) -> tuple[bytes, bool]:
    """One piece of junk a noisy line produces; True when it starts like a frame."""
    kind = rng.randrange(4)
    if kind == 0:  # random bytes
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))), False
    frame = encode_frame(rng.randrange(256), rng.choice([0x10, 0x11, 0x12, 0x13]), body_card_swiped(1, 3, "01020304"))
    if kind == 1:  # a frame cut short
        return frame[: rng.randint(2, len(frame) - 1)], True
    if kind == 2:  # a frame with one byte damaged after the sync
        pos = rng.randrange(2, len(frame))
        damaged = bytearray(frame)
        damaged[pos] ^= 1 << rng.randrange(8)
        return bytes(damaged), True
    return SYNC + bytes([rng.randint(65, 255)]) + bytes(rng.getrandbits(8) for _ in range(3)), True  # impossible length


EVENT_TYPES = {
    MsgType.CARD_SWIPED: K.CARD_SWIPED,
    MsgType.CAR_ARRIVED: K.CAR_ARRIVED,
    MsgType.DOORS_OPENED: K.DOORS_OPENED,
    MsgType.DOORS_CLOSED: K.DOORS_CLOSED,
}


def events_on_the_wire(wire: bytes) -> list[tuple[K, int, int]]:
    """The events a correct receiver finds in these exact bytes (repeats dropped).

    Noise can, rarely, complete a cut frame into a valid one (CRC-16 lets 1 in 65536
    random tails through); such a frame is on the wire, and reporting it is right.
    """
    decoder = FrameDecoder()
    packets = decoder.feed(wire, 0.0)
    t = 1.0
    while decoder.pending:
        packets += decoder.feed(b"", t)
        t += 1.0
    events: list[tuple[K, int, int]] = []
    recent: deque[tuple[int, int, bytes]] = deque(maxlen=16)
    for p in packets:
        if p.msg_type not in EVENT_TYPES:
            continue
        try:
            msg = decode_body(p)
        except BodyError:
            continue
        key = (p.seq, p.msg_type, p.body)
        if key in recent:
            continue
        recent.append(key)
        events.append((EVENT_TYPES[MsgType(p.msg_type)], msg.car, msg.floor))
    return events


def run_fuzz(n_garbage: int, n_events: int, seed: int, new_recorder: Callable[[], Any]) -> int:
    """Noise between scripted events; returns how many events the noise itself formed."""
    rng = random.Random(seed)
    sim = ElevatorSimulator(cars=1, lowest=1, highest=20, timing=FAST_TIMING, seed=seed)
    rec = new_recorder()
    drv = SerialElevator("fuzz", sim.url, LinkTiming(degraded_hold=0.5))
    sim.start()
    drv.start(rec.on_event, rec.on_health)
    try:
        assert rec.wait_for(lambda: drv.health_snapshot().state is HealthState.OK, 5.0)
        sim.record_wire()
        expected = []
        framelike = 0
        per_event = n_garbage // n_events
        for i in range(n_events):
            for _ in range(per_event):
                chunk, starts_like_frame = garbage(rng)
                framelike += starts_like_frame
                sim.send_raw(chunk)
            floor = 1 + i % 20
            sim.send_packet(MsgType.DOORS_OPENED, body_car_floor(1, floor), want_ack=True)
            expected.append((K.DOORS_OPENED, 1, floor))
        assert sim.wait_idle(timeout=120)
        assert rec.wait_for(lambda: len(rec.rides()) >= n_events, 10.0)
        time.sleep(0.7)  # let any bogus header go stale and give late events a chance to show
        got = [(e.kind, e.car, e.floor) for e in rec.rides()]
        assert sim.wire is not None
        assert got == events_on_the_wire(bytes(sim.wire))  # nothing invented, nothing lost
        # Every scripted event arrived, in order, once.
        it = iter(got)
        assert all(e in it for e in expected)
        h = drv.health
        assert h.counter("rejected_frames") >= framelike * 0.9
        assert h.counter("discarded_bytes") > 0
        assert any(r.state is HealthState.DEGRADED for r in rec.health)
        assert rec.wait_for(lambda: drv.health_snapshot().state is HealthState.OK, 3.0)
        assert sim.stats.given_up == 0
        return len(got) - len(expected)
    finally:
        drv.stop()
        sim.stop()


def test_fuzz_noise_between_events(new_recorder: Callable[[], Any]) -> None:
    formed_by_noise = run_fuzz(n_garbage=3000, n_events=30, seed=1, new_recorder=new_recorder)
    assert formed_by_noise <= 1


@pytest.mark.slow
def test_fuzz_noise_between_events_long(new_recorder: Callable[[], Any]) -> None:
    formed = sum(run_fuzz(n_garbage=20000, n_events=200, seed=seed, new_recorder=new_recorder) for seed in range(2, 6))
    assert formed <= 8  # about 1 in 65536 damaged frames passes a CRC-16 by chance


def test_pure_noise_invents_nothing(building: ElevatorSimulator, driver: SerialElevator, recorder: Any) -> None:
    rng = random.Random(99)
    building.record_wire()
    for _ in range(3000):
        building.send_raw(garbage(rng)[0])
    assert building.wait_idle(timeout=30)
    time.sleep(0.7)
    assert building.wire is not None
    assert events_on_the_wire(bytes(building.wire)) == []  # this noise happens to form no frame
    assert recorder.rides() == []
    assert driver.health.counter("rejected_frames") > 1000
    assert driver.health.counter("events") == 1  # the start-up HELLO only


def test_unplug_and_replug_reconnects_within_two_seconds(
    building: ElevatorSimulator, driver: SerialElevator, recorder: Any, wait_health: Callable[..., float]
) -> None:
    building.swipe(1, "01010101", 2)
    recorder.wait_events(4)
    for _ in range(3):
        building.unplug()
        wait_health(driver, HealthState.OFFLINE, 2.0)
        time.sleep(0.3)  # the cable stays out for a moment
        replugged = time.monotonic()
        building.replug()
        took = wait_health(driver, HealthState.OK, 5.0)
        assert took < 2.0, f"reconnect took {took:.2f} s"
        assert time.monotonic() - replugged < 2.0
    assert driver.health.counter("reconnects") == 3
    building.swipe(2, "02020202", 7)
    events = recorder.wait_events(8)
    assert [(e.kind, e.car, e.floor) for e in events[4:]] == [
        (K.CARD_SWIPED, 2, 7),
        (K.CAR_ARRIVED, 2, 7),
        (K.DOORS_OPENED, 2, 7),
        (K.DOORS_CLOSED, 2, 7),
    ]


def test_events_while_unplugged_are_lost_not_invented(
    building: ElevatorSimulator, driver: SerialElevator, recorder: Any, wait_health: Callable[..., float]
) -> None:
    building.unplug()
    wait_health(driver, HealthState.OFFLINE, 2.0)
    building.swipe(1, "0BADCAFE", 4)  # nobody listens: the controller gives up after its repeats
    assert building.wait_idle(timeout=10)
    building.replug()
    wait_health(driver, HealthState.OK, 3.0)
    building.swipe(1, "0C0FFEE0", 2)
    events = recorder.wait_events(4)
    assert [e.card for e in events if e.kind is K.CARD_SWIPED] == ["0C0FFEE0"]
    assert building.stats.given_up >= 4
