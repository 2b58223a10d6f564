"""Portrait extraction on real photographs composited into 640x480 exit-camera frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest

from drivers.camera import Frame, PortraitError, PortraitSettings, extract_portrait
from drivers.camera.portrait import (
    FRONTAL_CASCADE,
    PROFILE_CASCADE,
    FaceDetector,
    preload_detector,
)

Box = tuple[int, int, int, int]


def centre(box: Box) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def contains(outer: Box, point: tuple[float, float]) -> bool:
    x, y, w, h = outer
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the stored portrait is not a valid JPEG"
    return image


def walking_burst(
    place: Callable[..., Any], person: Any, x: int, y: int, scale: float, n: int = 5
) -> tuple[list[np.ndarray], list[Box]]:
    """A person stepping towards the camera: a few pixels and a little larger each frame."""
    scenes = [place(person, x + 3 * i, y + i, scale * (1 + 0.01 * i)) for i in range(n)]
    return [s.frame for s in scenes], [s.face for s in scenes]


def test_opencv_ships_the_cascades_we_use() -> None:
    import os

    names = os.listdir(cv2.data.haarcascades)
    assert FRONTAL_CASCADE in names and PROFILE_CASCADE in names
    assert preload_detector() is None


@pytest.mark.parametrize(
    ("x", "y", "scale"),
    [(100, 0, 0.9), (150, -20, 1.1), (250, 10, 0.8), (0, 0, 0.94), (200, -60, 1.4), (-100, 30, 1.0), (300, 60, 0.8)],
)
def test_frontal_face_is_kept_as_a_small_portrait(
    place, astronaut, independent_face_finder, x: int, y: int, scale: float
) -> None:
    frames, faces = walking_burst(place, astronaut, x, y, scale)
    p = extract_portrait(frames)
    assert not p.flagged, p.reason
    assert p.pose == "frontal"
    truth = faces[p.frame_index]
    assert p.face_box is not None and iou(p.face_box, truth) > 0.4
    assert contains(p.crop_box, centre(truth))
    assert len(p.jpeg) < 20_000
    image = decode(p.jpeg)
    assert image.shape[:2] == (p.height, p.width)
    assert max(p.width, p.height) <= 320
    # A different cascade finds a face in what was stored, where the face should be.
    found = independent_face_finder(image)
    assert found, "no face in the stored portrait"
    k = p.width / p.crop_box[2]
    expected = ((truth[0] - p.crop_box[0]) * k, (truth[1] - p.crop_box[1]) * k, truth[2] * k, truth[3] * k)
    assert max(iou(f, tuple(round(v) for v in expected)) for f in found) > 0.4


def test_whole_photograph_in_the_frame(lobby, astronaut, independent_face_finder) -> None:
    frame = lobby.copy()
    frame[0:480, 80:560] = cv2.resize(astronaut.image, (480, 480), interpolation=cv2.INTER_AREA)
    truth = tuple(round(v * 480 / 512) for v in astronaut.face)
    truth = (truth[0] + 80, truth[1], truth[2], truth[3])
    p = extract_portrait([frame] * 3)
    assert not p.flagged and p.face_box is not None
    assert iou(p.face_box, truth) > 0.4
    assert independent_face_finder(decode(p.jpeg))


@pytest.mark.parametrize(("x", "y", "scale"), [(100, 0, 0.9), (250, 10, 0.8), (0, 0, 0.94), (200, -60, 1.4)])
def test_face_turned_aside_is_found_as_a_profile(place, cameraman, x: int, y: int, scale: float) -> None:
    frames, heads = walking_burst(place, cameraman, x, y, scale)
    p = extract_portrait(frames)
    assert not p.flagged, p.reason
    assert p.pose == "profile"
    head = heads[p.frame_index]
    assert p.face_box is not None and iou(p.face_box, head) > 0.3
    assert contains(p.crop_box, centre(head))
    assert len(p.jpeg) < 20_000


def test_frontal_face_is_preferred_to_a_profile(place, astronaut, cameraman) -> None:
    frames = [place(cameraman, 60, 0, 1.1).frame for _ in range(4)]
    front = place(astronaut, 250, 20, 0.85)
    frames.insert(2, front.frame)
    p = extract_portrait(frames)
    assert (p.pose, p.frame_index) == ("frontal", 2)
    assert p.face_box is not None and iou(p.face_box, front.face) > 0.4


def test_sharpest_largest_frame_wins(place, astronaut) -> None:
    scenes = [place(astronaut, 200, 10, 0.85) for _ in range(5)]
    frames = [cv2.GaussianBlur(s.frame, (0, 0), 2.5) for s in scenes]
    best = place(astronaut, 180, -10, 1.05)
    frames[3] = best.frame
    p = extract_portrait(frames)
    assert p.frame_index == 3
    assert p.face_box is not None and iou(p.face_box, best.face) > 0.4
    assert not p.flagged


def test_largest_of_two_people_is_kept(place, astronaut, lobby) -> None:
    far = place(astronaut, -60, 150, 0.7)
    near = place(astronaut, 250, -20, 1.1, background=far.frame)
    p = extract_portrait([near.frame] * 3)
    assert p.face_box is not None and iou(p.face_box, near.face) > 0.4


def test_empty_lobby_keeps_the_sharpest_frame_flagged(lobby) -> None:
    frames = [cv2.GaussianBlur(lobby, (0, 0), 3) for _ in range(5)]
    frames[1] = lobby
    p = extract_portrait(frames)
    assert p.flagged and p.pose == "none" and p.face_box is None
    assert "no face" in p.reason
    assert p.frame_index == 1
    assert p.crop_box == (0, 0, 640, 480)
    assert len(p.jpeg) < 20_000
    assert decode(p.jpeg).shape[:2] == (240, 320)


def test_person_with_the_face_out_of_view_is_flagged(place, astronaut) -> None:
    # Only the spacesuit is in view: the head is above the top of the frame.
    s = place(astronaut, 150, -260, 1.0)
    p = extract_portrait([s.frame] * 4)
    assert p.flagged and p.face_box is None


def test_blurred_face_is_flagged_for_review(place, astronaut) -> None:
    s = place(astronaut, 150, 0, 1.2)
    blurred = cv2.GaussianBlur(s.frame, (0, 0), 3.0)
    p = extract_portrait([blurred] * 3, PortraitSettings(blurred_below=40.0))
    if p.face_box is None:
        assert p.flagged  # too blurred to find at all: flagged either way
    else:
        assert p.flagged and "blurred" in p.reason


def test_corrupt_frames_are_skipped_and_counted(place, astronaut) -> None:
    good = place(astronaut, 150, 0, 0.95)
    frames: list[Any] = [
        None,
        np.zeros((480, 640), np.uint8),  # grey
        np.zeros((480, 640, 3), np.float32),  # wrong type
        np.zeros((480, 640, 4), np.uint8),  # four channels
        np.zeros((8, 8, 3), np.uint8),  # too small
        "not an image",
        Frame(good.frame, seq=41),
    ]
    p = extract_portrait(frames)
    assert (p.frames_used, p.frames_skipped, p.frame_index) == (1, 6, 6)
    assert not p.flagged and p.face_box is not None and iou(p.face_box, good.face) > 0.4


@pytest.mark.parametrize("frames", [[], [None, None], [np.zeros((10, 10, 3), np.uint8)]])
def test_burst_without_a_usable_frame_is_a_clear_error(frames: list[Any]) -> None:
    with pytest.raises(PortraitError, match="no usable frame"):
        extract_portrait(frames)


def test_budget_is_met_by_lowering_quality_then_size(place, astronaut) -> None:
    s = place(astronaut, 40, -150, 2.4)  # a face filling the frame
    rng = np.random.default_rng(0)
    noisy = np.clip(s.frame.astype(np.int16) + rng.normal(0, 25, s.frame.shape), 0, 255).astype(np.uint8)
    for budget in (20_000, 8_000, 4_000):
        p = extract_portrait([noisy], PortraitSettings(max_bytes=budget, min_face=0.3))
        assert len(p.jpeg) < budget
        decode(p.jpeg)
    small = extract_portrait([noisy], PortraitSettings(max_bytes=4_000, min_face=0.3))
    assert small.quality < 88 or max(small.width, small.height) < 320


def test_noise_frame_fallback_fits_the_budget() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    p = extract_portrait([noise])
    assert p.flagged and len(p.jpeg) < 20_000


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(max_bytes=100),
        dict(min_face=0.0),
        dict(min_face=1.5),
        dict(max_side=8),
        dict(first_quality=30, min_quality=50),
        dict(min_quality=0),
    ],
)
def test_settings_are_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PortraitSettings(**kwargs)


def test_missing_cascades_give_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="face cascade"):
        FaceDetector(tmp_path)


def test_extraction_reports_its_own_time(place, astronaut) -> None:
    frames, _ = walking_burst(place, astronaut, 150, 0, 1.0)
    p = extract_portrait(frames)
    assert 0 < p.elapsed_s < 5
