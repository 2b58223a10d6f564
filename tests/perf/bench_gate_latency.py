"""Plate-to-open latency of a lane on the serial lane protocol.

Measured from the moment the plate frame's last byte is written on the pty (simulated
controller side) to the moment the OPEN command's last byte arrives back at the
simulated controller, with a responder that opens the barrier on every plate read.
The responder is a plain function, so the same probe can later measure the whole site
(run headless) instead of this direct one.

A pty moves bytes at memory speed whatever the baud rate, so the software latency is
printed beside the wire time a real line adds at the configured baud rate
(frame bytes x 10 bits / baud: start bit, 8 data bits, stop bit).

    .venv/bin/python tests/perf/bench_gate_latency.py [--events 10000] [--baud 9600]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from drivers.gate.base import GateDriver, GateEvent, GateEventKind, LaneRole  # noqa: E402
from drivers.gate.protocol import Frame, MsgType  # noqa: E402
from drivers.gate.serial_driver import SerialGate  # noqa: E402
from drivers.gate.sim_serial import PtyLaneSimulator  # noqa: E402
from drivers.gate.simlane import FAST_TIMING  # noqa: E402
from drivers.gate.simworld import Traffic  # noqa: E402

Responder = Callable[[GateDriver, GateEvent], None]


def open_on_plate(driver: GateDriver, event: GateEvent) -> None:
    """The simplest booth: every plate read opens the barrier."""
    if event.kind is GateEventKind.PLATE_READ:
        driver.open_barrier()


class LatencyProbe:
    """A simulated exit lane on a pty that timestamps plate frames going out and OPEN
    commands coming back. Give `url` to whatever should answer (a driver with a
    responder, or a whole site), then `run()`."""

    def __init__(self, seed: int = 1, role: LaneRole = LaneRole.EXIT) -> None:
        self.sim = PtyLaneSimulator(role, Traffic(seed=seed), timing=FAST_TIMING)
        self.sim.trace = self._trace
        self._lock = threading.Condition()
        self.plate_sent: list[float] = []
        self.open_seen: list[float] = []
        self.plate_bytes: list[int] = []
        self.open_bytes: list[int] = []
        self.ack_bytes: list[int] = []
        self._last_plate_seq: int | None = None
        self._issued = 0  # plates are never reused: a site refuses a plate already inside
        self._last_open_seq: int | None = None

    @property
    def url(self) -> str:
        return self.sim.url

    def start(self) -> None:
        self.sim.start()

    def stop(self) -> None:
        self.sim.stop()

    def _trace(self, direction: str, frame: Frame, at: float) -> None:
        with self._lock:
            if direction == "tx" and frame.kind == MsgType.PLATE_READ:
                if frame.seq != self._last_plate_seq:  # a retransmission is not a new plate
                    self._last_plate_seq = frame.seq
                    self.plate_sent.append(at)
                    self.plate_bytes.append(len(frame.encode()))
            elif direction == "rx" and frame.kind == MsgType.OPEN:
                if frame.seq != self._last_open_seq:
                    self._last_open_seq = frame.seq
                    self.open_seen.append(at)
                    self.open_bytes.append(len(frame.encode()))
                    self._lock.notify_all()
            elif direction == "rx" and frame.kind == MsgType.ACK and len(self.ack_bytes) < 1000:
                self.ack_bytes.append(len(frame.encode()))

    def run(self, events: int, timeout: float = 600.0) -> list[float]:
        """Send `events` vehicles through the lane; return each plate-to-open latency (s)."""
        with self._lock:
            first = len(self.open_seen)
        for _ in range(events):
            self.sim.arrive(f"BX{self._issued:05d}")
            self._issued += 1
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.open_seen) < first + events:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"only {len(self.open_seen) - first} of {events} opens arrived")
                self._lock.wait(min(left, 1.0))
            # The lane serves one vehicle at a time and waits for the barrier, so plate
            # frame i and OPEN command i pair up in order.
            sent = self.plate_sent[first : first + events]
            seen = self.open_seen[first : first + events]
        return [b - a for a, b in zip(sent, seen)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None, responder: Responder = open_on_plate) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args(argv)

    probe = LatencyProbe()
    probe.start()
    driver = SerialGate.from_url("bench lane", f"{probe.url}?baud={args.baud}")
    up = threading.Event()
    driver.start(lambda e: responder(driver, e), lambda h: up.set() if h.state.value == "ok" else None)
    try:
        if not up.wait(5):
            raise SystemExit("the lane controller never came up")
        probe.run(args.warmup)
        started = time.monotonic()
        lat = probe.run(args.events)
        wall = time.monotonic() - started
    finally:
        driver.stop()
        probe.stop()

    ms = [x * 1000 for x in lat]
    plate_b = statistics.mean(probe.plate_bytes)
    open_b = statistics.mean(probe.open_bytes)
    ack_b = statistics.mean(probe.ack_bytes) if probe.ack_bytes else 7.0

    def wire(n: float) -> float:
        return n * 10 / args.baud * 1000

    result = {
        "median_ms": statistics.median(ms),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
        "wire_ms": wire(plate_b + ack_b + open_b),
    }
    print(f"plate frame written -> OPEN received, {len(ms)} events over a pty ({wall:.1f} s, {len(ms) / wall:.0f} vehicles/s)")
    print(
        f"  software: median {result['median_ms']:.3f} ms   p90 {percentile(ms, 90):.3f} ms   "
        f"p99 {result['p99_ms']:.3f} ms   max {result['max_ms']:.3f} ms   (goal p99 < 10 ms)"
    )
    print(
        f"  wire at {args.baud} baud: plate frame {plate_b:.1f} B = {wire(plate_b):.1f} ms, "
        f"ACK {ack_b:.1f} B = {wire(ack_b):.1f} ms, OPEN {open_b:.1f} B = {wire(open_b):.1f} ms; "
        f"a real line adds about {result['wire_ms']:.1f} ms (plate + ACK + OPEN)"
    )
    return result


if __name__ == "__main__":
    main()
