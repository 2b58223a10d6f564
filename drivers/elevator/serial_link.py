"""Elevator controller over a serial link (RS-232/RS-485 adapter, pty, TCP serial server).

Any pyserial URL works: a device path with line settings in the query
(`/dev/ttyUSB2?baud=9600&parity=N`), `socket://host:port`, `rfc2217://host:port`,
`loop://`. The serial line's reader thread (`drivers.serialline`) owns the port: it reads
and decodes frames, acknowledges them, sends the console's heartbeat, and has the port
reopened whenever it fails or falls silent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from drivers.elevator.base import ElevatorDriver, ElevatorEvent, ElevatorEventKind
from drivers.elevator.protocol import (
    ACKED_TYPES,
    PROTOCOL_VERSION,
    BodyError,
    CarAtFloor,
    CardSwiped,
    FrameDecoder,
    Hello,
    MsgType,
    Packet,
    body_ack,
    decode_body,
    encode_frame,
    is_known_type,
)
from drivers.health import HealthState
from drivers.serialline import (
    LineParams,
    LineSettings,
    LineURL,
    SerialLine,
    SerialURLError,
)

log = logging.getLogger(__name__)


class ElevatorURLError(SerialURLError):
    """An elevator controller URL this build cannot open."""


def parse_serial_url(url: str) -> LineSettings:
    """The port and line settings of an elevator controller URL (the serial line grammar
    of `drivers.serialline.url`; the controller takes no options of its own). Raises
    ElevatorURLError."""
    return LineURL(url, kind="elevator controller", error=ElevatorURLError).settings()


@dataclass(frozen=True, slots=True)
class LinkTiming:
    """Timings of the serial link, in seconds."""

    heartbeat: float = 1.0  # console heartbeat period
    silence: float = 3.0  # no valid frame for this long: DEGRADED (the controller beats every second)
    reopen_after: float = 10.0  # no valid frame for this long: close and reopen the port
    retry: float = 0.5  # longest wait between attempts to open a missing port (the first is 0.05 s)
    duplicate_window: float = 5.0  # a repeated frame within this time is a retransmission
    degraded_hold: float = 10.0  # rejected frames keep the link DEGRADED this long
    poll: float = 0.05  # read timeout; bounds the reaction time to stop()


_EVENT_KINDS = {
    MsgType.CAR_ARRIVED: ElevatorEventKind.CAR_ARRIVED,
    MsgType.DOORS_OPENED: ElevatorEventKind.DOORS_OPENED,
    MsgType.DOORS_CLOSED: ElevatorEventKind.DOORS_CLOSED,
}


class SerialElevator(ElevatorDriver):
    """The elevator controller protocol over any pyserial URL."""

    def __init__(self, name: str, url: str, timing: LinkTiming | None = None) -> None:
        super().__init__(name)
        self.url = url
        self.settings = parse_serial_url(url)
        self.timing = timing or LinkTiming()
        t = self.timing
        self.line = SerialLine(
            f"elevator-{name}",
            LineParams(
                self.settings,
                read_timeout=t.poll,
                write_timeout=0.5,
                reconnect_delay=min(0.05, t.retry),
                reconnect_delay_max=t.retry,
            ),
            self,
            self.health,
        )
        # A whole frame (71 bytes at most) must fit the stale limit with room to spare.
        self._decoder = FrameDecoder(stale_after=max(0.5, 3 * 71 * 10 / self.settings.baudrate))
        self._tx_seq = 0
        self._last_seq: int | None = None
        self._recent: dict[int, tuple[int, bytes, float]] = {}  # seq -> (type, body, when)
        self._last_rejection = -1e9
        self._accounted = (0, 0, 0, 0)
        # The connection now open (the line's reader thread only).
        self._opened_at = 0.0
        self._last_valid = 0.0
        self._heard = False
        self._next_beat = 0.0

    # -- lifecycle ------------------------------------------------------------------------
    def _start(self) -> None:
        self.health.set(HealthState.CONNECTING, f"opening {self.settings.port_url}")
        self.line.start()

    def stop(self) -> None:
        self.line.stop()
        self.health.set(HealthState.OFFLINE, "stopped")

    # -- the line (its reader thread) -------------------------------------------------------
    def open_failed(self, reason: str) -> None:
        self.health.set(HealthState.OFFLINE, reason)

    def connection_made(self, note: str) -> None:
        if note:
            log.warning("%s: %s", self.name, note)
        self._decoder.reset()
        self._last_seq = None
        self.health.set(HealthState.CONNECTING, "link open, waiting for the controller")
        self._opened_at = self._last_valid = self._next_beat = time.monotonic()
        self._heard = False

    def data_received(self, data: bytes, now: float) -> None:
        self._receive(data, now)

    def tick(self, now: float) -> None:
        self._receive(b"", now)  # lets a frame that never completes go stale
        self._account_decoder(now)
        t = self.timing
        if now >= self._next_beat:
            self._send(MsgType.CONSOLE_HEARTBEAT, b"")
            self._next_beat = now + t.heartbeat
        silence = now - self._last_valid
        if silence > t.reopen_after:
            self.line.reconnect("controller silent; reopening the port")
        elif not self._heard:
            if now - self._opened_at > t.silence:
                self.health.set(HealthState.DEGRADED, "link open, but the controller says nothing")
        elif silence > t.silence:
            self.health.set(HealthState.DEGRADED, "controller silent (no heartbeat)")
        elif now - self._last_rejection < t.degraded_hold:
            self.health.set(HealthState.DEGRADED, "rejecting malformed frames (see counters)")
        else:
            self.health.set(HealthState.OK, "controller talking")

    def connection_lost(self, reason: str) -> None:
        if reason != "stopped":
            self.health.set(HealthState.OFFLINE, reason)

    def _receive(self, data: bytes, now: float) -> None:
        for packet in self._decoder.feed(data, now):
            if not self._heard:
                self._heard = True
                self.line.answered()
            self._last_valid = now
            self._handle(packet, now)

    def _send(self, msg_type: int, body: bytes) -> None:
        # A write that fails is lost: the controller repeats unacknowledged frames, so a
        # lost ACK costs a duplicate, not an event.
        self.line.write(encode_frame(self._tx_seq, msg_type, body))
        self._tx_seq = (self._tx_seq + 1) & 0xFF

    def _account_decoder(self, now: float) -> None:
        st = self._decoder.stats
        current = (st.bad_crc, st.bad_length, st.stale, st.discarded_bytes)
        prev = self._accounted
        if current == prev:
            return
        self._accounted = current
        for name, new, old in zip(
            ("bad_crc", "bad_length", "stale_frames", "discarded_bytes"), current, prev, strict=True
        ):
            if new != old:
                self.health.count(name, new - old)
        rejected = sum(current[:3]) - sum(prev[:3])
        if rejected:
            self.health.count("rejected_frames", rejected)
            self._last_rejection = now

    def _reject(self, counter: str, now: float) -> None:
        self.health.count(counter)
        self.health.count("rejected_frames")
        self._last_rejection = now

    # -- frames ---------------------------------------------------------------------------
    def _handle(self, packet: Packet, now: float) -> None:
        self.health.count("frames")
        if not is_known_type(packet.msg_type):
            self._reject("unknown_type", now)
            return
        if packet.msg_type >= 0x80:
            # A console-side frame coming back: an echoing line or a wiring loop.
            self._reject("wrong_direction", now)
            return
        try:
            message = decode_body(packet)
        except BodyError as exc:
            log.debug("%s: %s", self.name, exc)
            self._reject("bad_body", now)
            return
        acked = packet.msg_type in ACKED_TYPES
        if acked:
            # Acknowledge repeats too: the controller repeats because our ACK was lost.
            self._send(MsgType.ACK, body_ack(packet.seq))
            seen = self._recent.get(packet.seq)
            if (
                seen is not None
                and seen[:2] == (packet.msg_type, packet.body)
                and now - seen[2] < self.timing.duplicate_window
            ):
                self.health.count("duplicates")
                return
            self._recent[packet.seq] = (packet.msg_type, packet.body, now)
        if isinstance(message, Hello):
            self._last_seq = packet.seq  # a restarted controller counts from anew
        else:
            self._track_sequence(packet.seq)
        if isinstance(message, Hello):
            if message.version != PROTOCOL_VERSION:
                self.health.count("version_mismatch")
                log.warning("%s: controller speaks protocol version %d", self.name, message.version)
            self._recent = {packet.seq: (packet.msg_type, packet.body, now)}
            self._deliver(ElevatorEvent(ElevatorEventKind.CONTROLLER_RESTARTED, car=0, seq=packet.seq))
        elif isinstance(message, CardSwiped):
            self._deliver(
                ElevatorEvent(
                    ElevatorEventKind.CARD_SWIPED,
                    car=message.car,
                    floor=message.floor,
                    card=message.card,
                    seq=packet.seq,
                )
            )
        elif isinstance(message, CarAtFloor):
            kind = _EVENT_KINDS[MsgType(packet.msg_type)]
            self._deliver(ElevatorEvent(kind, car=message.car, floor=message.floor, seq=packet.seq))

    def _track_sequence(self, seq: int) -> None:
        """Count frames lost on the line (a jump in the controller's sequence numbers)."""
        if self._last_seq is None:
            self._last_seq = seq
            return
        ahead = (seq - self._last_seq) & 0xFF
        if ahead == 0 or ahead >= 128:
            # A repeat of an event whose first copy was lost, arriving after the
            # heartbeat that followed it: late, not new. Keep the newest number.
            return
        if ahead > 1:
            self.health.count("missed_frames", ahead - 1)
        self._last_seq = seq

    def _deliver(self, event: ElevatorEvent) -> None:
        self.health.count("events")
        self._emit(event)  # guarded: a faulty listener must not take the link down
