"""One frame as a small JPEG, for records that keep what a camera saw (a barrier opened by
hand, for instance)."""

from __future__ import annotations

import cv2
import numpy as np

from drivers.camera.base import Frame


def frame_jpeg(frame: Frame | np.ndarray, *, max_side: int = 640, quality: int = 70) -> bytes:
    """Downscale to at most `max_side` pixels on the long side and encode as JPEG."""
    image = frame.image if isinstance(frame, Frame) else frame
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return data.tobytes()
