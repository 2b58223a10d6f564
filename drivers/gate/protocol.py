"""The lane controller wire protocol: frames, CRC, message types and payloads.

Pure code (no I/O, no clock): the driver, the simulator and the tests share it, and
`docs/gate-protocol.md` is its specification for controller vendors.

A frame on the wire::

    STX | escaped( SEQ | TYPE | LEN | PAYLOAD[LEN] | CRC_HI | CRC_LO ) | ETX

STX (0x02) and ETX (0x03) appear only as delimiters: inside the frame the bytes 0x02,
0x03 and 0x10 are sent as DLE (0x10) followed by the byte XOR 0x20. The CRC is
CRC-16/CCITT-FALSE over SEQ, TYPE, LEN and PAYLOAD before escaping.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from enum import IntEnum

STX = 0x02
ETX = 0x03
DLE = 0x10
ESCAPE_XOR = 0x20
PROTOCOL_VERSION = 1

MAX_PAYLOAD = 32
MAX_PLATE_BYTES = 24
MAX_FAULT_TEXT_BYTES = MAX_PAYLOAD - 1
_HEADER = 3  # SEQ, TYPE, LEN
_CRC = 2
MIN_BODY = _HEADER + _CRC
MAX_BODY = _HEADER + MAX_PAYLOAD + _CRC
# Every body byte may be escaped into two; a longer run without ETX is garbage.
MAX_ESCAPED_BODY = 2 * MAX_BODY

_SPECIAL = (STX, ETX, DLE)
_UNESCAPED = {b ^ ESCAPE_XOR: b for b in _SPECIAL}


class MsgType(IntEnum):
    """The TYPE byte."""

    HELLO = 0x01  # both ways, reliable: "I (re)started this link"; payload: version
    HEARTBEAT = 0x05  # both ways, not acknowledged, SEQ 0, no payload
    ACK = 0x06  # both ways, not acknowledged; SEQ = the acknowledged frame's SEQ
    NAK = 0x15  # both ways, not acknowledged; SEQ = the refused frame's SEQ; payload: NakCode
    VEHICLE_PRESENT = 0x20  # controller -> console: loop occupied
    VEHICLE_GONE = 0x21  # loop free again; payload: optional plate
    VEHICLE_PASSED = 0x22  # vehicle crossed the barrier line; payload: optional plate
    PLATE_READ = 0x23  # payload: confidence 0..100, plate
    BARRIER_OPENED = 0x24  # open limit switch reached
    BARRIER_CLOSED = 0x25  # closed limit switch reached
    BARRIER_FAULT = 0x26  # payload: FaultCode, optional text
    STATUS = 0x27  # payload: StatusFlags [, confidence, plate of the vehicle on the loop]
    OPEN = 0x40  # console -> controller
    CLOSE = 0x41
    STATUS_REQUEST = 0x42


# Frames that are never acknowledged (and never answered with NAK).
UNACKNOWLEDGED = frozenset({MsgType.HEARTBEAT, MsgType.ACK, MsgType.NAK})
CONTROLLER_SENDS = frozenset(
    {
        MsgType.HELLO,
        MsgType.VEHICLE_PRESENT,
        MsgType.VEHICLE_GONE,
        MsgType.VEHICLE_PASSED,
        MsgType.PLATE_READ,
        MsgType.BARRIER_OPENED,
        MsgType.BARRIER_CLOSED,
        MsgType.BARRIER_FAULT,
        MsgType.STATUS,
    }
)
CONSOLE_SENDS = frozenset({MsgType.HELLO, MsgType.OPEN, MsgType.CLOSE, MsgType.STATUS_REQUEST})


class NakCode(IntEnum):
    """Why a receiver refused a frame whose CRC was good."""

    UNKNOWN_TYPE = 0x01
    BAD_PAYLOAD = 0x02
    UNSUPPORTED_VERSION = 0x03
    REFUSED_VEHICLE_ON_LOOP = 0x10  # CLOSE refused: closing would hit the vehicle
    REFUSED_BARRIER_FAULT = 0x11  # the barrier is in fault; the command cannot be carried out
    BUSY = 0x12


class FaultCode(IntEnum):
    """Barrier fault reported by the controller."""

    MOTOR = 0x01  # motor overload or drive failure
    LIMIT_SWITCH = 0x02  # both or neither limit switch after travel
    OBSTRUCTION = 0x03  # safety edge / photocell stopped the arm
    ARM_MISSING = 0x04  # breakaway arm knocked off
    TRAVEL_TIMEOUT = 0x05  # the controller's own travel timer ran out
    OTHER = 0xFF


class StatusFlags(IntEnum):
    """Bits of the STATUS flags byte. Bits 4..7 are reserved: send 0, ignore on receipt."""

    LOOP_OCCUPIED = 0x01
    OPEN_LIMIT = 0x02
    CLOSED_LIMIT = 0x04
    FAULT = 0x08


class FrameError(ValueError):
    """A frame that must be discarded without an answer (bad framing or CRC)."""


class PayloadError(ValueError):
    """A frame with a good CRC whose content is refused: answer with NAK `code`."""

    def __init__(self, code: NakCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR.

    `crc16(b"123456789") == 0x29B1`. `binascii.crc_hqx` is exactly this CRC in C.
    """
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. `kind` is the TYPE byte; known values are `MsgType` members."""

    seq: int
    kind: int
    payload: bytes = b""

    def body(self) -> bytes:
        """SEQ, TYPE, LEN, PAYLOAD and CRC, before escaping."""
        if not 0 <= self.seq <= 0xFF or not 0 <= self.kind <= 0xFF:
            raise ValueError("SEQ and TYPE are single bytes")
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(f"payload longer than {MAX_PAYLOAD} bytes")
        head = bytes((self.seq, self.kind, len(self.payload))) + self.payload
        return head + crc16(head).to_bytes(2, "big")

    def encode(self) -> bytes:
        """The frame as it goes on the wire."""
        return bytes((STX,)) + escape(self.body()) + bytes((ETX,))

    def describe(self) -> str:
        try:
            name = MsgType(self.kind).name
        except ValueError:
            name = f"0x{self.kind:02X}"
        return f"{name} seq={self.seq} payload={self.payload.hex(' ')}"


def escape(body: bytes) -> bytes:
    """Replace STX, ETX and DLE with DLE, byte ^ 0x20."""
    if not any(b in body for b in _SPECIAL):
        return body
    out = bytearray()
    for b in body:
        if b in _SPECIAL:
            out.append(DLE)
            out.append(b ^ ESCAPE_XOR)
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """Undo `escape`; raises FrameError on a DLE not followed by 0x22, 0x23 or 0x30."""
    if DLE not in data:
        return data
    out = bytearray()
    it = iter(data)
    for b in it:
        if b == DLE:
            nxt = next(it, None)
            if nxt is None or nxt not in _UNESCAPED:
                raise FrameError("bad escape sequence")
            out.append(_UNESCAPED[nxt])
        else:
            out.append(b)
    return bytes(out)


def decode_body(escaped: bytes) -> Frame:
    """Check one frame's content (between STX and ETX) and return it.

    Raises FrameError for anything that cannot be trusted: bad escape, bad length, bad CRC.
    The TYPE and payload are checked later by `check_payload`.
    """
    if len(escaped) > MAX_ESCAPED_BODY:
        raise FrameError("frame too long")
    body = unescape(escaped)
    if len(body) < MIN_BODY:
        raise FrameError("frame too short")
    if len(body) > MAX_BODY:
        raise FrameError("frame too long")
    seq, kind, length = body[0], body[1], body[2]
    if length != len(body) - MIN_BODY:
        raise FrameError("length byte does not match the frame")
    if crc16(body[:-_CRC]) != int.from_bytes(body[-_CRC:], "big"):
        raise FrameError("bad CRC")
    return Frame(seq, kind, body[_HEADER:-_CRC])


class Deframer:
    """Splits a byte stream into frame bodies. Resynchronises on every STX.

    `feed` returns, in order, the escaped content of each complete frame (bytes) and a
    FrameError for each frame that was cut short or grew too long. Bytes outside any
    frame are counted in `noise_bytes`.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_frame = False
        self.noise_bytes = 0

    @property
    def partial(self) -> bool:
        """True while a frame has started but not ended."""
        return self._in_frame

    def reset(self) -> FrameError | None:
        """Forget any partial frame; return its rejection if there was one."""
        was = self._in_frame
        self._in_frame = False
        self._buf.clear()
        return FrameError("frame cut short (no ETX)") if was else None

    def feed(self, data: bytes) -> list[bytes | FrameError]:
        out: list[bytes | FrameError] = []
        i, n = 0, len(data)
        while i < n:
            if not self._in_frame:
                start = data.find(STX, i)
                if start < 0:
                    self.noise_bytes += n - i
                    return out
                self.noise_bytes += start - i
                self._in_frame = True
                self._buf.clear()
                i = start + 1
                continue
            etx = data.find(ETX, i)
            stx = data.find(STX, i)
            if etx < 0 and stx < 0:
                self._buf += data[i:]
                if len(self._buf) > MAX_ESCAPED_BODY:
                    # A runaway frame: drop it; bytes up to the next STX are noise.
                    out.append(FrameError("frame too long"))
                    self._in_frame = False
                    self._buf.clear()
                return out
            if stx >= 0 and (etx < 0 or stx < etx):
                # A new STX before this frame's ETX: the frame was cut short.
                self._buf += data[i:stx]
                out.append(FrameError("frame cut short (new STX before ETX)"))
                self._buf.clear()
                i = stx + 1
                continue
            self._buf += data[i:etx]
            out.append(bytes(self._buf))
            self._buf.clear()
            self._in_frame = False
            i = etx + 1
        return out


# -- payloads ---------------------------------------------------------------------------


def encode_plate(plate: str) -> bytes:
    """A plate as UTF-8 bytes, checked like a receiver would."""
    raw = plate.encode("utf-8")
    decode_plate(raw)
    return raw


def decode_plate(raw: bytes) -> str:
    """Plate text: 1..24 bytes of UTF-8, printable, not blank."""
    if not 1 <= len(raw) <= MAX_PLATE_BYTES:
        raise PayloadError(NakCode.BAD_PAYLOAD, f"plate must be 1..{MAX_PLATE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError(NakCode.BAD_PAYLOAD, "plate is not UTF-8") from None
    if not text.isprintable() or not text.strip():
        raise PayloadError(NakCode.BAD_PAYLOAD, "plate has control characters or is blank")
    return text


def plate_read_payload(plate: str, confidence: float) -> bytes:
    """PLATE_READ payload: confidence as a whole percent (0..100), then the plate."""
    percent = round(confidence * 100)
    if not 0 <= percent <= 100:
        raise ValueError("confidence must be within 0..1")
    return bytes((percent,)) + encode_plate(plate)


@dataclass(frozen=True, slots=True)
class PlateRead:
    plate: str
    confidence: float


def decode_plate_read(payload: bytes) -> PlateRead:
    if len(payload) < 2:
        raise PayloadError(NakCode.BAD_PAYLOAD, "PLATE_READ needs a confidence and a plate")
    if payload[0] > 100:
        raise PayloadError(NakCode.BAD_PAYLOAD, "confidence above 100")
    return PlateRead(decode_plate(payload[1:]), payload[0] / 100)


@dataclass(frozen=True, slots=True)
class Status:
    """The lane's state, sent after HELLO and on STATUS_REQUEST."""

    loop_occupied: bool
    open_limit: bool
    closed_limit: bool
    fault: bool
    plate: PlateRead | None = None  # the vehicle on the loop, if the reader has it

    def payload(self) -> bytes:
        flags = (
            (StatusFlags.LOOP_OCCUPIED if self.loop_occupied else 0)
            | (StatusFlags.OPEN_LIMIT if self.open_limit else 0)
            | (StatusFlags.CLOSED_LIMIT if self.closed_limit else 0)
            | (StatusFlags.FAULT if self.fault else 0)
        )
        out = bytes((flags,))
        if self.plate is not None:
            out += plate_read_payload(self.plate.plate, self.plate.confidence)
        return out


def decode_status(payload: bytes) -> Status:
    if not payload:
        raise PayloadError(NakCode.BAD_PAYLOAD, "STATUS needs a flags byte")
    flags = payload[0]
    if flags & StatusFlags.OPEN_LIMIT and flags & StatusFlags.CLOSED_LIMIT:
        raise PayloadError(NakCode.BAD_PAYLOAD, "both limit switches active")
    plate = decode_plate_read(payload[1:]) if len(payload) > 1 else None
    return Status(
        loop_occupied=bool(flags & StatusFlags.LOOP_OCCUPIED),
        open_limit=bool(flags & StatusFlags.OPEN_LIMIT),
        closed_limit=bool(flags & StatusFlags.CLOSED_LIMIT),
        fault=bool(flags & StatusFlags.FAULT),
        plate=plate,
    )


@dataclass(frozen=True, slots=True)
class Fault:
    code: int
    text: str

    def describe(self) -> str:
        try:
            name = FaultCode(self.code).name.lower().replace("_", " ")
        except ValueError:
            name = f"fault 0x{self.code:02X}"
        return f"{name}: {self.text}" if self.text else name


def fault_payload(code: int, text: str = "") -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > MAX_FAULT_TEXT_BYTES:
        raise ValueError(f"fault text longer than {MAX_FAULT_TEXT_BYTES} bytes")
    return bytes((code,)) + raw


def decode_fault(payload: bytes) -> Fault:
    if not payload:
        raise PayloadError(NakCode.BAD_PAYLOAD, "BARRIER_FAULT needs a fault code")
    try:
        text = payload[1:].decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError(NakCode.BAD_PAYLOAD, "fault text is not UTF-8") from None
    if not text.isprintable():
        raise PayloadError(NakCode.BAD_PAYLOAD, "fault text has control characters")
    return Fault(payload[0], text)


def check_payload(frame: Frame, accepted: frozenset[MsgType]) -> MsgType:
    """Check TYPE and payload of a CRC-good frame; return its MsgType.

    Raises PayloadError (answer NAK) when the type is unknown, not expected from this
    peer, or its payload is malformed.
    """
    try:
        kind = MsgType(frame.kind)
    except ValueError:
        raise PayloadError(NakCode.UNKNOWN_TYPE, f"unknown TYPE 0x{frame.kind:02X}") from None
    if kind not in accepted and kind not in UNACKNOWLEDGED:
        raise PayloadError(NakCode.UNKNOWN_TYPE, f"{kind.name} is not expected from this peer")
    p = frame.payload
    if kind in (
        MsgType.HEARTBEAT,
        MsgType.ACK,
        MsgType.VEHICLE_PRESENT,
        MsgType.BARRIER_OPENED,
        MsgType.BARRIER_CLOSED,
        MsgType.OPEN,
        MsgType.CLOSE,
        MsgType.STATUS_REQUEST,
    ):
        if p:
            raise PayloadError(NakCode.BAD_PAYLOAD, f"{kind.name} carries no payload")
    elif kind is MsgType.HELLO:
        if len(p) != 1:
            raise PayloadError(NakCode.BAD_PAYLOAD, "HELLO carries one version byte")
        if p[0] != PROTOCOL_VERSION:
            raise PayloadError(NakCode.UNSUPPORTED_VERSION, f"protocol version {p[0]} not supported")
    elif kind is MsgType.NAK:
        if len(p) != 1:
            raise PayloadError(NakCode.BAD_PAYLOAD, "NAK carries one reason byte")
    elif kind in (MsgType.VEHICLE_GONE, MsgType.VEHICLE_PASSED):
        if p:
            decode_plate(p)
    elif kind is MsgType.PLATE_READ:
        decode_plate_read(p)
    elif kind is MsgType.BARRIER_FAULT:
        decode_fault(p)
    elif kind is MsgType.STATUS:
        decode_status(p)
    return kind


def ack(seq: int) -> Frame:
    return Frame(seq, MsgType.ACK)


def nak(seq: int, code: NakCode) -> Frame:
    return Frame(seq, MsgType.NAK, bytes((code,)))


HEARTBEAT_FRAME = Frame(0, MsgType.HEARTBEAT)
