"""Fixtures for elevator driver tests: a simulated building on a real pty and the real
serial driver attached to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from drivers.elevator import (
    FAST_TIMING,
    ElevatorEvent,
    ElevatorEventKind,
    ElevatorSimulator,
    LinkTiming,
    SerialElevator,
)
from drivers.health import DeviceHealth, HealthState


class Recorder:
    """Collects events and health reports from driver threads; waits for conditions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[ElevatorEvent] = []
        self.health: list[DeviceHealth] = []

    def on_event(self, event: ElevatorEvent) -> None:
        with self._lock:
            self.events.append(event)

    def on_health(self, health: DeviceHealth) -> None:
        with self._lock:
            self.health.append(health)

    def rides(self) -> list[ElevatorEvent]:
        """Events other than controller restarts."""
        with self._lock:
            return [e for e in self.events if e.kind is not ElevatorEventKind.CONTROLLER_RESTARTED]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.005)
        return predicate()

    def wait_events(self, n: int, timeout: float = 5.0) -> list[ElevatorEvent]:
        assert self.wait_for(lambda: len(self.rides()) >= n, timeout), f"only {self.rides()} after {timeout}s"
        return self.rides()


def wait_state(driver: SerialElevator, state: HealthState, timeout: float = 5.0) -> float:
    """Seconds until the driver reports `state` (fails the test on timeout)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if driver.health_snapshot().state is state:
            return time.monotonic() - start
        time.sleep(0.005)
    raise AssertionError(f"{driver.name} stayed {driver.health_snapshot()} instead of {state}")


@pytest.fixture
def building() -> Iterator[ElevatorSimulator]:
    sim = ElevatorSimulator(cars=2, lowest=-2, highest=10, timing=FAST_TIMING, seed=7)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def new_recorder() -> Callable[[], Recorder]:
    """Make more recorders (for tests that build their own drivers)."""
    return Recorder


@pytest.fixture
def wait_health() -> Callable[[SerialElevator, HealthState, float], float]:
    """`wait_state` as a fixture: seconds until a driver reports a state."""
    return wait_state


@pytest.fixture
def driver(building: ElevatorSimulator, recorder: Recorder) -> Iterator[SerialElevator]:
    drv = SerialElevator("elevator-test", building.url, LinkTiming(degraded_hold=0.5))
    drv.start(recorder.on_event, recorder.on_health)
    # The HELLO of the controller's start-up tells us the link works end to end.
    assert recorder.wait_for(
        lambda: any(e.kind is ElevatorEventKind.CONTROLLER_RESTARTED for e in recorder.events), 5.0
    )
    yield drv
    drv.stop()
