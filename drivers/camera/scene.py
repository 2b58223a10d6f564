"""Synthetic elevator-lobby pictures: a background and a photograph of a person pasted
into it. Used by the simulated camera (`sim://`) and to build test and benchmark videos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height

PERSON_IMAGE = Path(__file__).with_name("assets") / "person.jpg"
# Where the face is in PERSON_IMAGE (see assets/NOTICE.md).
PERSON_FACE_BOX: Box = (87, 66, 95, 95)


def load_person(path: str | Path | None = None) -> np.ndarray:
    """The bundled person photograph, or the image at `path` (BGR). Raises ValueError."""
    target = Path(path) if path is not None else PERSON_IMAGE
    image = cv2.imread(str(target), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read a person image from {target}")
    return image


def lobby_background(width: int = 640, height: int = 480, *, doors_open: float = 1.0, seed: int = 0) -> np.ndarray:
    """An elevator landing seen from the exit camera: wall, floor, a door frame and two
    sliding doors open by `doors_open` (0 closed .. 1 fully open)."""
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.uint8)
    ramp = np.linspace(150, 105, height, dtype=np.float32)[:, None]
    img[:] = np.dstack([ramp * 0.92, ramp * 0.97, ramp]).astype(np.uint8)  # warm grey wall
    floor_y = int(height * 0.86)
    img[floor_y:] = (70, 78, 84)
    # Door frame and the car's interior seen through the doorway.
    fx0, fx1 = int(width * 0.22), int(width * 0.78)
    fy0 = int(height * 0.06)
    cv2.rectangle(img, (fx0 - 10, fy0 - 10), (fx1 + 10, floor_y), (120, 125, 128), -1)
    cv2.rectangle(img, (fx0, fy0), (fx1, floor_y), (95, 100, 104), -1)
    # Doors slide apart from the middle.
    half = (fx1 - fx0) // 2
    shift = int(half * max(0.0, min(1.0, doors_open)))
    mid = fx0 + half
    cv2.rectangle(img, (fx0, fy0), (mid - shift, floor_y), (165, 168, 170), -1)
    cv2.rectangle(img, (mid + shift, fy0), (fx1, floor_y), (165, 168, 170), -1)
    # Mild texture so the wall is not a flat colour (sensor noise, paint).
    noise = rng.normal(0, 3.0, img.shape).astype(np.int16)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def compose(background: np.ndarray, person: np.ndarray, x: int, y: int, scale: float) -> tuple[np.ndarray, Box]:
    """A copy of `background` with `person` scaled by `scale`, its top-left corner at
    (x, y); parts outside the frame are cut off. Returns the frame and the pasted box."""
    frame = background.copy()
    h, w = person.shape[:2]
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(person, (sw, sh), interpolation=interp)
    H, W = frame.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + sw), min(H, y + sh)
    if x1 <= x0 or y1 <= y0:
        return frame, (x0, y0, 0, 0)
    frame[y0:y1, x0:x1] = scaled[y0 - y : y1 - y, x0 - x : x1 - x]
    return frame, (x0, y0, x1 - x0, y1 - y0)


def placed_box(box: Box, x: int, y: int, scale: float) -> Box:
    """Where a box given in the person image lands after `compose(..., x, y, scale)`."""
    bx, by, bw, bh = box
    return (round(x + bx * scale), round(y + by * scale), round(bw * scale), round(bh * scale))
