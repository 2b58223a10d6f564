"""The e-bike pile wire protocol (docs/epile-protocol.md): framing, CRC and messages.

A frame: STX (0x02) | address | command | length | payload (length bytes) | CRC-16/MODBUS
(little-endian) over address..payload. The console is the bus master: it polls, the pile
answers. Everything here is pure bytes in, values out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

STX = 0x02
MAX_PAYLOAD = 250
PORT_RECORD = struct.Struct(">BBHI")  # port, flags, current (10 mA units), energy (Wh)
FLAG_POWERED = 0x01
FLAG_PLUGGED = 0x02


class ProtocolError(ValueError):
    """Bytes that are not a valid frame or message."""


class Cmd(IntEnum):
    POLL = 0x01  # console -> pile: report every port
    POWER = 0x02  # console -> pile: port, on (1) / off (0)
    STATUS = 0x81  # pile -> console: port records
    POWER_ACK = 0x82  # pile -> console: port, state, result
    NAK = 0x8F  # pile -> console: the request was refused (error code)


class PowerResult(IntEnum):
    OK = 0
    NO_SUCH_PORT = 1
    NOT_PLUGGED = 2


class NakCode(IntEnum):
    UNKNOWN_COMMAND = 1
    BAD_PAYLOAD = 2


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@dataclass(frozen=True, slots=True)
class Frame:
    address: int
    cmd: int
    payload: bytes = b""


def encode(frame: Frame) -> bytes:
    """The bytes of one frame."""
    if not 0 <= frame.address <= 255 or not 0 <= frame.cmd <= 255:
        raise ProtocolError("address and command are single bytes")
    if len(frame.payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(frame.payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes((frame.address, frame.cmd, len(frame.payload))) + frame.payload
    return bytes((STX,)) + body + struct.pack("<H", crc16_modbus(body))


class Decoder:
    """Turns a byte stream into frames, skipping noise and frames with a bad CRC."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.rejected = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return the complete, valid frames found so far."""
        self._buf += data
        frames: list[Frame] = []
        buf = self._buf
        while True:
            start = buf.find(STX)
            if start < 0:
                if buf:
                    self.rejected += 1
                buf.clear()
                break
            if start > 0:
                self.rejected += 1
                del buf[:start]
            if len(buf) < 4:
                break
            length = buf[3]
            if length > MAX_PAYLOAD:
                self.rejected += 1
                del buf[:1]
                continue
            end = 4 + length + 2
            if len(buf) < end:
                break
            body = bytes(buf[1 : 4 + length])
            (crc,) = struct.unpack_from("<H", buf, 4 + length)
            if crc != crc16_modbus(body):
                # A false STX inside noise, or a damaged frame: resynchronise one byte on.
                self.rejected += 1
                del buf[:1]
                continue
            frames.append(Frame(body[0], body[1], body[3:]))
            del buf[:end]
        return frames

    def reset(self) -> None:
        """Forget a partial frame (after a timeout or a reconnect)."""
        self._buf.clear()


@dataclass(frozen=True, slots=True)
class PortStatus:
    """One port as the pile reports it."""

    port: int
    powered: bool
    plugged: bool
    current_ma: int
    energy_wh: int


def encode_status(ports: list[PortStatus]) -> bytes:
    """The payload of a STATUS answer."""
    out = bytearray((len(ports),))
    for p in ports:
        flags = (FLAG_POWERED if p.powered else 0) | (FLAG_PLUGGED if p.plugged else 0)
        out += PORT_RECORD.pack(p.port, flags, min(max(p.current_ma, 0) // 10, 0xFFFF), p.energy_wh & 0xFFFFFFFF)
    return bytes(out)


def decode_status(payload: bytes) -> list[PortStatus]:
    """The port records of a STATUS answer."""
    if not payload:
        raise ProtocolError("empty STATUS")
    count = payload[0]
    if len(payload) != 1 + count * PORT_RECORD.size:
        raise ProtocolError(f"STATUS announces {count} ports but carries {len(payload) - 1} bytes")
    ports = []
    for i in range(count):
        port, flags, current, energy = PORT_RECORD.unpack_from(payload, 1 + i * PORT_RECORD.size)
        ports.append(PortStatus(port, bool(flags & FLAG_POWERED), bool(flags & FLAG_PLUGGED), current * 10, energy))
    return ports


def encode_power(port: int, on: bool) -> bytes:
    return bytes((port, 1 if on else 0))


def decode_power(payload: bytes) -> tuple[int, bool]:
    if len(payload) != 2 or payload[1] not in (0, 1):
        raise ProtocolError("POWER needs a port and 0/1")
    return payload[0], payload[1] == 1


def encode_power_ack(port: int, on: bool, result: PowerResult) -> bytes:
    return bytes((port, 1 if on else 0, int(result)))


def decode_power_ack(payload: bytes) -> tuple[int, bool, PowerResult]:
    if len(payload) != 3:
        raise ProtocolError("POWER_ACK carries 3 bytes")
    try:
        result = PowerResult(payload[2])
    except ValueError:
        raise ProtocolError(f"unknown POWER result {payload[2]}") from None
    return payload[0], payload[1] == 1, result
