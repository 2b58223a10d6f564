"""The wire format: CRC, frames, bodies and the resynchronising decoder."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.elevator.protocol import (
    MAX_BODY,
    BodyError,
    CarAtFloor,
    CardSwiped,
    FrameDecoder,
    Heartbeat,
    Hello,
    MsgType,
    Packet,
    body_ack,
    body_car_floor,
    body_card_swiped,
    body_heartbeat,
    body_hello,
    card_bytes,
    crc16,
    decode_body,
    encode_frame,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "elevator-protocol.md"

# The worked examples of docs/elevator-protocol.md.
EXAMPLES = {
    "A5 5A 07 07 10 01 FE 04 04 A1 B2 C3 80 B9": encode_frame(
        0x07, MsgType.CARD_SWIPED, body_card_swiped(1, -2, "04A1B2C3")
    ),
    "A5 5A 02 08 12 01 FE C0 AF": encode_frame(0x08, MsgType.DOORS_OPENED, body_car_floor(1, -2)),
    "A5 5A 01 09 01 02 7F 96": encode_frame(0x09, MsgType.HEARTBEAT, body_heartbeat(2)),
    "A5 5A 05 00 02 01 C0 FF EE 01 07 CA": encode_frame(0x00, MsgType.HELLO, body_hello(0xC0FFEE01)),
    "A5 5A 01 2A 80 07 D8 0C": encode_frame(0x2A, MsgType.ACK, body_ack(7)),
    "A5 5A 00 2B 81 97 29": encode_frame(0x2B, MsgType.CONSOLE_HEARTBEAT, b""),
}


def test_crc_is_ccitt_false() -> None:
    assert crc16(b"123456789") == 0x29B1
    assert crc16(bytes.fromhex("07 07 10 01 FE 04 04 A1 B2 C3")) == 0x80B9


@pytest.mark.parametrize("hex_text", list(EXAMPLES))
def test_documented_examples_match_the_encoder(hex_text: str) -> None:
    assert EXAMPLES[hex_text] == bytes.fromhex(hex_text)
    assert f"`{hex_text}`" in DOC.read_text() or hex_text in DOC.read_text()


def test_worked_example_decodes_to_the_swipe() -> None:
    packets = FrameDecoder().feed(bytes.fromhex("A5 5A 07 07 10 01 FE 04 04 A1 B2 C3 80 B9"), 0.0)
    assert packets == [Packet(7, MsgType.CARD_SWIPED, bytes.fromhex("01 FE 04 04 A1 B2 C3"))]
    assert decode_body(packets[0]) == CardSwiped(car=1, floor=-2, card="04A1B2C3")


@pytest.mark.parametrize(
    ("msg_type", "body", "message"),
    [
        (MsgType.HEARTBEAT, body_heartbeat(3), Heartbeat(3)),
        (MsgType.HELLO, body_hello(0xDEADBEEF), Hello(1, 0xDEADBEEF)),
        (
            MsgType.CARD_SWIPED,
            body_card_swiped(255, 127, "0102030405060708090A0B0C0D0E0F10"),
            CardSwiped(255, 127, "0102030405060708090A0B0C0D0E0F10"),
        ),
        (MsgType.CARD_SWIPED, body_card_swiped(2, -128, "ab"), CardSwiped(2, -128, "AB")),
        (MsgType.CAR_ARRIVED, body_car_floor(1, -1), CarAtFloor(1, -1)),
        (MsgType.DOORS_OPENED, body_car_floor(3, 12), CarAtFloor(3, 12)),
        (MsgType.DOORS_CLOSED, body_car_floor(3, 12), CarAtFloor(3, 12)),
    ],
)
def test_round_trip(msg_type: MsgType, body: bytes, message: object) -> None:
    frame = encode_frame(200, msg_type, body)
    (packet,) = FrameDecoder().feed(frame, 0.0)
    assert (packet.seq, packet.msg_type) == (200, msg_type)
    assert decode_body(packet) == message


@pytest.mark.parametrize(
    ("msg_type", "body"),
    [
        (MsgType.CARD_SWIPED, bytes.fromhex("01 05 04 AA BB CC")),  # card shorter than announced
        (MsgType.CARD_SWIPED, bytes.fromhex("01 05 00")),  # empty card
        (MsgType.CARD_SWIPED, bytes.fromhex("00 05 01 AA")),  # car 0
        (MsgType.CAR_ARRIVED, bytes.fromhex("01")),
        (MsgType.DOORS_OPENED, bytes.fromhex("01 02 03")),
        (MsgType.HEARTBEAT, b""),
        (MsgType.HELLO, b"\x01"),
    ],
)
def test_malformed_bodies_are_refused(msg_type: MsgType, body: bytes) -> None:
    with pytest.raises(BodyError):
        decode_body(Packet(1, msg_type, body))


def test_unknown_type_decodes_to_nothing() -> None:
    assert decode_body(Packet(1, 0x55, b"\x01\x02")) is None


@pytest.mark.parametrize("bad", ["", "XYZ", "0", "00" * 17])
def test_card_ids_are_validated(bad: str) -> None:
    with pytest.raises(ValueError):
        card_bytes(bad)


def test_encoder_refuses_out_of_range_fields() -> None:
    with pytest.raises(ValueError):
        encode_frame(256, 1)
    with pytest.raises(ValueError):
        encode_frame(0, 1, bytes(MAX_BODY + 1))
    with pytest.raises(ValueError):
        body_car_floor(0, 1)
    with pytest.raises(ValueError):
        body_car_floor(1, 200)


def test_byte_by_byte_delivery_gives_the_same_packets() -> None:
    stream = b"".join(EXAMPLES.values())
    decoder = FrameDecoder()
    packets = [p for i in range(len(stream)) for p in decoder.feed(stream[i : i + 1], 0.0)]
    assert [p.seq for p in packets] == [0x07, 0x08, 0x09, 0x00, 0x2A, 0x2B]
    assert decoder.stats.rejected == 0 and decoder.stats.discarded_bytes == 0


def test_truncated_frame_does_not_swallow_the_next_one() -> None:
    good = encode_frame(1, MsgType.DOORS_OPENED, body_car_floor(1, 4))
    cut = encode_frame(2, MsgType.CARD_SWIPED, body_card_swiped(1, 4, "04A1B2C3"))[:9]
    decoder = FrameDecoder()
    packets = decoder.feed(b"\x00\xff" + cut + good, 0.0)
    assert [decode_body(p) for p in packets] == [CarAtFloor(1, 4)]
    assert decoder.stats.bad_crc >= 1
    assert decoder.stats.discarded_bytes >= 2 + len(cut)


def test_oversized_length_is_rejected_at_once() -> None:
    good = encode_frame(1, MsgType.CAR_ARRIVED, body_car_floor(2, 7))
    decoder = FrameDecoder()
    assert len(decoder.feed(b"\xa5\x5a\xff\x00\x00" + good, 0.0)) == 1
    assert decoder.stats.bad_length == 1


def test_bogus_long_header_is_abandoned_when_stale() -> None:
    good = encode_frame(1, MsgType.CAR_ARRIVED, body_car_floor(2, 7))
    decoder = FrameDecoder(stale_after=0.5)
    # The header claims 64 body bytes; the good frame sits inside the "body".
    assert decoder.feed(b"\xa5\x5a\x40\x01\x10" + good, 10.0) == []
    assert decoder.feed(b"", 10.3) == []
    packets = decoder.feed(b"", 10.6)
    assert [decode_body(p) for p in packets] == [CarAtFloor(2, 7)]
    assert decoder.stats.stale == 1


def test_frame_cut_off_by_silence_is_counted_stale() -> None:
    decoder = FrameDecoder(stale_after=0.5)
    decoder.feed(encode_frame(1, MsgType.CAR_ARRIVED, body_car_floor(2, 7))[:6], 0.0)
    decoder.feed(b"", 1.0)
    assert decoder.stats.stale == 1
    good = encode_frame(2, MsgType.CAR_ARRIVED, body_car_floor(2, 8))
    assert [decode_body(p) for p in decoder.feed(good, 1.1)] == [CarAtFloor(2, 8)]


@settings(max_examples=300, deadline=None)
@given(noise=st.binary(max_size=200), cut=st.integers(min_value=1, max_value=40))
def test_noise_never_raises_and_never_hides_a_good_frame(noise: bytes, cut: int) -> None:
    good = encode_frame(9, MsgType.DOORS_CLOSED, body_car_floor(1, 3))
    decoder = FrameDecoder(stale_after=0.5)
    packets = []
    stream = noise + good
    for i in range(0, len(stream), cut):
        packets += decoder.feed(stream[i : i + cut], 0.0)
    for t in (1.0, 2.0, 3.0, 4.0, 5.0):  # let bogus headers in the noise go stale
        packets += decoder.feed(b"", t)
    assert Packet(9, MsgType.DOORS_CLOSED, body_car_floor(1, 3)) in packets
