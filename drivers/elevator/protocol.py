"""Wire format of the elevator controller link (see docs/elevator-protocol.md).

Pure code: encoding, a resynchronising decoder and the message bodies. No I/O, no clock
reads (the decoder is handed `now` so stale partial frames can be dropped), so the same
functions serve the driver, the simulator and the tests.

A frame on the wire::

    A5 5A | LEN | SEQ | TYPE | BODY (LEN bytes) | CRC16 (big-endian)

CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) over
LEN, SEQ, TYPE and BODY.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from enum import IntEnum

SYNC = b"\xa5\x5a"
HEADER_LEN = 5  # sync (2) + len + seq + type
CRC_LEN = 2
MAX_BODY = 64
MAX_FRAME = HEADER_LEN + MAX_BODY + CRC_LEN
PROTOCOL_VERSION = 1
MAX_CARD_BYTES = 16


class MsgType(IntEnum):
    """Frame types. 0x01-0x7F travel controller -> console, 0x80-0xFF console -> controller."""

    HEARTBEAT = 0x01  # body: car count (u8)
    HELLO = 0x02  # body: protocol version (u8), boot id (u32 BE); sent after a controller restart
    CARD_SWIPED = 0x10  # body: car (u8), chosen floor (i8), card length (u8), card bytes
    CAR_ARRIVED = 0x11  # body: car (u8), floor (i8)
    DOORS_OPENED = 0x12  # body: car (u8), floor (i8)
    DOORS_CLOSED = 0x13  # body: car (u8), floor (i8)
    ACK = 0x80  # body: acknowledged seq (u8)
    CONSOLE_HEARTBEAT = 0x81  # body: empty


# Frames the receiver must acknowledge; the controller repeats them (same SEQ) until it does.
ACKED_TYPES = frozenset(
    {MsgType.HELLO, MsgType.CARD_SWIPED, MsgType.CAR_ARRIVED, MsgType.DOORS_OPENED, MsgType.DOORS_CLOSED}
)


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of `data` (check value for b"123456789" is 0x29B1)."""
    return binascii.crc_hqx(data, 0xFFFF)


def encode_frame(seq: int, msg_type: int, body: bytes = b"") -> bytes:
    """One complete frame. Raises ValueError for an out-of-range field."""
    if not 0 <= seq <= 0xFF:
        raise ValueError(f"seq {seq} out of range 0..255")
    if not 0 <= msg_type <= 0xFF:
        raise ValueError(f"type {msg_type} out of range 0..255")
    if len(body) > MAX_BODY:
        raise ValueError(f"body of {len(body)} bytes exceeds {MAX_BODY}")
    inner = bytes((len(body), seq, msg_type)) + body
    return SYNC + inner + crc16(inner).to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class Packet:
    """A frame that passed the length and CRC checks (its body is not yet interpreted)."""

    seq: int
    msg_type: int
    body: bytes


@dataclass(slots=True)
class DecoderStats:
    """What the decoder threw away, by reason."""

    bad_crc: int = 0
    bad_length: int = 0
    stale: int = 0  # a partial frame that never completed
    discarded_bytes: int = 0  # bytes outside any frame (line noise, our own resync)

    @property
    def rejected(self) -> int:
        return self.bad_crc + self.bad_length + self.stale


@dataclass(slots=True)
class FrameDecoder:
    """Turns a byte stream into packets, resynchronising after noise.

    On a bad length or CRC only the first sync byte is dropped and the search starts
    again one byte later, so a truncated frame never swallows the good frame after it.
    """

    stale_after: float = 0.5  # seconds a started frame may take to complete (71 bytes at 9600 baud: 74 ms)
    stats: DecoderStats = field(default_factory=DecoderStats)
    _buf: bytearray = field(default_factory=bytearray)
    _consumed: int = 0  # bytes taken off the front so far; identifies the frame now at the front
    _front_mark: int = -1
    _front_since: float = 0.0

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget buffered bytes (after the link was reopened)."""
        self._consumed += len(self._buf)
        self._buf.clear()

    def feed(self, data: bytes, now: float) -> list[Packet]:
        """Add received bytes; return the complete, valid packets they finish, in order.

        Call it with empty `data` now and then: a frame that has not completed within
        `stale_after` seconds of its first byte (a bogus header claiming a long body, or
        a sender cut off mid-frame) is abandoned and the bytes after its sync rescanned.
        """
        packets: list[Packet] = []
        if data:
            self._buf.extend(data)
            packets.extend(self._scan())
        if not self._buf:
            return packets
        if self._front_mark != self._consumed:
            self._front_mark, self._front_since = self._consumed, now  # a new frame at the front
        elif now - self._front_since > self.stale_after:
            if self._buf.startswith(SYNC):
                self.stats.stale += 1
            self._drop(1)
            packets.extend(self._scan())
            self._front_mark, self._front_since = self._consumed, now
        return packets

    def _scan(self) -> list[Packet]:
        packets: list[Packet] = []
        while True:
            self._resync()
            if len(self._buf) < HEADER_LEN:
                return packets
            body_len = self._buf[2]
            if body_len > MAX_BODY:
                self.stats.bad_length += 1
                self._drop(1)
                continue
            total = HEADER_LEN + body_len + CRC_LEN
            if len(self._buf) < total:
                return packets
            inner = bytes(self._buf[2 : HEADER_LEN + body_len])
            received_crc = int.from_bytes(self._buf[HEADER_LEN + body_len : total], "big")
            if crc16(inner) != received_crc:
                self.stats.bad_crc += 1
                self._drop(1)
                continue
            packets.append(Packet(seq=inner[1], msg_type=inner[2], body=inner[3:]))
            del self._buf[:total]
            self._consumed += total

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self._consumed += n
        self.stats.discarded_bytes += n

    def _resync(self) -> None:
        """Discard bytes up to the next sync pattern (keep a trailing 0xA5: it may be one)."""
        idx = self._buf.find(SYNC)
        if idx == 0:
            return
        if idx < 0:
            keep = 1 if self._buf.endswith(SYNC[:1]) else 0
            n = len(self._buf) - keep
        else:
            n = idx
        if n:
            self._drop(n)


class BodyError(ValueError):
    """A frame whose body does not fit its type."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    cars: int


@dataclass(frozen=True, slots=True)
class Hello:
    version: int
    boot_id: int


@dataclass(frozen=True, slots=True)
class CardSwiped:
    car: int
    floor: int
    card: str  # the card's UID as upper-case hex, e.g. "04A1B2C3"


@dataclass(frozen=True, slots=True)
class CarAtFloor:
    """CAR_ARRIVED, DOORS_OPENED and DOORS_CLOSED share this body."""

    car: int
    floor: int


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int


Message = Heartbeat | Hello | CardSwiped | CarAtFloor | Ack | None


def _floor_byte(floor: int) -> int:
    if not -128 <= floor <= 127:
        raise ValueError(f"floor {floor} out of range -128..127")
    return floor & 0xFF


def _car_byte(car: int) -> int:
    if not 1 <= car <= 255:
        raise ValueError(f"car {car} out of range 1..255")
    return car


def _signed(b: int) -> int:
    return b - 256 if b > 127 else b


def card_bytes(card: str) -> bytes:
    """A card id given as hex text -> its bytes. Raises ValueError for bad text."""
    try:
        raw = bytes.fromhex(card)
    except ValueError:
        raise ValueError(f"card id {card!r} is not hex") from None
    if not 1 <= len(raw) <= MAX_CARD_BYTES:
        raise ValueError(f"card id must be 1..{MAX_CARD_BYTES} bytes, got {len(raw)}")
    return raw


def body_heartbeat(cars: int) -> bytes:
    return bytes((cars & 0xFF,))


def body_hello(boot_id: int, version: int = PROTOCOL_VERSION) -> bytes:
    return bytes((version,)) + (boot_id & 0xFFFFFFFF).to_bytes(4, "big")


def body_card_swiped(car: int, floor: int, card: str) -> bytes:
    raw = card_bytes(card)
    return bytes((_car_byte(car), _floor_byte(floor), len(raw))) + raw


def body_car_floor(car: int, floor: int) -> bytes:
    return bytes((_car_byte(car), _floor_byte(floor)))


def body_ack(seq: int) -> bytes:
    return bytes((seq & 0xFF,))


def decode_body(packet: Packet) -> Message:
    """Interpret a packet's body by its type.

    Returns None for a type this console does not know (counted by the caller); raises
    BodyError when the body does not fit the type.
    """
    t, b = packet.msg_type, packet.body
    if t == MsgType.HEARTBEAT:
        _need(t, b, 1)
        return Heartbeat(cars=b[0])
    if t == MsgType.HELLO:
        _need(t, b, 5)
        return Hello(version=b[0], boot_id=int.from_bytes(b[1:5], "big"))
    if t == MsgType.CARD_SWIPED:
        if len(b) < 4 or len(b) != 3 + b[2] or not 1 <= b[2] <= MAX_CARD_BYTES:
            raise BodyError(f"CARD_SWIPED body of {len(b)} bytes is malformed")
        _check_car(b[0])
        return CardSwiped(car=b[0], floor=_signed(b[1]), card=b[3:].hex().upper())
    if t in (MsgType.CAR_ARRIVED, MsgType.DOORS_OPENED, MsgType.DOORS_CLOSED):
        _need(t, b, 2)
        _check_car(b[0])
        return CarAtFloor(car=b[0], floor=_signed(b[1]))
    if t == MsgType.ACK:
        _need(t, b, 1)
        return Ack(seq=b[0])
    if t == MsgType.CONSOLE_HEARTBEAT:
        _need(t, b, 0)
        return None
    return None


def _need(msg_type: int, body: bytes, n: int) -> None:
    if len(body) != n:
        raise BodyError(f"type 0x{msg_type:02X} needs a {n}-byte body, got {len(body)}")


def _check_car(car: int) -> None:
    if car == 0:
        raise BodyError("car 0 does not exist (cars are numbered from 1)")


def is_known_type(msg_type: int) -> bool:
    """True for a type this protocol version defines."""
    return msg_type in MsgType._value2member_map_
