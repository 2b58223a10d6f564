"""Garbage on the line: random, truncated, oversize, badly escaped and CRC-corrupted
frames, and well-formed frames with impossible content, in bursts through a real pty
into the real driver, mixed with real traffic.

What must hold: no crash, the link stays up, every rejected frame is counted, garbage
never becomes an event, and the only OPEN commands on the wire are the ones the
responder sent for real plate reads.

Whether a piece of garbage would pass the framing is decided by an oracle written here
from the protocol document (its own unescape and bit-by-bit CRC), not by the code under
test; the rare random piece the oracle finds valid is drawn again.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable

import pytest

from drivers.gate.base import GateEventKind as K
from drivers.gate.protocol import MsgType
from drivers.health import HealthState

STX, ETX, DLE = 0x02, 0x03, 0x10
INSIDE = bytes(b for b in range(256) if b not in (STX, ETX))  # may appear inside a frame
RELIABLE_KINDS = [0x01, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27]


def ref_crc(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def ref_escape(body: bytes) -> bytes:
    out = bytearray()
    for b in body:
        out += bytes((DLE, b ^ 0x20)) if b in (STX, ETX, DLE) else bytes((b,))
    return bytes(out)


def ref_frame(seq: int, kind: int, payload: bytes) -> bytes:
    head = bytes((seq, kind, len(payload))) + payload
    crc = ref_crc(head)
    return bytes((STX,)) + ref_escape(head + bytes((crc >> 8, crc & 0xFF))) + bytes((ETX,))


def oracle_passes_framing(content: bytes) -> bool:
    """Would these bytes between STX and ETX pass unescaping, length and CRC checks?"""
    body = bytearray()
    i = 0
    while i < len(content):
        b = content[i]
        if b == DLE:
            if i + 1 >= len(content) or content[i + 1] not in (0x22, 0x23, 0x30):
                return False
            body.append(content[i + 1] ^ 0x20)
            i += 2
            continue
        body.append(b)
        i += 1
    if not 5 <= len(body) <= 37 or body[2] != len(body) - 5:
        return False
    return ref_crc(bytes(body[:-2])) == (body[-2] << 8 | body[-1])


def random_inside(rng: random.Random, n: int) -> bytes:
    return bytes(rng.choice(INSIDE) for _ in range(n))


def valid_frame(rng: random.Random) -> bytes:
    payload = random_inside(rng, rng.randrange(0, 20))
    return ref_frame(rng.randrange(1, 256), rng.choice(RELIABLE_KINDS), payload)


def g_random(rng: random.Random) -> bytes:
    return bytes((STX,)) + random_inside(rng, rng.randrange(0, 60)) + bytes((ETX,))


def g_bad_crc(rng: random.Random) -> bytes:
    frame = bytearray(valid_frame(rng))
    # Rebuild with a wrong CRC (any non-zero error pattern).
    content = frame[1:-1]
    body = bytearray()
    i = 0
    while i < len(content):
        if content[i] == DLE:
            body.append(content[i + 1] ^ 0x20)
            i += 2
        else:
            body.append(content[i])
            i += 1
    crc = (body[-2] << 8 | body[-1]) ^ rng.randrange(1, 0x10000)
    body[-2:] = bytes((crc >> 8, crc & 0xFF))
    return bytes((STX,)) + ref_escape(bytes(body)) + bytes((ETX,))


def g_flipped_bit(rng: random.Random) -> bytes:
    frame = bytearray(valid_frame(rng))
    while True:
        pos = rng.randrange(1, len(frame) - 1)
        flipped = frame[pos] ^ (1 << rng.randrange(8))
        if flipped not in (STX, ETX):
            frame[pos] = flipped
            return bytes(frame)


def g_truncated(rng: random.Random) -> bytes:
    frame = valid_frame(rng)
    return frame[: rng.randrange(1, len(frame) - 1)]  # no ETX: the next STX cuts it


def g_oversize(rng: random.Random) -> bytes:
    return bytes((STX,)) + random_inside(rng, rng.randrange(80, 400)) + bytes((ETX,))


def g_bad_escape(rng: random.Random) -> bytes:
    frame = bytearray(valid_frame(rng))
    pos = rng.randrange(1, len(frame) - 1)
    bad = rng.choice([b for b in INSIDE if b not in (0x22, 0x23, 0x30)])
    frame[pos:pos] = bytes((DLE, bad))
    return bytes(frame)


BAD_CONTENT = [
    (0x7E, b""),  # unknown type
    (0x40, b""),  # OPEN: a controller never sends it
    (0x23, b"\xc8AB12"),  # confidence 200
    (0x23, b"\x50"),  # PLATE_READ without a plate
    (0x23, b"\x50\xff\xfe\xfd"),  # plate not UTF-8
    (0x23, b"\x50AB\x0712"),  # control character in the plate
    (0x20, b"\x01"),  # VEHICLE_PRESENT with a payload
    (0x27, b"\x06"),  # STATUS with both limit switches
    (0x01, b"\x09"),  # HELLO, unknown protocol version
    (0x26, b""),  # BARRIER_FAULT without a code
]


def g_bad_content(rng: random.Random) -> bytes:
    # SEQ 0 is never used for reliable frames, so the NAK it earns cannot be taken
    # for an answer to a real frame of the controller.
    kind, payload = rng.choice(BAD_CONTENT)
    return ref_frame(0, kind, payload)


GENERATORS: list[tuple[str, Callable[[random.Random], bytes]]] = [
    ("random", g_random),
    ("bad_crc", g_bad_crc),
    ("flipped_bit", g_flipped_bit),
    ("truncated", g_truncated),
    ("oversize", g_oversize),
    ("bad_escape", g_bad_escape),
    ("bad_content", g_bad_content),
]


def garbage(rng: random.Random) -> tuple[str, bytes]:
    name, gen = rng.choice(GENERATORS)
    while True:
        item = gen(rng)
        if name in ("bad_content", "truncated", "oversize"):
            return name, item
        if not oracle_passes_framing(item[1:-1]):
            return name, item


NOISE = bytes(b for b in range(256) if b not in (STX, ETX))


def noise(rng: random.Random) -> bytes:
    """Bytes between frames: counted as noise, not as frames. No STX, and no ETX either:
    after a truncated frame, noise plus an ETX would make a new (random) frame."""
    return bytes(rng.choice(NOISE) for _ in range(rng.randrange(1, 12)))


def run_fuzz(serial_lane: Any, total: int, seed: int) -> None:
    rng = random.Random(seed)
    sim, driver, rec = serial_lane(open_on_plate=True)
    commands_on_wire: list[tuple[int, int]] = []  # (SEQ, TYPE) of reliable frames from the console
    sim.trace = (
        lambda d, frame, t: commands_on_wire.append((frame.seq, frame.kind))
        if d == "rx" and frame.kind not in (MsgType.ACK, MsgType.NAK, MsgType.HEARTBEAT)
        else None
    )
    rec.wait_event(K.BARRIER_CLOSED)
    base_rejects = driver.health_snapshot().counters.get("rejected_frames", 0)

    sent = 0
    kinds: dict[str, int] = {}
    plates: list[str] = []
    started = time.monotonic()
    while sent < total:
        burst = bytearray()
        for _ in range(min(rng.randrange(1, 60), total - sent)):
            if rng.random() < 0.2:
                burst += noise(rng)
            name, item = garbage(rng)
            kinds[name] = kinds.get(name, 0) + 1
            burst += item
            sent += 1
        assert sim.send_raw(bytes(burst))
        if rng.random() < 0.3:
            plates.append(f"FZ{len(plates):05d}")
            sim.arrive(plates[-1])
        if rng.random() < 0.1:
            # Keep the backlog small: the console must keep up, not the pty buffer.
            rec.wait_for(
                lambda: driver.health_snapshot().counters.get("rejected_frames", 0) - base_rejects >= sent - 1,
                timeout=20,
                what="driver caught up",
            )

    # The last piece may be a truncated frame: the inter-byte timeout retires it.
    rec.wait_for(
        lambda: driver.health_snapshot().counters.get("rejected_frames", 0) - base_rejects == sent,
        timeout=20,
        what=f"{sent} rejected frames counted",
    )
    rec.wait_for(lambda: len(rec.kinds(K.VEHICLE_PASSED)) == len(plates), timeout=30, what="all vehicles through")
    elapsed = time.monotonic() - started
    health = driver.health_snapshot()
    print(
        f"\n{sent} garbage frames ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), "
        f"{len(plates)} real vehicles, {elapsed:.1f} s; driver counters {health.counters}"
    )

    assert health.counters["rejected_frames"] - base_rejects == sent
    assert driver.last_rejection  # the reason is kept for diagnostics
    assert health.counters.get("naks_sent", 0) == kinds.get("bad_content", 0)
    assert [e.plate for e in rec.kinds(K.PLATE_READ)] == plates
    # Stop-and-wait: a retransmission repeats the frame just before it.
    distinct = [c for i, c in enumerate(commands_on_wire) if i == 0 or c != commands_on_wire[i - 1]]
    opens = [c for c in distinct if c[1] == MsgType.OPEN]
    assert len(opens) == len(plates)  # no OPEN without a real plate read
    assert [k for _, k in sim.executed] == [MsgType.OPEN] * len(plates)
    assert rec.kinds(K.BARRIER_FAULT) == [] and rec.kinds(K.COMMAND_FAILED) == []
    assert driver.link_up and health.state in (HealthState.OK, HealthState.DEGRADED)
    assert health.counters.get("heartbeats_lost", 0) == 0


def test_fuzz_5000_frames(serial_lane: Any) -> None:
    run_fuzz(serial_lane, 5_000, seed=20261121)


@pytest.mark.slow
def test_fuzz_100000_frames(serial_lane: Any) -> None:
    run_fuzz(serial_lane, 100_000, seed=7)
