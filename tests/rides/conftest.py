"""Fixtures for elevator ride tests: exit-camera videos written with OpenCV from
scikit-image's photographs, and services on the simulated building (real serial driver
over a pseudo-terminal)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from skimage import data

from console.domain.clock import Clock
from console.site.elevator import ElevatorService
from console.site.elevator_config import ElevatorSection
from console.site.events import DeviceHealthChanged
from console.store.database import Store
from drivers.camera.scene import Box, compose, lobby_background, placed_box
from drivers.health import HealthState

BERLIN = ZoneInfo("Europe/Berlin")
ASTRONAUT_FACE: Box = (177, 66, 95, 95)  # where the face is in the 512x512 astronaut
SIM_BUILDING = "sim://?cars=2&lowest=-2&highest=10&timing=fast"


def astronaut_bgr() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def exit_frames(person: bool, count: int = 30) -> tuple[list[np.ndarray], Box | None]:
    """640x480 lobby frames; with `person`, the astronaut steps out (small moves)."""
    lobby = lobby_background(640, 480, doors_open=1.0, seed=3)
    if not person:
        return [lobby.copy() for _ in range(count)], None
    image = astronaut_bgr()
    frames = []
    for i in range(count):
        frame, _ = compose(lobby, image, 140 + (i % 6), 10, 0.9)
        frames.append(frame)
    return frames, placed_box(ASTRONAUT_FACE, 140, 10, 0.9)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    assert path.stat().st_size > 0
    return path


@pytest.fixture(scope="session")
def person_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames, _ = exit_frames(True)
    return write_video(tmp_path_factory.mktemp("video") / "person.avi", frames)


@pytest.fixture(scope="session")
def empty_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames, _ = exit_frames(False)
    return write_video(tmp_path_factory.mktemp("video") / "empty.avi", frames)


class Events:
    """What a service reported and published, from its threads."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self.published: list[Any] = []
        self.reports: list[tuple[str, str]] = []

    def publish(self, event: object) -> None:
        with self._cv:
            self.published.append(event)
            self._cv.notify_all()

    def report(self, level: str, text: str) -> None:
        with self._cv:
            self.reports.append((level, text))
            self._cv.notify_all()

    def of(self, kind: type) -> list[Any]:
        with self._cv:
            return [e for e in self.published if isinstance(e, kind)]

    def health(self, device: str) -> HealthState | None:
        states = [e.health.state for e in self.of(DeviceHealthChanged) if e.health.device == device]
        return states[-1] if states else None

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what} not reached in {timeout} s; reports: {self.reports[-5:]}")
                self._cv.wait(min(left, 0.05))


@pytest.fixture
def run_service(store: Store, clock: Clock) -> Iterator[Callable[..., tuple[ElevatorService, Events]]]:
    """run_service(**section) -> a started ElevatorService and what it publishes."""
    started: list[ElevatorService] = []

    def _run(start: bool = True, **section: Any) -> tuple[ElevatorService, Events]:
        events = Events()
        service = ElevatorService(
            store, ElevatorSection.model_validate(section), BERLIN, "EUR", clock,
            report=events.report, publish=events.publish,
        )
        if start:
            service.start()
            started.append(service)
        return service, events

    yield _run
    for service in started:
        service.stop()
