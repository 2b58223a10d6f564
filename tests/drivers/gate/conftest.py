"""Fixtures for lane controller driver tests: simulated controllers on real ptys and
loopback sockets, and the real drivers attached to them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from drivers.gate.base import GateDriver, GateEvent, GateEventKind, LaneRole
from drivers.gate.serial_driver import SerialGate
from drivers.gate.sim_serial import PtyLaneSimulator
from drivers.gate.simlane import FAST_TIMING, SimTiming
from drivers.gate.simworld import Traffic
from drivers.health import DeviceHealth, HealthState

# Fast link timings for tests; the heartbeat timeout keeps a margin for a busy machine.
FAST_LINK = "heartbeat=0.2&heartbeat_timeout=1.0&ack_timeout=0.1&retries=3&reconnect_max=0.2&barrier_timeout=2"


class Recorder:
    """Collects events and health reports from driver threads; waits for conditions."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self.events: list[GateEvent] = []
        self.health: list[DeviceHealth] = []
        self.responder: Callable[[GateEvent], None] | None = None

    def on_event(self, event: GateEvent) -> None:
        with self._cv:
            self.events.append(event)
            self._cv.notify_all()
        if self.responder is not None:
            self.responder(event)

    def on_health(self, health: DeviceHealth) -> None:
        with self._cv:
            self.health.append(health)
            self._cv.notify_all()

    def kinds(self, kind: GateEventKind) -> list[GateEvent]:
        with self._cv:
            return [e for e in self.events if e.kind is kind]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> float:
        """Wait until `predicate()` holds; return the seconds it took."""
        start = time.monotonic()
        deadline = start + timeout
        with self._cv:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what} not reached within {timeout} s")
                self._cv.wait(min(left, 0.02))
        return time.monotonic() - start

    def wait_event(self, kind: GateEventKind, count: int = 1, timeout: float = 5.0) -> list[GateEvent]:
        self.wait_for(lambda: len(self.kinds(kind)) >= count, timeout, f"{count} x {kind.value}")
        return self.kinds(kind)

    def wait_state(self, driver: GateDriver, state: HealthState, timeout: float = 5.0) -> float:
        return self.wait_for(lambda: driver.health_snapshot().state is state, timeout, f"health {state.value}")


LaneFactory = Callable[..., tuple[PtyLaneSimulator, SerialGate, Recorder]]


@pytest.fixture
def serial_lane() -> Iterator[LaneFactory]:
    """Build a simulated controller on a pty plus the real driver on it, started."""
    made: list[tuple[PtyLaneSimulator, SerialGate]] = []

    def make(
        role: LaneRole = LaneRole.EXIT,
        timing: SimTiming = FAST_TIMING,
        options: str = FAST_LINK,
        open_on_plate: bool = False,
        wait_up: bool = True,
        **sim_options: object,
    ) -> tuple[PtyLaneSimulator, SerialGate, Recorder]:
        sim_options.setdefault("heartbeat", 0.2)
        sim_options.setdefault("heartbeat_timeout", 1.0)
        sim_options.setdefault("ack_timeout", 0.1)
        sim = PtyLaneSimulator(role, Traffic(seed=11), timing=timing, **sim_options)  # type: ignore[arg-type]
        sim.start()
        driver = SerialGate.from_url(f"lane-{role.value}", f"{sim.url}?{options}")
        rec = Recorder()
        if open_on_plate:
            rec.responder = lambda e: driver.open_barrier() if e.kind is GateEventKind.PLATE_READ else None
        made.append((sim, driver))
        driver.start(rec.on_event, rec.on_health)
        if wait_up:
            rec.wait_state(driver, HealthState.OK)
            # HELLO answered and STATUS through: tests start from a quiet link.
            rec.wait_event(GateEventKind.BARRIER_CLOSED)
            rec.wait_for(lambda: not sim.endpoint.busy and not driver.endpoint.busy, what="quiet link")
        return sim, driver, rec

    yield make
    for sim, driver in made:
        driver.stop()
        sim.stop()


@pytest.fixture
def recorder_type() -> type[Recorder]:
    """The Recorder class, for tests that wire a driver by hand."""
    return Recorder


@pytest.fixture
def fast_link() -> str:
    """Driver URL options with test-friendly timings."""
    return FAST_LINK
