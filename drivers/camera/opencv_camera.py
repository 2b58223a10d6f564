"""Cameras OpenCV can capture from: a USB (V4L2) device by index, an RTSP/HTTP stream,
or a video file (played at its own frame rate and looped, standing in for a camera)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

from drivers.camera.base import Camera, CameraUnavailable, CaptureTiming, StreamEnded, StreamLost


class SourceKind(str, Enum):
    USB = "usb"
    STREAM = "stream"  # rtsp://, http(s):// MJPEG/H.264 streams through FFmpeg
    FILE = "file"


@dataclass(frozen=True, slots=True)
class CaptureSource:
    """What to open and how."""

    kind: SourceKind
    target: str | int  # device index, stream URL or file path
    width: int | None = None  # ask a USB camera for this resolution
    height: int | None = None
    fps: float | None = None  # USB: ask for it; file: play at it (default: the file's own)
    loop: bool = True  # a file that ends starts over (reopened); False: it ends for good
    open_timeout_ms: int = 5000
    read_timeout_ms: int = 3000


# A live camera that fails this many reads in a row has dropped.
_MAX_READ_FAILURES = 10


class OpenCVCamera(Camera):
    """A camera read through `cv2.VideoCapture`."""

    def __init__(
        self,
        name: str,
        source: CaptureSource,
        *,
        buffer_size: int = 8,
        expect_size: tuple[int, int] | None = None,
        timing: CaptureTiming | None = None,
    ) -> None:
        super().__init__(name, buffer_size=buffer_size, expect_size=expect_size, timing=timing)
        self.source = source
        self._cap: cv2.VideoCapture | None = None
        self._period = 0.0
        self._next_due = 0.0
        self._failures = 0
        self._finished = False  # a non-looping file played to its end

    def _describe(self) -> str:
        s = self.source
        if s.kind is SourceKind.USB:
            return f"USB camera {s.target}"
        if s.kind is SourceKind.FILE:
            return f"video file {s.target}"
        return f"stream {_redact(str(s.target))}"

    def _open(self) -> None:
        s = self.source
        if self._finished:
            raise CameraUnavailable("the video file has ended (looping is off)")
        if s.kind is SourceKind.FILE:
            if not os.path.isfile(str(s.target)):
                raise CameraUnavailable("no such file")
            cap = cv2.VideoCapture(str(s.target))
        elif s.kind is SourceKind.USB:
            cap = cv2.VideoCapture(int(s.target))
        else:
            cap = cv2.VideoCapture(
                str(s.target),
                cv2.CAP_FFMPEG,
                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, s.open_timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, s.read_timeout_ms],
            )
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailable("the device or stream did not open")
        if s.kind is SourceKind.USB:
            if s.width and s.height:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, s.width)
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, s.height)
            if s.fps:
                cap.set(cv2.CAP_PROP_FPS, s.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # we read continuously; keep latency low
        self._period = 0.0
        if s.kind is SourceKind.FILE:
            fps = s.fps or cap.get(cv2.CAP_PROP_FPS) or 25.0
            self._period = 1.0 / max(1.0, min(fps, 120.0))
        self._cap = cap
        self._failures = 0
        self._next_due = time.monotonic()

    def _read(self) -> np.ndarray | None:
        cap = self._cap
        if cap is None:
            raise StreamLost("not open")
        if self._period:
            # A file plays at its frame rate, like a camera, not as fast as it decodes.
            delay = self._next_due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return None
            self._next_due = max(self._next_due + self._period, time.monotonic() - self._period)
        ok, image = cap.read()
        if ok:
            self._failures = 0
            return image
        if self.source.kind is SourceKind.FILE:
            if not self.source.loop:
                self._finished = True
            raise StreamEnded()
        self._failures += 1
        if self._failures >= _MAX_READ_FAILURES:
            raise StreamLost(f"{self._failures} failed reads in a row")
        time.sleep(0.02)
        return None

    def _close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            try:
                cap.release()
            except cv2.error:
                pass


def _redact(url: str) -> str:
    """Hide a password in a stream URL before it reaches a log or the screen."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.split("@", 1) if "@" in rest.split("/", 1)[0] else ("", rest)
        if creds:
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}"
    return url
