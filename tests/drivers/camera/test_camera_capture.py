"""Capture from a real video file (MJPG .avi written here), missing devices and streams,
corrupt frames, bursts with bounded time, and the simulated lobby camera."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drivers.camera import (
    Camera,
    CameraURLError,
    CaptureTiming,
    OpenCVCamera,
    SimCamera,
    SourceKind,
    check_image,
    extract_portrait,
    open_camera,
)
from drivers.health import HealthState


def wait_state(cam: Camera, state: HealthState, timeout: float = 5.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if cam.health_snapshot().state is state:
            return time.monotonic() - start
        time.sleep(0.01)
    raise AssertionError(f"camera stayed {cam.health_snapshot()} instead of {state}")


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def exit_video(place, astronaut, lobby, write_video) -> Path:
    """Two seconds at 25 fps: an empty lobby, then the person walking out."""
    frames = [lobby.copy() for _ in range(10)]
    frames += [place(astronaut, 120 + 4 * i, 10 - i, 0.9 + 0.008 * i).frame for i in range(40)]
    return write_video(frames, fps=25.0)


def test_file_camera_delivers_bursts_of_real_frames(exit_video: Path, cameras: list[Camera]) -> None:
    cam = open_camera(f"file://{exit_video}")
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OK)
    time.sleep(0.8)  # into the part with the person
    started = time.monotonic()
    burst = cam.grab_burst(5, 0.04)
    took = time.monotonic() - started
    assert len(burst) == 5
    assert took < 5 * 0.04 + 0.5
    assert all(f.image.shape == (480, 640, 3) and f.image.dtype == np.uint8 for f in burst)
    assert [f.seq for f in burst] == sorted({f.seq for f in burst})
    gaps = [b.monotonic - a.monotonic for a, b in pairwise(burst)]
    assert all(g >= 0.04 * 0.8 for g in gaps)
    assert not burst[0].image.flags.writeable  # shared frames cannot be scribbled on
    cam.stop()


def test_burst_from_the_file_yields_the_person(exit_video: Path, cameras: list[Camera]) -> None:
    cam = open_camera(str(exit_video))  # a plain path works too
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OK)
    # Wait for a frame showing the person (the lobby is empty for the first 0.4 s).
    assert wait_until(lambda: (f := cam.latest()) is not None and f.seq % 50 > 14, 5.0)
    p = extract_portrait(cam.grab_burst(5, 0.04))
    assert not p.flagged, p.reason
    assert len(p.jpeg) < 20_000


def test_file_loops_when_it_ends(place, astronaut, write_video, cameras: list[Camera]) -> None:
    path = write_video([place(astronaut, 100, 0, 1.0).frame for _ in range(10)], fps=50.0)
    cam = open_camera(f"file://{path}")
    cameras.append(cam)
    cam.start()
    assert wait_until(lambda: cam.health.counter("loops") >= 2, 5.0)
    assert cam.health.counter("frames") >= 20
    assert cam.health_snapshot().state is HealthState.OK


def test_file_without_loop_goes_offline_at_its_end(place, astronaut, write_video, cameras: list[Camera]) -> None:
    path = write_video([place(astronaut, 100, 0, 1.0).frame for _ in range(5)], fps=50.0)
    cam = open_camera(f"file://{path}?loop=0")
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OFFLINE, 5.0)
    assert cam.health.counter("frames") == 5


def test_missing_file_is_offline_without_exceptions_then_recovers(
    tmp_path: Path, place, astronaut, write_video, cameras: list[Camera]
) -> None:
    missing = tmp_path / "later.avi"
    cam = open_camera(f"file://{missing}", timing=CaptureTiming(retry_first=0.1, retry_max=0.2))
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OFFLINE, 2.0)
    assert "no such file" in cam.health_snapshot().detail
    started = time.monotonic()
    assert cam.grab_burst(5, 0.05) == []
    assert time.monotonic() - started < 0.2  # offline: no waiting for frames that cannot come
    assert cam.latest() is None
    # The file appears (a mounted share comes back): the camera reconnects by itself.
    made = write_video([place(astronaut, 100, 0, 1.0).frame for _ in range(10)], name="made.avi")
    os.replace(made, missing)
    wait_state(cam, HealthState.OK, 3.0)
    assert len(cam.grab_burst(3, 0.04)) == 3


def test_stream_drop_and_return(place, astronaut, write_video, cameras: list[Camera]) -> None:
    path = write_video([place(astronaut, 100, 0, 1.0).frame for _ in range(10)], fps=50.0)
    cam = open_camera(f"file://{path}", timing=CaptureTiming(retry_first=0.1, retry_max=0.2))
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OK)
    aside = path.with_suffix(".gone")
    os.replace(path, aside)  # the source vanishes: at the end of the file it cannot reopen
    wait_state(cam, HealthState.OFFLINE, 3.0)
    os.replace(aside, path)
    wait_state(cam, HealthState.OK, 3.0)
    assert cam.health.counter("reconnects") >= 1
    assert cam.health.counter("open_failures") >= 1


def test_missing_usb_camera_is_offline(cameras: list[Camera]) -> None:
    cam = open_camera("usb://7", timing=CaptureTiming(retry_first=0.1, retry_max=0.2))
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OFFLINE, 5.0)
    assert cam.grab_burst(3, 0.05) == []
    started = time.monotonic()
    cam.stop()
    assert time.monotonic() - started < 1.5


def test_unreachable_rtsp_camera_is_offline(cameras: list[Camera]) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    cam = open_camera(
        f"rtsp://admin:secret@127.0.0.1:{port}/stream1", timing=CaptureTiming(retry_first=0.1, retry_max=0.2)
    )
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OFFLINE, 8.0)
    detail = cam.health_snapshot().detail
    assert "secret" not in detail and "admin:***@" in detail


def test_corrupt_frames_are_counted_and_never_handed_out(cameras: list[Camera]) -> None:
    cam = open_camera("sim://?fps=60&corrupt=0.3&seed=4")
    cameras.append(cam)
    states: list[HealthState] = []
    cam.start(lambda h: states.append(h.state))
    assert wait_until(lambda: cam.health.counter("corrupt_frames") >= 10, 5.0)
    for _ in range(5):
        for f in cam.grab_burst(4, 0.02):
            assert check_image(f.image) is None and f.image.shape == (480, 640, 3)
    assert HealthState.DEGRADED in states


def test_frames_of_the_wrong_size_are_corrupt(exit_video: Path, cameras: list[Camera]) -> None:
    cam = open_camera(
        f"file://{exit_video}", expect_size=(320, 240), timing=CaptureTiming(stall=0.5, retry_first=0.1, retry_max=0.2)
    )
    cameras.append(cam)
    cam.start()
    assert wait_until(lambda: cam.health.counter("corrupt_frames") >= 10, 5.0)
    assert cam.latest() is None
    assert cam.grab_burst(3, 0.04, timeout_s=0.3) == []
    assert cam.health_snapshot().state is not HealthState.OK


def test_burst_time_is_bounded(cameras: list[Camera]) -> None:
    cam = open_camera("sim://?fps=10&seed=2")
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OK)
    started = time.monotonic()
    burst = cam.grab_burst(5, 0.5, timeout_s=0.3)  # asks for 2 s of frames, allows 0.3 s
    took = time.monotonic() - started
    assert took < 0.45
    assert 1 <= len(burst) < 5
    assert cam.grab_burst(0) == []


def test_concurrent_bursts_do_not_interfere(cameras: list[Camera]) -> None:
    import threading

    cam = open_camera("sim://?fps=30&seed=5")
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OK)
    results: list[int] = []

    def grab() -> None:
        results.append(len(cam.grab_burst(5, 0.04)))

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == [5, 5, 5, 5]


def test_simulated_camera_shows_a_person_or_an_empty_lobby(cameras: list[Camera]) -> None:
    cam = open_camera("sim://?fps=20&blur=0&seed=6")
    assert isinstance(cam, SimCamera)
    cameras.append(cam)
    cam.start()
    wait_state(cam, HealthState.OK)
    cam.set_person(True)
    time.sleep(0.1)
    p = extract_portrait(cam.grab_burst(5, 0.05))
    assert not p.flagged and p.pose == "frontal"
    cam.set_person(False)
    time.sleep(0.3)
    empty = extract_portrait(cam.grab_burst(5, 0.05))
    assert empty.flagged


def test_stop_is_prompt_and_idempotent(cameras: list[Camera]) -> None:
    cam = open_camera("sim://?fps=30")
    cam.start()
    wait_state(cam, HealthState.OK)
    started = time.monotonic()
    cam.stop()
    cam.stop()
    assert time.monotonic() - started < 1.0
    assert cam.health_snapshot().state is HealthState.OFFLINE
    asked = time.monotonic()
    late = cam.grab_burst(3, 0.05, timeout_s=1.0)  # a stopped camera does not make callers wait
    assert time.monotonic() - asked < 0.1
    assert len(late) <= 1


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("usb://0", SourceKind.USB, 0),
        ("2", SourceKind.USB, 2),
        ("rtsp://cam.local:554/live", SourceKind.STREAM, "rtsp://cam.local:554/live"),
        ("file:///var/lib/booth/exit%20cam.avi", SourceKind.FILE, "/var/lib/booth/exit cam.avi"),
        ("/tmp/exit.avi", SourceKind.FILE, "/tmp/exit.avi"),
    ],
)
def test_urls_choose_the_source(url: str, kind: SourceKind, target: Any) -> None:
    cam = open_camera(url)
    assert isinstance(cam, OpenCVCamera)
    assert (cam.source.kind, cam.source.target) == (kind, target)


def test_url_options_reach_the_source() -> None:
    cam = open_camera("usb://1?width=1280&height=720&fps=30")
    assert isinstance(cam, OpenCVCamera)
    assert (cam.source.width, cam.source.height, cam.source.fps) == (1280, 720, 30.0)
    f = open_camera("file:///x.avi?fps=12&loop=0")
    assert isinstance(f, OpenCVCamera) and (f.source.fps, f.source.loop) == (12.0, False)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://host/x",
        "usb://abc",
        "usb://0?zoom=2",
        "rtsp://",
        "file:///x.avi?speed=2",
        "file://otherhost/x.avi",
        "sim://?size=big",
        "sim://?size=10x10",
        "sim://?fps=0",
        "sim://?empty=2",
        "sim://?person=/no/such.png",
        "sim://?flavour=1",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(CameraURLError):
        open_camera(url)


def test_check_image_explains_what_is_wrong() -> None:
    assert check_image(np.zeros((480, 640, 3), np.uint8)) is None
    assert check_image(None) == "no image"
    assert "uint8" in (check_image(np.zeros((480, 640, 3), np.float64)) or "")
    assert "shape" in (check_image(np.zeros((480, 640), np.uint8)) or "")
    assert "too small" in (check_image(np.zeros((4, 640, 3), np.uint8)) or "")
    assert "stream is" in (check_image(np.zeros((480, 640, 3), np.uint8), (240, 320)) or "")


def test_a_failing_health_listener_does_not_stop_capture(cameras: list[Camera]) -> None:
    def broken(_health: object) -> None:
        raise RuntimeError("listener bug")

    cam = open_camera("sim://?fps=30&seed=8")
    cameras.append(cam)
    cam.start(broken)
    wait_state(cam, HealthState.OK)
    assert len(cam.grab_burst(3, 0.03)) == 3
