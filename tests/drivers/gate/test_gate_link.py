"""Session rules of the lane protocol (acknowledgement, retry, duplicate filter, HELLO,
heartbeat), with two endpoints wired back to back in memory and a hand-driven clock."""

from __future__ import annotations

from collections import Counter

from drivers.gate.link import Endpoint, Outcome, SendResult
from drivers.gate.protocol import (
    CONSOLE_SENDS,
    CONTROLLER_SENDS,
    Frame,
    MsgType,
    NakCode,
    ack,
    plate_read_payload,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Side:
    """One end: an Endpoint whose writes land in `wire` until delivered by hand."""

    def __init__(self, accept: frozenset[MsgType], clock: Clock, judge=None) -> None:  # type: ignore[no-untyped-def]
        self.wire: list[tuple[bytes, Frame]] = []
        self.got: list[Frame] = []
        self.counts: Counter[str] = Counter()
        self.results: list[SendResult] = []
        self.ep = Endpoint(
            write=self._write,
            accept=accept,
            deliver=lambda frame, kind: self.got.append(frame),
            judge=judge,
            count=lambda name: self.counts.update([name]),
            ack_timeout=0.25,
            retries=2,
            heartbeat_interval=1.0,
            clock=clock,
        )

    def _write(self, data: bytes, frame: Frame) -> bool:
        self.wire.append((data, frame))
        return True

    def take(self) -> list[tuple[bytes, Frame]]:
        out, self.wire = self.wire, []
        return out


def deliver(src: Side, dst: Side, drop: int = 0) -> None:
    """Move what `src` wrote to `dst`, losing the first `drop` frames."""
    for i, (data, _) in enumerate(src.take()):
        if i >= drop:
            dst.ep.feed(data)


def test_reliable_frame_is_acked_and_delivered_once() -> None:
    clock = Clock()
    ctl, con = Side(CONTROLLER_SENDS, clock), Side(CONSOLE_SENDS | CONTROLLER_SENDS, clock)
    ctl.ep.submit(MsgType.VEHICLE_PRESENT, on_done=ctl.results.append)
    assert [f.kind for _, f in ctl.wire] == [MsgType.VEHICLE_PRESENT]
    deliver(ctl, con)
    assert [f.kind for f in con.got] == [MsgType.VEHICLE_PRESENT]
    assert [f for _, f in con.wire] == [ack(1)]
    deliver(con, ctl)
    assert ctl.results[0].outcome is Outcome.ACKED and ctl.results[0].attempts == 1


def test_lost_ack_means_retransmission_which_is_deduplicated() -> None:
    clock = Clock()
    ctl, con = Side(CONTROLLER_SENDS, clock), Side(CONTROLLER_SENDS, clock)
    ctl.ep.submit(MsgType.PLATE_READ, plate_read_payload("AB1234C", 0.9), on_done=ctl.results.append)
    first = ctl.wire[0][0]
    deliver(ctl, con)
    con.take()  # the ACK is lost
    clock.now += 0.26
    ctl.ep.poll()
    (again, frame), = ctl.take()
    assert again == first and ctl.counts["retries"] == 1  # unchanged, same SEQ
    con.ep.feed(again)
    assert len(con.got) == 1 and con.counts["duplicates"] == 1
    deliver(con, ctl)  # the second ACK arrives
    assert ctl.results[0].outcome is Outcome.ACKED and ctl.results[0].attempts == 2


def test_gives_up_after_retries_then_sends_next() -> None:
    clock = Clock()
    ctl = Side(CONTROLLER_SENDS, clock)
    ctl.ep.submit(MsgType.VEHICLE_PRESENT, on_done=ctl.results.append)
    ctl.ep.submit(MsgType.VEHICLE_GONE, on_done=ctl.results.append)
    for _ in range(3):  # first try + 2 retries
        clock.now += 0.26
        ctl.ep.poll()
    assert ctl.results[0].outcome is Outcome.NO_ACK and ctl.results[0].attempts == 3
    kinds = [f.kind for _, f in ctl.wire]
    assert kinds.count(MsgType.VEHICLE_PRESENT) == 3 and kinds[-1] == MsgType.VEHICLE_GONE
    assert ctl.counts["timeouts"] == 1


def test_nak_for_refused_and_malformed_frames() -> None:
    clock = Clock()
    con = Side(CONSOLE_SENDS, clock)
    ctl = Side(CONSOLE_SENDS, clock, judge=lambda f, k: NakCode.REFUSED_VEHICLE_ON_LOOP if k is MsgType.CLOSE else None)
    con.ep.submit(MsgType.CLOSE, on_done=con.results.append)
    deliver(con, ctl)
    assert ctl.got == [] and ctl.counts["naks_sent"] == 1
    deliver(ctl, con)
    assert con.results[0].outcome is Outcome.REFUSED
    assert con.results[0].describe() == "refused: vehicle on the loop"
    # Good CRC, unknown TYPE: rejected, counted and answered NAK (no retry storm).
    ctl.ep.feed(Frame(9, 0x7E).encode())
    assert ctl.counts["rejected_frames"] == 1
    assert [f.kind for _, f in ctl.take()] == [MsgType.NAK]
    # Bad CRC: rejected silently (the SEQ cannot be trusted).
    raw = bytearray(Frame(9, MsgType.OPEN).encode())
    raw[-2] ^= 0x01
    ctl.ep.feed(bytes(raw))
    assert ctl.counts["rejected_frames"] == 2 and ctl.take() == []


def test_hello_resets_the_duplicate_filter() -> None:
    clock = Clock()
    con = Side(CONTROLLER_SENDS, clock)
    con.ep.feed(Frame(1, MsgType.VEHICLE_PRESENT).encode())
    con.ep.feed(Frame(1, MsgType.VEHICLE_PRESENT).encode())
    assert len(con.got) == 1  # the repeat was a retransmission
    # The controller restarts: HELLO, and its numbering starts over at 1.
    con.ep.feed(Frame(1, MsgType.HELLO, b"\x01").encode())
    con.ep.feed(Frame(2, MsgType.VEHICLE_GONE).encode())
    con.ep.feed(Frame(1, MsgType.VEHICLE_PRESENT).encode())
    assert [f.kind for f in con.got] == [MsgType.VEHICLE_PRESENT, MsgType.HELLO, MsgType.VEHICLE_GONE, MsgType.VEHICLE_PRESENT]


def test_sequence_wraps_and_skips_zero() -> None:
    clock = Clock()
    ctl = Side(CONTROLLER_SENDS, clock)
    seqs = [ctl.ep.take_seq() for _ in range(300)]
    assert 0 not in seqs and seqs[0] == 1 and seqs[254] == 255 and seqs[255] == 1


def test_heartbeat_when_idle_only() -> None:
    clock = Clock()
    ctl = Side(CONTROLLER_SENDS, clock)
    ctl.ep.poll()
    assert [f.kind for _, f in ctl.take()] == [MsgType.HEARTBEAT]
    clock.now += 0.5
    ctl.ep.send_unacknowledged(ack(5))  # any frame counts as "not idle"
    ctl.take()
    clock.now += 0.6  # 0.6 s since the last frame: not idle long enough
    ctl.ep.poll()
    assert ctl.take() == []
    clock.now += 0.4
    ctl.ep.poll()
    kinds = [f.kind for _, f in ctl.take()]
    assert MsgType.HEARTBEAT in kinds


def test_stray_and_unexpected_answers_change_nothing() -> None:
    clock = Clock()
    ctl = Side(CONTROLLER_SENDS, clock)
    ctl.ep.feed(ack(77).encode())
    ctl.ep.feed(Frame(0, MsgType.HEARTBEAT, b"\x01").encode())  # malformed heartbeat: no NAK
    assert ctl.counts["stray_acks"] == 1 and ctl.counts["rejected_frames"] == 1
    assert ctl.take() == []
