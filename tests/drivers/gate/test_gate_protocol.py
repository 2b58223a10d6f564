"""Lane protocol codec: exact bytes, the CRC worked example of docs/gate-protocol.md,
escaping, resynchronisation and every kind of rejection."""

from __future__ import annotations

import pytest

from drivers.gate.protocol import (
    CONSOLE_SENDS,
    CONTROLLER_SENDS,
    MAX_PAYLOAD,
    Deframer,
    FaultCode,
    Frame,
    FrameError,
    MsgType,
    NakCode,
    PayloadError,
    PlateRead,
    Status,
    check_payload,
    crc16,
    decode_body,
    decode_fault,
    decode_plate_read,
    decode_status,
    escape,
    fault_payload,
    plate_read_payload,
    unescape,
)


def reference_crc(data: bytes) -> int:
    """CRC-16/CCITT-FALSE bit by bit, exactly as the protocol document describes it."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def test_crc_check_value_and_reference() -> None:
    assert crc16(b"123456789") == 0x29B1
    assert reference_crc(b"123456789") == 0x29B1
    for data in (b"", b"\x00", b"\xff" * 40, bytes(range(256))):
        assert crc16(data) == reference_crc(data)


def test_worked_example_plate_read() -> None:
    # The example of the protocol document, byte for byte.
    frame = Frame(0x07, MsgType.PLATE_READ, plate_read_payload("AB1234C", 0.97))
    assert frame.body().hex(" ").upper() == "07 23 08 61 41 42 31 32 33 34 43 58 04"
    assert reference_crc(bytes.fromhex("07 23 08 61 41 42 31 32 33 34 43")) == 0x5804
    assert frame.encode() == bytes.fromhex("02 07 23 08 61 41 42 31 32 33 34 43 58 04 03")


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (Frame(0x2A, MsgType.OPEN), "02 2A 40 00 80 57 03"),
        (Frame(0x2B, MsgType.CLOSE), "02 2B 41 00 84 56 03"),
        (Frame(0x07, MsgType.ACK), "02 07 06 00 E3 AA 03"),
        (Frame(0x00, MsgType.HEARTBEAT), "02 00 05 00 33 69 03"),
        (Frame(0x01, MsgType.HELLO, b"\x01"), "02 01 01 01 01 E6 54 03"),
        # SEQ 0x10 is DLE: escaped as 10 30.
        (Frame(0x10, MsgType.OPEN), "02 10 30 40 00 82 33 03"),
        # NAK "vehicle on loop": the reason 0x10 is escaped too.
        (Frame(0x09, MsgType.NAK, bytes([NakCode.REFUSED_VEHICLE_ON_LOOP])), "02 09 15 01 10 30 FE 24 03"),
        # SEQ 0x03 is ETX: escaped as 10 23.
        (Frame(0x03, MsgType.STATUS, b"\x04"), "02 10 23 27 01 04 6F FF 03"),
        # A CRC byte of 0x03 is escaped like any other.
        (Frame(0x69, MsgType.BARRIER_OPENED), "02 69 24 00 10 23 44 03"),
    ],
)
def test_exact_wire_bytes(frame: Frame, wire: str) -> None:
    raw = bytes.fromhex(wire)
    assert frame.encode() == raw
    parts = Deframer().feed(raw)
    assert len(parts) == 1 and isinstance(parts[0], bytes)
    assert decode_body(parts[0]) == frame


def test_escape_roundtrip_of_every_byte() -> None:
    body = bytes(range(256))
    escaped = escape(body)
    assert 0x02 not in escaped and 0x03 not in escaped
    assert unescape(escaped) == body


def test_deframer_splits_resyncs_and_counts_noise() -> None:
    a = Frame(1, MsgType.VEHICLE_PRESENT).encode()
    b = Frame(2, MsgType.BARRIER_OPENED).encode()
    d = Deframer()
    out = d.feed(b"\xaa\xbb" + a[:4])  # noise, then half a frame
    assert out == [] and d.partial and d.noise_bytes == 2
    out = d.feed(a[4:] + b"\x00" + b)
    assert [decode_body(x) for x in out if isinstance(x, bytes)] == [Frame(1, MsgType.VEHICLE_PRESENT), Frame(2, MsgType.BARRIER_OPENED)]
    assert d.noise_bytes == 3
    # A frame cut short by the next STX is rejected; the next frame survives.
    out = d.feed(a[:5] + b)
    assert isinstance(out[0], FrameError) and "cut short" in str(out[0])
    assert decode_body(out[1]) == Frame(2, MsgType.BARRIER_OPENED)  # type: ignore[arg-type]


def test_deframer_byte_by_byte_equals_whole() -> None:
    stream = b"".join(Frame(i, MsgType.PLATE_READ, plate_read_payload(f"K{i:03d}", 0.5)).encode() for i in range(1, 40))
    d1, d2 = Deframer(), Deframer()
    whole = d1.feed(stream)
    pieces: list[bytes | FrameError] = []
    for i in range(len(stream)):
        pieces += d2.feed(stream[i : i + 1])
    assert whole == pieces and len(whole) == 39


def test_deframer_drops_runaway_frame() -> None:
    d = Deframer()
    out = d.feed(b"\x02" + b"\x41" * 500)
    assert len(out) == 1 and "too long" in str(out[0])
    assert not d.partial
    out = d.feed(b"\x41" * 10 + Frame(5, MsgType.VEHICLE_GONE).encode())
    assert decode_body(out[0]) == Frame(5, MsgType.VEHICLE_GONE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "too short"),
        (b"\x01\x20\x00\x00", "too short"),
        (b"\x01\x20\x05" + b"\x00\x00", "length"),
        (bytes.fromhex("2A 40 00 80 58"), "CRC"),
        (bytes.fromhex("2A 40 00 80") + b"\x10", "escape"),
        (bytes.fromhex("2A 40 00 80 10 41"), "escape"),
        (b"\x01" * 200, "too long"),
    ],
)
def test_decode_body_rejections(content: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        decode_body(content)


def test_check_payload_rules() -> None:
    ok = Frame(3, MsgType.PLATE_READ, plate_read_payload("京A12345", 0.9))
    assert check_payload(ok, CONTROLLER_SENDS) is MsgType.PLATE_READ
    assert decode_plate_read(ok.payload) == PlateRead("京A12345", 0.9)
    bad = [
        (Frame(3, 0x7E), NakCode.UNKNOWN_TYPE),
        (Frame(3, MsgType.OPEN), NakCode.UNKNOWN_TYPE),  # a controller does not send OPEN
        (Frame(3, MsgType.PLATE_READ, b"\xc8AB12"), NakCode.BAD_PAYLOAD),  # confidence 200
        (Frame(3, MsgType.PLATE_READ, b"\x50"), NakCode.BAD_PAYLOAD),  # no plate
        (Frame(3, MsgType.PLATE_READ, b"\x50\xff\xfe"), NakCode.BAD_PAYLOAD),  # not UTF-8
        (Frame(3, MsgType.PLATE_READ, b"\x50AB\n12"), NakCode.BAD_PAYLOAD),  # control char
        (Frame(3, MsgType.PLATE_READ, b"\x50   "), NakCode.BAD_PAYLOAD),  # blank
        (Frame(3, MsgType.VEHICLE_PRESENT, b"\x00"), NakCode.BAD_PAYLOAD),
        (Frame(3, MsgType.STATUS, b""), NakCode.BAD_PAYLOAD),
        (Frame(3, MsgType.STATUS, b"\x06"), NakCode.BAD_PAYLOAD),  # both limits at once
        (Frame(3, MsgType.HELLO, b"\x02"), NakCode.UNSUPPORTED_VERSION),
        (Frame(3, MsgType.BARRIER_FAULT, b""), NakCode.BAD_PAYLOAD),
    ]
    for frame, code in bad:
        with pytest.raises(PayloadError) as info:
            check_payload(frame, CONTROLLER_SENDS)
        assert info.value.code is code, frame
    assert check_payload(Frame(4, MsgType.OPEN), CONSOLE_SENDS) is MsgType.OPEN


def test_status_and_fault_payloads() -> None:
    st = Status(loop_occupied=True, open_limit=False, closed_limit=True, fault=False, plate=PlateRead("AB1234C", 0.97))
    assert st.payload() == bytes.fromhex("05 61") + b"AB1234C"
    assert decode_status(st.payload()) == st
    assert decode_status(b"\xf2").open_limit  # reserved bits ignored
    f = decode_fault(fault_payload(FaultCode.OBSTRUCTION, "photocell"))
    assert f.describe() == "obstruction: photocell"
    assert decode_fault(b"\x7f").describe() == "fault 0x7F"


def test_encoder_refuses_what_a_receiver_would() -> None:
    with pytest.raises(ValueError):
        Frame(1, MsgType.STATUS, b"\x00" * (MAX_PAYLOAD + 1)).encode()
    with pytest.raises(ValueError):
        Frame(256, MsgType.OPEN).encode()
    with pytest.raises(ValueError):
        plate_read_payload("X" * 25, 0.5)
    with pytest.raises(ValueError):
        plate_read_payload("AB12", 1.5)
