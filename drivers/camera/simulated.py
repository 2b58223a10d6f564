"""A simulated exit camera (`sim://`): a lobby scene where a person walks out of the
elevator towards the camera, on a loop, with an empty lobby part of the time. It runs
the same capture loop as a real camera, at a real frame rate, so bursts, health and
corrupt-frame handling behave as they do on site."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import cv2
import numpy as np

from drivers.camera.base import Camera, CaptureTiming
from drivers.camera.scene import compose, load_person, lobby_background


@dataclass(frozen=True, slots=True)
class SimScene:
    """How the simulated scene behaves."""

    width: int = 640
    height: int = 480
    fps: float = 15.0
    cycle: float = 6.0  # seconds for one person to walk out; then the next one
    empty: float = 0.25  # fraction of each cycle with nobody in view
    blur: float = 0.1  # probability that a frame is motion-blurred
    corrupt: float = 0.0  # probability that the "cable" delivers a broken frame


class SimCamera(Camera):
    """A camera that films a synthetic elevator lobby."""

    def __init__(
        self,
        name: str,
        scene: SimScene | None = None,
        *,
        person: np.ndarray | None = None,
        seed: int | None = None,
        buffer_size: int = 8,
        timing: CaptureTiming | None = None,
    ) -> None:
        super().__init__(name, buffer_size=buffer_size, timing=timing)
        self.scene = scene or SimScene()
        if self.scene.width < 64 or self.scene.height < 64 or self.scene.fps <= 0:
            raise ValueError("a simulated camera needs at least 64x64 pixels and a positive frame rate")
        self._person = person if person is not None else load_person()
        self._rng = random.Random(seed)
        s = self.scene
        self._closed_bg = lobby_background(s.width, s.height, doors_open=0.0, seed=seed or 0)
        self._open_bg = lobby_background(s.width, s.height, doors_open=1.0, seed=seed or 0)
        nrng = np.random.default_rng(seed)
        self._noise = [nrng.integers(0, 7, (s.height, s.width, 3), dtype=np.uint8) for _ in range(4)]
        self._forced: bool | None = None
        self._t0 = 0.0
        self._next_due = 0.0
        self._count = 0

    def set_person(self, visible: bool | None) -> None:
        """Force a person in view (True), an empty lobby (False), or the loop (None)."""
        self._forced = visible

    def _describe(self) -> str:
        return f"simulated camera {self.scene.width}x{self.scene.height}"

    def _open(self) -> None:
        self._t0 = self._next_due = time.monotonic()

    def _close(self) -> None:
        pass

    def _read(self) -> np.ndarray | None:
        s = self.scene
        delay = self._next_due - time.monotonic()
        if delay > 0 and self._stop.wait(delay):
            return None
        now = time.monotonic()
        self._next_due = max(self._next_due + 1.0 / s.fps, now - 1.0 / s.fps)
        self._count += 1
        if s.corrupt and self._rng.random() < s.corrupt:
            # What a flaky capture path hands over: nothing, or a frame of the wrong shape.
            return None if self._rng.random() < 0.5 else np.zeros((s.height // 2, s.width, 3), np.uint8)
        phase = ((now - self._t0) % s.cycle) / s.cycle
        visible = self._forced if self._forced is not None else phase >= s.empty
        if not visible:
            frame = self._closed_bg.copy()
        else:
            progress = 0.5 if self._forced else (phase - s.empty) / max(1e-6, 1.0 - s.empty)
            frame = self._walker(progress)
        frame = cv2.add(frame, self._noise[self._count % len(self._noise)])
        if s.blur and self._rng.random() < s.blur:
            frame = cv2.blur(frame, (9, 1))  # horizontal motion blur
        return frame

    def _walker(self, progress: float) -> np.ndarray:
        """The person stepping out of the car: growing as they approach the camera."""
        s = self.scene
        ph, pw = self._person.shape[:2]
        # Scale so the person's picture spans 60%..95% of the frame height as they approach.
        scale = (0.60 + 0.35 * progress) * s.height / ph
        x = round(s.width * (0.30 + 0.08 * progress) - pw * scale * 0.25)
        y = round(s.height * (0.10 - 0.06 * progress))
        frame, _ = compose(self._open_bg, self._person, x, y, scale)
        return frame
