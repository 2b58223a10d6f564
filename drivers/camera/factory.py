"""Choose an exit camera from its URL."""

from __future__ import annotations

import os
import threading
from urllib.parse import parse_qsl, unquote, urlsplit

import cv2

from drivers.camera.base import Camera, CaptureTiming
from drivers.camera.opencv_camera import CaptureSource, OpenCVCamera, SourceKind
from drivers.camera.scene import load_person
from drivers.camera.simulated import SimCamera, SimScene


class CameraURLError(ValueError):
    """A camera URL this build cannot use."""


_quiet_once = threading.Lock()
_quieted = False


def _quiet_opencv() -> None:
    """OpenCV prints warnings (camera not found, stream errors) straight to the process's
    stderr, which would smear a full-screen console; our health reports say it instead.
    OPENCV_LOG_LEVEL in the environment still wins."""
    global _quieted
    with _quiet_once:
        if _quieted or "OPENCV_LOG_LEVEL" in os.environ:
            return
        _quieted = True
        try:
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        except AttributeError:
            pass


def _query(url: str, query: str, allowed: set[str]) -> dict[str, str]:
    try:
        pairs = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise CameraURLError(f"{url}: malformed query string") from None
    unknown = set(pairs) - allowed
    if unknown:
        raise CameraURLError(f"{url}: unknown option(s) {', '.join(sorted(unknown))}")
    return pairs


def _number(url: str, q: dict[str, str], key: str, low: float = 0.0) -> float | None:
    if key not in q:
        return None
    try:
        value = float(q[key])
    except ValueError:
        raise CameraURLError(f"{url}: {key} must be a number") from None
    if not value >= low:  # also refuses NaN
        raise CameraURLError(f"{url}: {key} must be at least {low:g}")
    return value


def _integer(url: str, q: dict[str, str], key: str, low: int = 0) -> int | None:
    if key not in q:
        return None
    try:
        value = int(q[key])
    except ValueError:
        raise CameraURLError(f"{url}: {key} must be a whole number") from None
    if value < low:
        raise CameraURLError(f"{url}: {key} must be at least {low}")
    return value


def _size(url: str, text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CameraURLError(f"{url}: size must look like 640x480") from None
    if w < 64 or h < 64 or w > 7680 or h > 4320:
        raise CameraURLError(f"{url}: size {w}x{h} is out of range")
    return w, h


def open_camera(
    url: str,
    *,
    name: str = "exit-camera",
    buffer_size: int = 8,
    expect_size: tuple[int, int] | None = None,
    timing: CaptureTiming | None = None,
) -> Camera:
    """Build (not start) the camera for `url`. Raises CameraURLError for a URL it cannot use.

    - `usb://0` (or just `0`), optionally `?width=640&height=480&fps=25`: a V4L2 device.
    - `rtsp://user:pass@host/stream` (also `http(s)://`): a network stream through FFmpeg,
      passed through untouched.
    - `file:///path/exit.avi` (or a plain path), optionally `?fps=25&loop=1`: a video file
      played at its frame rate and looped.
    - `sim://?size=640x480&fps=15&cycle=6&empty=0.25&blur=0.1&corrupt=0&seed=1&person=/p.jpg`:
      a synthetic lobby where a person walks out of the elevator.

    `expect_size` (width, height) makes frames of any other size count as corrupt.
    """
    _quiet_opencv()
    if not url or not url.strip():
        raise CameraURLError("empty camera URL")
    url = url.strip()

    def capture(source: CaptureSource) -> OpenCVCamera:
        return OpenCVCamera(name, source, buffer_size=buffer_size, expect_size=expect_size, timing=timing)

    if url.isdigit():
        return capture(CaptureSource(SourceKind.USB, int(url)))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("rtsp", "rtsps", "http", "https"):
        if not parts.hostname:
            raise CameraURLError(f"{url}: no host")
        return capture(CaptureSource(SourceKind.STREAM, url))
    if scheme == "usb":
        index_text = parts.netloc or parts.path.lstrip("/")
        if not index_text.isdigit():
            raise CameraURLError(f"{url}: the USB camera index must be a number (usb://0)")
        q = _query(url, parts.query, {"width", "height", "fps"})
        width, height = _integer(url, q, "width", 1), _integer(url, q, "height", 1)
        return capture(
            CaptureSource(SourceKind.USB, int(index_text), width=width, height=height, fps=_number(url, q, "fps", 1))
        )
    if scheme == "file" or (scheme == "" and parts.path):
        path = unquote(parts.path)
        if scheme == "file" and parts.netloc not in ("", "localhost"):
            raise CameraURLError(f"{url}: only local files (file:///path)")
        if not path:
            raise CameraURLError(f"{url}: no file path")
        q = _query(url, parts.query, {"fps", "loop"})
        loop = q.get("loop", "1").lower() not in ("0", "false", "no", "off")
        return capture(CaptureSource(SourceKind.FILE, path, fps=_number(url, q, "fps", 1), loop=loop))
    if scheme == "sim":
        q = _query(url, parts.query, {"size", "fps", "cycle", "empty", "blur", "corrupt", "seed", "person"})
        w, h = _size(url, q["size"]) if "size" in q else (640, 480)
        defaults = SimScene()
        scene = SimScene(
            width=w,
            height=h,
            fps=_number(url, q, "fps", 1) or defaults.fps,
            cycle=_number(url, q, "cycle", 0.5) or defaults.cycle,
            empty=_fraction(url, q, "empty", defaults.empty),
            blur=_fraction(url, q, "blur", defaults.blur),
            corrupt=_fraction(url, q, "corrupt", defaults.corrupt),
        )
        seed = _integer(url, q, "seed", 0)
        try:
            person = load_person(q["person"]) if "person" in q else None
        except ValueError as exc:
            raise CameraURLError(f"{url}: {exc}") from None
        return SimCamera(name, scene, person=person, seed=seed, buffer_size=buffer_size, timing=timing)
    raise CameraURLError(f"{url}: unsupported camera URL scheme {parts.scheme!r}")


def _fraction(url: str, q: dict[str, str], key: str, default: float) -> float:
    value = _number(url, q, key, 0.0)
    if value is None:
        return default
    if value > 1:
        raise CameraURLError(f"{url}: {key} must be between 0 and 1")
    return value
