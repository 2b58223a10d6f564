"""One end of a lane link: sequence numbers, acknowledgements, retries, duplicate
filtering and heartbeats, on top of `protocol`.

Transport-agnostic: an `Endpoint` writes through a callback and is fed the bytes that
arrive. The console's driver and the simulated controller both use it; the rules are
those of `docs/gate-protocol.md`:

* every frame except HEARTBEAT, ACK and NAK is *reliable*: the receiver answers ACK (or
  NAK with a reason when the CRC is good but the content is refused);
* stop-and-wait: one reliable frame in flight per direction, retransmitted unchanged
  (same SEQ) after `ack_timeout`, up to `retries` times, then given up;
* the receiver remembers the SEQ of the last reliable frame it accepted from the peer; a
  frame with that SEQ again is a retransmission: ACK it again, do not act on it. HELLO
  makes the receiver forget (the peer has restarted its numbering);
* a HEARTBEAT goes out whenever nothing was sent for `heartbeat_interval`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Callable

from drivers.gate.protocol import (
    HEARTBEAT_FRAME,
    UNACKNOWLEDGED,
    Deframer,
    Frame,
    FrameError,
    MsgType,
    NakCode,
    PayloadError,
    ack,
    check_payload,
    decode_body,
    nak,
)


class Outcome(Enum):
    """What became of a reliable frame."""

    ACKED = "acked"
    REFUSED = "refused"  # the peer answered NAK
    NO_ACK = "no_ack"  # no answer after all retries
    CANCELLED = "cancelled"  # the link went down or was reset before an answer


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    frame: Frame
    attempts: int
    nak: int | None = None  # NakCode value when REFUSED

    def describe(self) -> str:
        if self.outcome is Outcome.REFUSED and self.nak is not None:
            return f"refused: {nak_text(self.nak)}"
        if self.outcome is Outcome.NO_ACK:
            return f"not acknowledged after {self.attempts} attempts"
        return self.outcome.value


_NAK_TEXT = {
    NakCode.UNKNOWN_TYPE: "message type not supported",
    NakCode.BAD_PAYLOAD: "malformed message",
    NakCode.UNSUPPORTED_VERSION: "protocol version not supported",
    NakCode.REFUSED_VEHICLE_ON_LOOP: "vehicle on the loop",
    NakCode.REFUSED_BARRIER_FAULT: "barrier in fault",
    NakCode.BUSY: "controller busy",
}


def nak_text(code: int) -> str:
    """Words for a NAK reason code."""
    try:
        return _NAK_TEXT[NakCode(code)]
    except (ValueError, KeyError):
        return f"reason 0x{code:02X}"


DoneCallback = Callable[[SendResult], None]
WriteFn = Callable[[bytes, Frame], bool]  # returns False when the bytes could not be written
TraceFn = Callable[[str, Frame, float], None]  # ("rx" | "tx", frame, monotonic time)


@dataclass(slots=True)
class _Outgoing:
    kind: MsgType
    payload: bytes
    on_done: DoneCallback | None


@dataclass(slots=True)
class _Pending:
    frame: Frame
    wire: bytes
    attempts: int
    deadline: float
    on_done: DoneCallback | None


# Counter names shared by the driver's health and the simulator's statistics.
REJECTED = "rejected_frames"
DUPLICATES = "duplicates"
RETRIES = "retries"
TIMEOUTS = "timeouts"
FRAMES_IN = "frames_in"
FRAMES_OUT = "frames_out"
NAKS_SENT = "naks_sent"
NAKS_RECEIVED = "naks_received"
STRAY_ACKS = "stray_acks"
WRITE_ERRORS = "write_errors"


class Endpoint:
    """Session layer of one end of the link. Thread-safe.

    `deliver(frame, kind)` receives each accepted reliable frame once, outside the lock.
    `on_valid(now)` hears of every valid frame (heartbeats included), under the lock.
    `judge(frame, kind)` may refuse a frame before it is acknowledged by returning a
    NakCode; it runs under the lock and must be quick and must not send.
    """

    def __init__(
        self,
        *,
        write: WriteFn,
        accept: frozenset[MsgType],
        deliver: Callable[[Frame, MsgType], None],
        judge: Callable[[Frame, MsgType], NakCode | None] | None = None,
        count: Callable[[str], None] | None = None,
        on_reject: Callable[[str], None] | None = None,
        on_valid: Callable[[float], None] | None = None,
        ack_timeout: float = 0.25,
        retries: int = 3,
        heartbeat_interval: float | None = 1.0,
        trace: TraceFn | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._accept = accept
        self._deliver = deliver
        self._judge = judge
        self._count = count or (lambda _name: None)
        self._on_reject = on_reject or (lambda _reason: None)
        self._on_valid = on_valid
        self.ack_timeout = ack_timeout
        self.retries = retries
        self.heartbeat_interval = heartbeat_interval
        self.trace = trace
        self._clock = clock
        self._lock = threading.RLock()
        self._deframer = Deframer()
        self._queue: deque[_Outgoing] = deque()
        self._pending: _Pending | None = None
        self._next_seq = 1
        self._last_in_seq: int | None = None
        self._last_tx = float("-inf")
        self._last_rx_byte = float("-inf")
        self.last_rx = float("-inf")  # monotonic time of the last valid frame received

    # -- sending ---------------------------------------------------------------------
    def submit(self, kind: MsgType, payload: bytes = b"", on_done: DoneCallback | None = None) -> None:
        """Queue a reliable frame; `on_done` hears its outcome (called from whichever
        thread settles it; keep it short)."""
        done: list[tuple[DoneCallback, SendResult]] = []
        with self._lock:
            self._queue.append(_Outgoing(kind, payload, on_done))
            if self._pending is None:
                self._send_next(self._clock(), done)
        _run(done)

    def send_unacknowledged(self, frame: Frame) -> bool:
        """Write a HEARTBEAT / ACK / NAK (or, for tests, any prepared frame) now."""
        with self._lock:
            return self._emit(frame, frame.encode(), self._clock())

    def send_raw(self, data: bytes) -> bool:
        """Write bytes as they are (line-noise injection in the simulator)."""
        with self._lock:
            try:
                return self._write(data, Frame(0, 0))
            except Exception:  # noqa: BLE001 - a transport error is a failed write, nothing more
                self._count(WRITE_ERRORS)
                return False

    def take_seq(self) -> int:
        """Allocate the next sequence number (1..255, wrapping, never 0)."""
        with self._lock:
            seq = self._next_seq
            self._next_seq = 1 if seq >= 0xFF else seq + 1
            return seq

    def _send_next(self, now: float, done: list[tuple[DoneCallback, SendResult]]) -> None:
        while self._pending is None and self._queue:
            item = self._queue.popleft()
            frame = Frame(self.take_seq(), item.kind, item.payload)
            try:
                wire = frame.encode()
            except ValueError as exc:  # payload too long: a programming error, refuse it
                if item.on_done is not None:
                    done.append((item.on_done, SendResult(Outcome.REFUSED, frame, 0, NakCode.BAD_PAYLOAD)))
                self._on_reject(f"not sent: {exc}")
                continue
            self._pending = _Pending(frame, wire, 1, now + self.ack_timeout, item.on_done)
            self._emit(frame, wire, now)

    def _emit(self, frame: Frame, wire: bytes, now: float) -> bool:
        try:
            ok = self._write(wire, frame)
        except Exception:  # noqa: BLE001 - the link owner notices the dead port separately
            ok = False
        if not ok:
            self._count(WRITE_ERRORS)
            return False
        self._last_tx = now
        self._count(FRAMES_OUT)
        if self.trace is not None:
            self.trace("tx", frame, self._clock())
        return True

    # -- timers ----------------------------------------------------------------------
    def poll(self, now: float | None = None) -> float:
        """Retransmit, give up, or send a heartbeat as due. Returns the next deadline."""
        done: list[tuple[DoneCallback, SendResult]] = []
        with self._lock:
            now = self._clock() if now is None else now
            p = self._pending
            if p is not None and now >= p.deadline:
                if p.attempts <= self.retries:
                    p.attempts += 1
                    p.deadline = now + self.ack_timeout
                    self._count(RETRIES)
                    self._emit(p.frame, p.wire, now)
                else:
                    self._pending = None
                    self._count(TIMEOUTS)
                    if p.on_done is not None:
                        done.append((p.on_done, SendResult(Outcome.NO_ACK, p.frame, p.attempts)))
                    self._send_next(now, done)
            if self.heartbeat_interval is not None and now - self._last_tx >= self.heartbeat_interval:
                self._emit(HEARTBEAT_FRAME, HEARTBEAT_FRAME.encode(), now)
            deadline = now + 1.0
            if self.heartbeat_interval is not None:
                deadline = min(deadline, self._last_tx + self.heartbeat_interval)
            if self._pending is not None:
                deadline = min(deadline, self._pending.deadline)
        _run(done)
        return deadline

    def expire_partial(self, now: float, inter_byte_timeout: float) -> None:
        """Drop a frame left unfinished for `inter_byte_timeout` (counted as rejected)."""
        with self._lock:
            if self._deframer.partial and now - self._last_rx_byte >= inter_byte_timeout:
                err = self._deframer.reset()
                if err is not None:
                    self._reject(str(err))

    def cancel_all(self) -> None:
        """Give up the frame in flight and everything queued (link lost, or the peer
        said HELLO and will get a fresh STATUS instead)."""
        done: list[tuple[DoneCallback, SendResult]] = []
        with self._lock:
            if self._pending is not None:
                p, self._pending = self._pending, None
                if p.on_done is not None:
                    done.append((p.on_done, SendResult(Outcome.CANCELLED, p.frame, p.attempts)))
            while self._queue:
                item = self._queue.popleft()
                if item.on_done is not None:
                    done.append((item.on_done, SendResult(Outcome.CANCELLED, Frame(0, item.kind, item.payload), 0)))
        _run(done)

    def restart_stream(self) -> None:
        """A new connection: forget any partial frame (not counted: it was the old line)."""
        with self._lock:
            self._deframer.reset()

    def forget_peer(self) -> None:
        """Forget the peer's last SEQ (the peer restarted its numbering)."""
        with self._lock:
            self._last_in_seq = None

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._pending is not None or bool(self._queue)

    @property
    def noise_bytes(self) -> int:
        return self._deframer.noise_bytes

    # -- receiving -------------------------------------------------------------------
    def feed(self, data: bytes, now: float | None = None) -> None:
        """Process bytes from the line."""
        delivered: list[tuple[Frame, MsgType]] = []
        done: list[tuple[DoneCallback, SendResult]] = []
        with self._lock:
            now = self._clock() if now is None else now
            self._last_rx_byte = now
            for item in self._deframer.feed(data):
                if isinstance(item, FrameError):
                    self._reject(str(item))
                    continue
                try:
                    frame = decode_body(item)
                except FrameError as exc:
                    self._reject(str(exc))
                    continue
                self._handle(frame, now, delivered, done)
        _run(done)
        for frame, kind in delivered:
            self._deliver(frame, kind)

    def _reject(self, reason: str) -> None:
        self._count(REJECTED)
        self._on_reject(reason)

    def _handle(
        self,
        frame: Frame,
        now: float,
        delivered: list[tuple[Frame, MsgType]],
        done: list[tuple[DoneCallback, SendResult]],
    ) -> None:
        try:
            kind = check_payload(frame, self._accept)
        except PayloadError as exc:
            self._reject(str(exc))
            if frame.kind not in UNACKNOWLEDGED:
                self._count(NAKS_SENT)
                self._emit_unacked(nak(frame.seq, exc.code), now)
            return
        self.last_rx = now
        self._count(FRAMES_IN)
        if self._on_valid is not None:
            self._on_valid(now)
        if self.trace is not None:
            self.trace("rx", frame, now)
        if kind is MsgType.HEARTBEAT:
            return
        if kind is MsgType.ACK or kind is MsgType.NAK:
            self._on_answer(frame, kind, now, done)
            return
        if kind is MsgType.HELLO:
            self._last_in_seq = None
        elif frame.seq == self._last_in_seq:
            self._count(DUPLICATES)
            self._emit_unacked(ack(frame.seq), now)
            return
        verdict = self._judge(frame, kind) if self._judge is not None else None
        if verdict is not None:
            self._count(NAKS_SENT)
            self._emit_unacked(nak(frame.seq, verdict), now)
            return
        self._emit_unacked(ack(frame.seq), now)
        self._last_in_seq = frame.seq
        delivered.append((frame, kind))

    def _on_answer(
        self, frame: Frame, kind: MsgType, now: float, done: list[tuple[DoneCallback, SendResult]]
    ) -> None:
        p = self._pending
        if p is None or p.frame.seq != frame.seq or self._drop_answer(frame):
            self._count(STRAY_ACKS)
            return
        self._pending = None
        if kind is MsgType.ACK:
            result = SendResult(Outcome.ACKED, p.frame, p.attempts)
        else:
            self._count(NAKS_RECEIVED)
            result = SendResult(Outcome.REFUSED, p.frame, p.attempts, frame.payload[0])
        if p.on_done is not None:
            done.append((p.on_done, result))
        self._send_next(now, done)

    def _drop_answer(self, frame: Frame) -> bool:
        """Hook for the simulator's "lost acknowledgement" fault; the real ends keep all."""
        return False

    def _emit_unacked(self, frame: Frame, now: float) -> None:
        self._emit(frame, frame.encode(), now)


def _run(done: list[tuple[DoneCallback, SendResult]]) -> None:
    for callback, result in done:
        callback(result)
