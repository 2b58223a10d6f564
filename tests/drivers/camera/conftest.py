"""Fixtures for camera tests: real photographs of people shipped inside scikit-image,
composited into 640x480 lobby frames, and video files written with OpenCV."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from drivers.camera import Camera
from drivers.camera.scene import Box, compose, lobby_background, placed_box

# Where the faces are in scikit-image's photographs (checked by eye and by detection).
ASTRONAUT_FACE: Box = (177, 66, 95, 95)  # frontal, in the 512x512 astronaut
CAMERAMAN_HEAD: Box = (160, 70, 110, 125)  # turned to the side, in the 512x512 cameraman


@dataclass(frozen=True)
class Person:
    image: np.ndarray
    face: Box  # where the face is in `image`


@dataclass(frozen=True)
class Scene:
    frame: np.ndarray
    face: Box  # where the person's face is in the frame


@pytest.fixture(scope="session")
def astronaut() -> Person:
    """Eileen Collins, facing the camera."""
    return Person(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), ASTRONAUT_FACE)


@pytest.fixture(scope="session")
def cameraman() -> Person:
    """The cameraman, his face turned to the side."""
    return Person(cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR), CAMERAMAN_HEAD)


@pytest.fixture(scope="session")
def lobby() -> np.ndarray:
    return lobby_background(640, 480, doors_open=1.0, seed=3)


@pytest.fixture(scope="session")
def place(lobby: np.ndarray) -> Callable[..., Scene]:
    """place(person, x, y, scale, background=lobby) -> Scene with the face's position."""

    def _place(person: Person, x: int, y: int, scale: float, background: np.ndarray | None = None) -> Scene:
        frame, _ = compose(lobby if background is None else background, person.image, x, y, scale)
        return Scene(frame, placed_box(person.face, x, y, scale))

    return _place


@pytest.fixture(scope="session")
def independent_face_finder() -> Callable[[np.ndarray], list[Box]]:
    """Faces found by a different cascade than the extractor's, to check its output."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    assert not cascade.empty()

    def _find(image: np.ndarray) -> list[Box]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return [tuple(int(v) for v in b) for b in cascade.detectMultiScale(gray, 1.1, 4, minSize=(40, 40))]

    return _find


@pytest.fixture
def write_video(tmp_path: Path) -> Callable[..., Path]:
    """write_video(frames, fps=25, name="exit.avi") -> path of an MJPG .avi file."""

    def _write(frames: list[np.ndarray], fps: float = 25.0, name: str = "exit.avi") -> Path:
        path = tmp_path / name
        h, w = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        assert writer.isOpened()
        for f in frames:
            writer.write(f)
        writer.release()
        assert path.stat().st_size > 0
        return path

    return _write


@pytest.fixture
def cameras() -> Iterator[list[Camera]]:
    """Cameras appended here are stopped after the test, whatever happens."""
    started: list[Camera] = []
    yield started
    for cam in started:
        cam.stop()
