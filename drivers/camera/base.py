"""The interface every exit camera offers to the site, and the capture loop they share.

A camera runs its own worker thread that keeps reading frames into a small ring buffer,
reopening the source whenever it fails, so nothing the site calls ever waits on the
device: `grab_burst` assembles a burst from the buffer and the next few frames within a
bounded time, and returns an empty list when the camera is away. Corrupt frames
(missing, wrong type, wrong shape) are counted and skipped, never handed out.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from drivers.device import Device
from drivers.health import HealthListener, HealthState
from drivers.reconnect import RECONNECTS, Backoff

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Frame:
    """One picture from a camera: BGR, uint8, height x width x 3, read-only."""

    image: np.ndarray
    seq: int  # the camera's frame counter since start (gaps: frames skipped as corrupt)
    monotonic: float = field(default_factory=time.monotonic)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


class CameraUnavailable(Exception):
    """The source cannot be opened (no device, no file, unreachable stream)."""


class StreamEnded(Exception):
    """A video file reached its end: the camera reopens it (files loop)."""


class StreamLost(Exception):
    """An open source stopped delivering: the camera reconnects."""


MIN_SIDE = 16


def check_image(image: object, expect: tuple[int, int] | None = None) -> str | None:
    """Why `image` is not a usable BGR frame, or None when it is.

    `expect` is (height, width) when the frame must have that size.
    """
    if image is None:
        return "no image"
    if not isinstance(image, np.ndarray):
        return f"not an image ({type(image).__name__})"
    if image.dtype != np.uint8:
        return f"pixel type {image.dtype}, expected uint8"
    if image.ndim != 3 or image.shape[2] != 3:
        return f"shape {image.shape}, expected height x width x 3"
    if image.shape[0] < MIN_SIDE or image.shape[1] < MIN_SIDE:
        return f"frame of {image.shape[1]}x{image.shape[0]} is too small"
    if expect is not None and image.shape[:2] != expect:
        return f"frame of {image.shape[1]}x{image.shape[0]}, stream is {expect[1]}x{expect[0]}"
    return None


@dataclass(frozen=True, slots=True)
class CaptureTiming:
    """Timings of the capture loop, in seconds."""

    retry_first: float = 0.5  # first wait before reopening a missing source
    retry_max: float = 5.0  # backoff ceiling
    degraded_hold: float = 10.0  # corrupt frames keep the camera DEGRADED this long
    stall: float = 3.0  # an open stream with no good frame for this long is reopened


class Camera(Device, ABC):
    """An exit camera. Implementations: OpenCV capture (USB index, RTSP URL, video file)
    and a synthetic scene for the demo. Chosen by URL through `drivers.camera.open_camera`.

    Subclasses implement `_open`, `_read` and `_close`; they run only on the worker thread.
    """

    def __init__(
        self,
        name: str,
        *,
        buffer_size: int = 8,
        expect_size: tuple[int, int] | None = None,
        timing: CaptureTiming | None = None,
    ) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        super().__init__(name)
        self.timing = timing or CaptureTiming()
        self._expect_size = expect_size  # (width, height) the stream must have, if set
        self._buffer: deque[Frame] = deque(maxlen=buffer_size)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._streaming = False
        self._last_corrupt = -1e9

    # -- what the site calls ---------------------------------------------------------------
    def start(self, on_health: HealthListener | None = None) -> None:
        """Start the capture worker. Returns at once; health says when frames flow."""
        self._listen_health(on_health)
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"camera-{self.name}")
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the worker and release the device. Waits at most `timeout` seconds (a
        stream stuck in a read is abandoned to its daemon thread). Idempotent."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout)
        self.health.set(HealthState.OFFLINE, "stopped")

    def latest(self) -> Frame | None:
        """The newest buffered frame, if any."""
        with self._cond:
            return self._buffer[-1] if self._buffer else None

    def grab_burst(self, count: int = 5, interval_s: float = 0.05, timeout_s: float | None = None) -> list[Frame]:
        """Up to `count` frames at least `interval_s` apart, oldest first.

        Starts from the newest buffered frames (up to half the burst, none older than the
        burst's own span, so the burst begins at the moment of the call) and waits for
        the next frames. Returns after at most `timeout_s` (default: the burst's span plus
        0.5 s) with what it has: an empty list when the camera is offline. Thread-safe;
        call it from a worker, not the UI thread.
        """
        if count <= 0:
            return []
        interval_s = max(0.0, interval_s)
        if timeout_s is None:
            timeout_s = count * interval_s + 0.5
        start = time.monotonic()
        deadline = start + max(0.0, timeout_s)
        # Frames count as "at least interval apart" with some slack: a 25 fps camera
        # asked for 40 ms spacing must not skip every other frame because of jitter.
        gap = interval_s * 0.8
        want = min(count, max(1, count // 2))
        not_before = start - (interval_s * want + 0.1)
        with self._cond:
            picked = self._preroll(want, gap, not_before)
            while len(picked) < count:
                nxt = self._next_after(picked[-1] if picked else None, gap, not_before)
                if nxt is not None:
                    picked.append(nxt)
                    continue
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set() or not self._streaming:
                    break
                self._cond.wait(min(left, 0.1))
        return picked

    def _preroll(self, want: int, gap: float, not_before: float) -> list[Frame]:
        """The newest buffered frames (at most `want`, spaced by `gap`), oldest first."""
        picked: list[Frame] = []
        for frame in reversed(self._buffer):
            if len(picked) >= want or frame.monotonic < not_before:
                break
            if not picked or picked[-1].monotonic - frame.monotonic >= gap:
                picked.append(frame)
        picked.reverse()
        return picked

    def _next_after(self, last: Frame | None, gap: float, not_before: float) -> Frame | None:
        for frame in self._buffer:
            if frame.monotonic < not_before:
                continue
            if last is None or (frame.seq > last.seq and frame.monotonic - last.monotonic >= gap):
                return frame
        return None

    # -- the worker --------------------------------------------------------------------------
    @abstractmethod
    def _open(self) -> None:
        """Open the source. Raise CameraUnavailable with a readable reason."""

    @abstractmethod
    def _read(self) -> np.ndarray | None:
        """The next frame (None or anything malformed counts as a corrupt frame).
        Raise StreamEnded at the end of a file, StreamLost when the source dropped."""

    @abstractmethod
    def _close(self) -> None:
        """Release the source. Must not raise."""

    def _describe(self) -> str:
        """A short description for health details."""
        return self.name

    def _run(self) -> None:
        self.health.set(HealthState.CONNECTING, f"opening {self._describe()}")
        backoff = Backoff(self.timing.retry_first, self.timing.retry_max)
        opened_before = False
        while not self._stop.is_set():
            try:
                self._open()
            except CameraUnavailable as exc:
                self._set_offline(f"cannot open {self._describe()}: {exc}")
                self.health.count("open_failures")
                self._stop.wait(backoff.next())
                continue
            except Exception as exc:  # a backend bug must not kill the worker
                log.exception("%s: opening failed", self.name)
                self._set_offline(f"cannot open {self._describe()}: {exc}")
                self.health.count("open_failures")
                self._stop.wait(self.timing.retry_max)
                continue
            if opened_before:
                self.health.count(RECONNECTS)
            opened_before = True
            try:
                delivered = self._capture()
            except Exception as exc:  # a bug (ours or a health listener's) must not end capture for good
                log.exception("%s: capture failed", self.name)
                self.health.count("internal_errors")
                self._set_offline(f"internal error: {exc}")
                self._stop.wait(self.timing.retry_first)
                delivered = False
            finally:
                self._close()
            if delivered:
                backoff.reset()

    def _capture(self) -> bool:
        """Read frames until the source fails or the camera stops. True if any frame came."""
        expect = (self._expect_size[1], self._expect_size[0]) if self._expect_size else None
        delivered = False
        last_good = time.monotonic()
        while not self._stop.is_set():
            try:
                image = self._read()
            except StreamEnded:
                if not delivered:
                    self._set_offline(f"{self._describe()}: no readable frames")
                    self._stop.wait(self.timing.retry_max)
                    return False
                self.health.count("loops")
                return True  # reopened at once by the caller
            except StreamLost as exc:
                self._set_offline(f"stream lost: {exc}")
                self.health.count("stream_losses")
                return delivered
            except Exception as exc:
                log.exception("%s: reading failed", self.name)
                self._set_offline(f"stream lost: {exc}")
                self.health.count("stream_losses")
                return delivered
            if self._stop.is_set():
                break
            now = time.monotonic()
            problem = check_image(image, expect)
            if problem is not None:
                self.health.count("corrupt_frames")
                self._last_corrupt = now
                log.debug("%s: skipped frame: %s", self.name, problem)
                if now - last_good > self.timing.stall:
                    self._set_offline(f"{self._describe()}: no good frame for {self.timing.stall:.0f} s")
                    self.health.count("stream_losses")
                    return delivered
                continue
            assert isinstance(image, np.ndarray)
            if expect is None:
                expect = image.shape[:2]  # the first good frame fixes the stream's size
            image.flags.writeable = False  # shared with every burst that picks it
            last_good = now
            delivered = True
            with self._cond:
                self._seq += 1
                self._buffer.append(Frame(image, self._seq, now))
                self._streaming = True
                self._cond.notify_all()
            self.health.count("frames")
            if now - self._last_corrupt < self.timing.degraded_hold:
                self.health.set(HealthState.DEGRADED, "skipping corrupt frames (see counters)")
            else:
                self.health.set(HealthState.OK, f"streaming {image.shape[1]}x{image.shape[0]}")
        return delivered

    def _set_offline(self, detail: str) -> None:
        with self._cond:
            self._streaming = False
            self._cond.notify_all()
        self.health.set(HealthState.OFFLINE, detail)
