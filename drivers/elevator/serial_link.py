"""Elevator controller over a serial link (RS-232/RS-485 adapter, pty, TCP serial server).

Any pyserial URL works: a device path with line settings in the query
(`/dev/ttyUSB2?baud=9600&parity=N`), `socket://host:port`, `rfc2217://host:port`,
`loop://`. One thread owns the port: it reads and decodes frames, acknowledges them,
sends the console's heartbeat, and reopens the port whenever it fails or falls silent.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import serial
import serial.rs485

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

log = logging.getLogger(__name__)

_PARITIES = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
}
_STOPBITS = {"1": serial.STOPBITS_ONE, "1.5": serial.STOPBITS_ONE_POINT_FIVE, "2": serial.STOPBITS_TWO}
_OUR_OPTIONS = {"baud", "parity", "stopbits", "bytesize", "rs485"}


class ElevatorURLError(ValueError):
    """An elevator controller URL this build cannot open."""


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """Where the controller is and the line settings to use."""

    port_url: str  # what pyserial's serial_for_url receives
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = serial.PARITY_NONE
    stopbits: float = serial.STOPBITS_ONE
    rs485: bool = False


def parse_serial_url(url: str) -> SerialSettings:
    """Split our line options (baud, parity, stopbits, bytesize, rs485) off a pyserial URL.

    Options pyserial understands for a scheme (e.g. `logging=debug` on `socket://`) stay
    in the URL; a plain device path accepts only ours. Raises ElevatorURLError.
    """
    if not url or not url.strip():
        raise ElevatorURLError("empty elevator controller URL")
    base, _, query = url.partition("?")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ElevatorURLError(f"{url}: malformed query string") from None
    ours = {k: v for k, v in pairs if k in _OUR_OPTIONS}
    rest = [(k, v) for k, v in pairs if k not in _OUR_OPTIONS]
    has_scheme = "://" in base
    if rest and not has_scheme:
        raise ElevatorURLError(f"{url}: unknown option(s) {', '.join(k for k, _ in rest)}")
    if has_scheme and urlsplit(base).scheme not in ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep"):
        raise ElevatorURLError(f"{url}: unsupported scheme {urlsplit(base).scheme!r}")
    try:
        baud = int(ours.get("baud", "9600"))
        bytesize = int(ours.get("bytesize", "8"))
    except ValueError:
        raise ElevatorURLError(f"{url}: baud and bytesize must be integers") from None
    if baud <= 0:
        raise ElevatorURLError(f"{url}: baud must be positive")
    if bytesize not in (5, 6, 7, 8):
        raise ElevatorURLError(f"{url}: bytesize must be 5..8")
    parity = ours.get("parity", "N").upper()
    if parity not in _PARITIES:
        raise ElevatorURLError(f"{url}: parity must be one of {''.join(_PARITIES)}")
    stopbits = ours.get("stopbits", "1")
    if stopbits not in _STOPBITS:
        raise ElevatorURLError(f"{url}: stopbits must be 1, 1.5 or 2")
    rs485 = ours.get("rs485", "0").lower() in ("1", "true", "yes", "on")
    port_url = base + ("?" + urlencode(rest) if rest else "")
    return SerialSettings(port_url, baud, bytesize, _PARITIES[parity], _STOPBITS[stopbits], rs485)


@dataclass(frozen=True, slots=True)
class LinkTiming:
    """Timings of the serial link, in seconds."""

    heartbeat: float = 1.0  # console heartbeat period
    silence: float = 3.0  # no valid frame for this long: DEGRADED (the controller beats every second)
    reopen_after: float = 10.0  # no valid frame for this long: close and reopen the port
    retry: float = 0.5  # wait between attempts to open a missing port
    duplicate_window: float = 5.0  # a repeated frame within this time is a retransmission
    degraded_hold: float = 10.0  # rejected frames keep the link DEGRADED this long
    poll: float = 0.05  # read timeout; bounds the reaction time to stop()


_EVENT_KINDS = {
    MsgType.CAR_ARRIVED: ElevatorEventKind.CAR_ARRIVED,
    MsgType.DOORS_OPENED: ElevatorEventKind.DOORS_OPENED,
    MsgType.DOORS_CLOSED: ElevatorEventKind.DOORS_CLOSED,
}


class _Silent(Exception):
    """The port is open but the controller has said nothing for too long."""


class SerialElevator(ElevatorDriver):
    """The elevator controller protocol over any pyserial URL."""

    def __init__(self, name: str, url: str, timing: LinkTiming | None = None) -> None:
        super().__init__(name)
        self.url = url
        self.settings = parse_serial_url(url)
        self.timing = timing or LinkTiming()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # A whole frame (71 bytes at most) must fit the stale limit with room to spare.
        self._decoder = FrameDecoder(stale_after=max(0.5, 3 * 71 * 10 / self.settings.baudrate))
        self._tx_seq = 0
        self._last_seq: int | None = None
        self._recent: dict[int, tuple[int, bytes, float]] = {}  # seq -> (type, body, when)
        self._last_rejection = -1e9
        self._accounted = (0, 0, 0, 0)

    # -- lifecycle ------------------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"elevator-{self.name}")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2)
        self.health.set(HealthState.OFFLINE, "stopped")

    # -- the link thread ------------------------------------------------------------------
    def _run(self) -> None:
        self.health.set(HealthState.CONNECTING, f"opening {self.settings.port_url}")
        opened_before = False
        while not self._stop.is_set():
            port = self._open()
            if port is None:
                self._stop.wait(self.timing.retry)
                continue
            if opened_before:
                self.health.count("reconnects")
            opened_before = True
            try:
                self._serve(port)
            except _Silent:
                self.health.set(HealthState.OFFLINE, "controller silent; reopening the port")
            except (serial.SerialException, OSError) as exc:
                self.health.set(HealthState.OFFLINE, f"link lost: {exc}")
            except Exception as exc:  # a bug (ours or a listener's) must not end the link for good
                log.exception("%s: link thread failed", self.name)
                self.health.count("internal_errors")
                self._stop.wait(self.timing.retry)
                self.health.set(HealthState.OFFLINE, f"internal error: {exc}")
            finally:
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    pass

    def _open(self) -> serial.SerialBase | None:
        s = self.settings
        try:
            port = serial.serial_for_url(
                s.port_url,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=self.timing.poll,
                write_timeout=0.5,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self.health.count("open_failures")
            self.health.set(HealthState.OFFLINE, f"cannot open {s.port_url}: {exc}")
            return None
        if s.rs485:
            try:
                port.rs485_mode = serial.rs485.RS485Settings()
            except (ValueError, serial.SerialException, OSError) as exc:
                # Many adapters switch direction in hardware; the link still works.
                self.health.count("rs485_unsupported")
                log.warning("%s: RS-485 mode not available on %s: %s", self.name, s.port_url, exc)
        return port

    def _serve(self, port: serial.SerialBase) -> None:
        if "://" not in self.settings.port_url:
            # A local port may hold bytes queued while nobody listened: they belong to
            # a link that no longer exists. (A fresh TCP connection holds only new ones.)
            port.reset_input_buffer()
        self._decoder.reset()
        self._last_seq = None
        self.health.set(HealthState.CONNECTING, "link open, waiting for the controller")
        t = self.timing
        opened_at = last_valid = time.monotonic()
        heard = False
        next_beat = opened_at
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting))
            now = time.monotonic()
            for packet in self._decoder.feed(data, now):
                heard = True
                last_valid = now
                self._handle(port, packet, now)
            self._account_decoder(now)
            if now >= next_beat:
                self._send(port, MsgType.CONSOLE_HEARTBEAT, b"")
                next_beat = now + t.heartbeat
            silence = now - last_valid
            if silence > t.reopen_after:
                raise _Silent()
            if not heard:
                if now - opened_at > t.silence:
                    self.health.set(HealthState.DEGRADED, "link open, but the controller says nothing")
            elif silence > t.silence:
                self.health.set(HealthState.DEGRADED, "controller silent (no heartbeat)")
            elif now - self._last_rejection < t.degraded_hold:
                self.health.set(HealthState.DEGRADED, "rejecting malformed frames (see counters)")
            else:
                self.health.set(HealthState.OK, "controller talking")

    def _send(self, port: serial.SerialBase, msg_type: int, body: bytes) -> None:
        frame = encode_frame(self._tx_seq, msg_type, body)
        self._tx_seq = (self._tx_seq + 1) & 0xFF
        try:
            port.write(frame)
        except serial.SerialTimeoutException:
            # The line is stuck (flow control, a full TCP buffer): the controller repeats
            # unacknowledged frames, so a lost ACK costs a duplicate, not an event.
            self.health.count("write_timeouts")

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
    def _handle(self, port: serial.SerialBase, packet: Packet, now: float) -> None:
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
            self._send(port, MsgType.ACK, body_ack(packet.seq))
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
        try:
            self._emit(event)
        except Exception:  # a faulty listener must not take the link down
            self.health.count("listener_errors")
            log.exception("%s: event listener failed on %s", self.name, event.kind.value)
