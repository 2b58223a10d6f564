"""Keep one small head portrait of the person leaving the elevator.

From a burst of frames, find faces with OpenCV's Haar cascades (shipped inside the
opencv-python wheel under `cv2.data.haarcascades`; nothing is downloaded), choose the
best one across the burst (large, sharp, frontal preferred over profile), crop it with
a margin and encode a JPEG under a byte budget (20 KB by default), lowering quality and
then size until it fits. If no face is found, the sharpest frame is kept downscaled and
flagged for review.

Speed on a small booth PC comes from searching at low resolution (the smallest face
worth keeping is mapped onto the cascade's 20-24 px window), searching only the sharpest
frames whole and the others only around faces already found, and running the slower
profile cascade (both facings) only when no frontal face exists, on the sharpest frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from drivers.camera.base import Frame, check_image

Box = tuple[int, int, int, int]  # x, y, width, height

FRONTAL_CASCADE = "haarcascade_frontalface_alt2.xml"
PROFILE_CASCADE = "haarcascade_profileface.xml"  # trained on faces turned to one side; we also search the mirror image

# The cascades' own detection window (alt2: 20x20, profile: 20x20); faces are searched
# from this size up in the downscaled picture.
_WINDOW = 22
_SHARP_HALF = 60.0  # face sharpness giving half marks (variance of the Laplacian on a 96 px face)
_FACE_PATCH = 96


class PortraitError(ValueError):
    """The burst holds no usable frame (empty, or every frame corrupt)."""


@dataclass(frozen=True, slots=True)
class PortraitSettings:
    """Tuning of the portrait extractor; the defaults suit a 640x480 exit camera."""

    max_bytes: int = 20_000  # the stored JPEG must be smaller than this
    max_side: int = 320  # longest side of a stored head portrait, in pixels
    fallback_side: int = 320  # longest side of a flagged whole frame
    min_face: float = 0.12  # smallest face searched, as a fraction of the frame height
    margin: float = 0.45  # crop margin around the face box, per side, in face widths
    full_search_frames: int = 2  # sharpest frames searched whole even after a face was found
    max_full_searches: int = 3  # whole-frame frontal searches at most while nothing is found
    profile_frames: int = 1  # sharpest frames searched whole for profiles (when no frontal face)
    first_quality: int = 88
    min_quality: int = 40
    blurred_below: float = 12.0  # face sharpness under this flags the portrait as blurred
    profile_weight: float = 0.6  # a profile face scores this much of an equal frontal face

    def __post_init__(self) -> None:
        if self.max_bytes < 2_000:
            raise ValueError("max_bytes below 2000 cannot hold a useful portrait")
        if not 0.02 <= self.min_face <= 0.9:
            raise ValueError("min_face must be between 0.02 and 0.9 of the frame height")
        if not 32 <= self.max_side <= 2048 or not 32 <= self.fallback_side <= 4096:
            raise ValueError("max_side and fallback_side must be reasonable pixel sizes")
        if not 1 <= self.min_quality <= self.first_quality <= 100:
            raise ValueError("need 1 <= min_quality <= first_quality <= 100")


@dataclass(frozen=True, slots=True)
class Portrait:
    """The snapshot kept for one ride."""

    jpeg: bytes
    width: int  # of the JPEG
    height: int
    flagged: bool  # a person should look at it: no face found, or the face is blurred
    reason: str  # why this picture (human-readable)
    face_box: Box | None  # the face in the chosen frame's pixels (None when no face)
    crop_box: Box  # the part of the chosen frame that was stored, in its pixels
    score: float  # 0..1-ish quality of the chosen face (0 when none)
    frame_index: int  # position of the chosen frame in the burst given
    pose: str  # "frontal", "profile" or "none"
    sharpness: float  # variance of the Laplacian (of the face, or of the frame)
    quality: int  # JPEG quality used
    frames_used: int  # frames of the burst that were usable
    frames_skipped: int  # frames of the burst that were corrupt
    elapsed_s: float


@dataclass(slots=True)
class _Prepared:
    index: int
    image: np.ndarray  # BGR, full size
    gray: np.ndarray  # full size
    small: np.ndarray  # downscaled, equalised: what the cascades see
    scale: float  # small / full
    sharpness: float  # of the downscaled frame


@dataclass(slots=True)
class _Candidate:
    frame: _Prepared
    box: Box  # in full-size pixels
    pose: str
    neighbours: int
    sharpness: float = 0.0
    score: float = 0.0


class FaceDetector:
    """The two cascades, loaded once. Not thread-safe: use one per thread (see `_pool`)."""

    def __init__(self, cascade_dir: str | Path | None = None) -> None:
        base = Path(cascade_dir) if cascade_dir is not None else Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        self.frontal = self._load(base / FRONTAL_CASCADE)
        self.profile = self._load(base / PROFILE_CASCADE)

    @staticmethod
    def _load(path: Path) -> cv2.CascadeClassifier:
        if not path.is_file():
            raise FileNotFoundError(f"face cascade {path} is missing (is opencv-python-headless 4.x installed?)")
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise ValueError(f"face cascade {path} could not be loaded")
        return cascade

    def detect(
        self,
        which: str,
        gray: np.ndarray,
        min_side: int,
        max_side: int | None = None,
        mirror: bool = False,
        scale_factor: float = 1.15,
    ) -> list[tuple[Box, int]]:
        """Faces in `gray` as (box, neighbour count); `mirror` searches the mirrored image
        and maps boxes back (the profile cascade knows only one facing)."""
        cascade = self.frontal if which == "frontal" else self.profile
        img = cv2.flip(gray, 1) if mirror else gray
        min_side = max(min_side, 1)
        limit = (max_side, max_side) if max_side else (0, 0)
        if max_side is not None and max_side < min_side:
            return []
        boxes, neighbours = cascade.detectMultiScale2(
            img, scaleFactor=scale_factor, minNeighbors=3, minSize=(min_side, min_side), maxSize=limit
        )
        found: list[tuple[Box, int]] = []
        width = img.shape[1]
        for (x, y, w, h), n in zip(boxes, neighbours, strict=True):
            if mirror:
                x = width - x - w
            found.append(((int(x), int(y), int(w), int(h)), int(n)))
        return found


class _DetectorPool:
    """Loaded detectors shared by whatever threads run extractions, one at a time each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[FaceDetector] = []
        self.error: str | None = None

    def acquire(self) -> FaceDetector | None:
        with self._lock:
            if self._free:
                return self._free.pop()
        try:
            return FaceDetector()
        except (FileNotFoundError, ValueError, cv2.error) as exc:
            self.error = str(exc)
            return None

    def release(self, detector: FaceDetector) -> None:
        with self._lock:
            self._free.append(detector)


_pool = _DetectorPool()


def preload_detector() -> str | None:
    """Load the cascades now (at start-up, in a worker) so the first ride is not slower.
    Returns None when ready, or why faces cannot be detected."""
    detector = _pool.acquire()
    if detector is None:
        return _pool.error or "face detector unavailable"
    _pool.release(detector)
    return None


def extract_portrait(
    frames: Sequence[Frame | np.ndarray | None],
    settings: PortraitSettings | None = None,
    *,
    detector: FaceDetector | None = None,
) -> Portrait:
    """The best head portrait in a burst, as a small JPEG.

    `frames` are camera Frames or BGR uint8 arrays (corrupt entries are skipped and
    counted). Raises PortraitError when no frame is usable. Never flags a good frontal
    face; flags (and explains in `reason`) a burst with no face or only a blurred one.
    Takes a few tens of milliseconds for a 5-frame 640x480 burst with a frontal face, and
    up to about 150 ms with none, on a small 2-core PC.
    """
    cfg = settings or PortraitSettings()
    started = time.perf_counter()
    prepared, skipped = _prepare(frames, cfg)
    if not prepared:
        raise PortraitError(f"no usable frame in a burst of {len(frames)} (all missing or corrupt)")
    own = detector is None
    det = detector if detector is not None else _pool.acquire()
    try:
        if det is None:
            candidates: list[_Candidate] = []
            why_none = f"face detector unavailable ({_pool.error})"
        else:
            candidates = _find_faces(det, prepared, cfg)
            why_none = f"no face found in {len(prepared)} frame(s)"
    finally:
        if own and det is not None:
            _pool.release(det)
    if candidates:
        for cand in candidates:
            _score(cand, cfg)
        best = max(candidates, key=lambda c: c.score)
        portrait = _face_portrait(best, cfg, len(prepared), skipped, started)
    else:
        portrait = _fallback(prepared, cfg, why_none, skipped, started)
    return portrait


# -- steps ---------------------------------------------------------------------------------
def _prepare(frames: Sequence[Frame | np.ndarray | None], cfg: PortraitSettings) -> tuple[list[_Prepared], int]:
    prepared: list[_Prepared] = []
    skipped = 0
    for index, item in enumerate(frames):
        image = item.image if isinstance(item, Frame) else item
        if check_image(image) is not None:
            skipped += 1
            continue
        assert isinstance(image, np.ndarray)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        height = gray.shape[0]
        # Map the smallest face worth keeping onto the cascade window; never upscale.
        scale = min(1.0, _WINDOW / (cfg.min_face * height))
        if scale < 1.0:
            small = cv2.resize(
                gray,
                (max(1, round(gray.shape[1] * scale)), max(1, round(height * scale))),
                interpolation=cv2.INTER_AREA,
            )
        else:
            small = gray
        small = cv2.equalizeHist(small)
        sharpness = float(cv2.Laplacian(small, cv2.CV_32F).var())
        prepared.append(_Prepared(index, image, gray, small, scale, sharpness))
    return prepared, skipped


def _find_faces(det: FaceDetector, prepared: list[_Prepared], cfg: PortraitSettings) -> list[_Candidate]:
    by_sharpness = sorted(prepared, key=lambda p: p.sharpness, reverse=True)
    found = _search(
        det,
        "frontal",
        by_sharpness,
        cfg,
        always_whole=cfg.full_search_frames,
        max_whole=cfg.max_full_searches,
        mirrors=(False,),
        step=1.15,
    )
    if found:
        return found
    # The profile cascade misses more at coarse steps: fewer frames, finer step.
    whole = max(1, cfg.profile_frames)
    return _search(
        det, "profile", by_sharpness, cfg, always_whole=whole, max_whole=whole, mirrors=(False, True), step=1.1
    )


def _search(
    det: FaceDetector,
    which: str,
    frames: list[_Prepared],
    cfg: PortraitSettings,
    always_whole: int,
    max_whole: int,
    mirrors: tuple[bool, ...],
    step: float,
) -> list[_Candidate]:
    """Search the sharpest frames whole (`always_whole` of them, up to `max_whole` while
    nothing is found); in the others look only around faces already found: the person
    moves little within a burst, and a region is searched many times faster."""
    candidates: list[_Candidate] = []
    anchors: list[tuple[Box, bool]] = []  # faces found so far (downscaled pixels) and their facing
    for n, frame in enumerate(frames):
        min_side = max(_WINDOW - 2, round(cfg.min_face * frame.small.shape[0]))
        hits: list[tuple[Box, int, bool]] = []
        if n < always_whole or (not anchors and n < max_whole):
            for mirror in mirrors:
                hits += [
                    (b, k, mirror)
                    for b, k in det.detect(which, frame.small, min_side, mirror=mirror, scale_factor=step)
                ]
        elif not anchors:
            break  # the sharpest frames show nobody; the blurrier ones will not either
        else:
            for (ax, ay, aw, ah), mirror in anchors:
                # Half a face around the face, faces of 0.7..1.4 its size: a few ms.
                x0, y0 = max(0, ax - aw // 2), max(0, ay - ah // 2)
                x1, y1 = min(frame.small.shape[1], ax + aw + aw // 2), min(frame.small.shape[0], ay + ah + ah // 2)
                roi = frame.small[y0:y1, x0:x1]
                lo, hi = max(min_side, int(aw * 0.7)), int(aw * 1.4) + 1
                for (bx, by, bw, bh), k in det.detect(which, roi, lo, hi, mirror=mirror, scale_factor=1.1):
                    hits.append(((bx + x0, by + y0, bw, bh), k, mirror))
        for (x, y, w, h), k, mirror in hits:
            if all(_iou((x, y, w, h), a) < 0.3 for a, _ in anchors):
                anchors.append(((x, y, w, h), mirror))
            inv = 1.0 / frame.scale
            full = (round(x * inv), round(y * inv), round(w * inv), round(h * inv))
            candidates.append(_Candidate(frame, full, which, k))
    return candidates


def _score(cand: _Candidate, cfg: PortraitSettings) -> None:
    x, y, w, h = cand.box
    patch = cand.frame.gray[y : y + h, x : x + w]
    if patch.size == 0:
        cand.score = 0.0
        return
    patch = cv2.resize(patch, (_FACE_PATCH, _FACE_PATCH), interpolation=cv2.INTER_AREA)
    cand.sharpness = float(cv2.Laplacian(patch, cv2.CV_32F).var())
    size = min(1.0, h / cand.frame.gray.shape[0])
    sharp = cand.sharpness / (cand.sharpness + _SHARP_HALF)
    pose = 1.0 if cand.pose == "frontal" else cfg.profile_weight
    confidence = 0.5 + 0.5 * min(1.0, cand.neighbours / 8)
    cand.score = size * sharp * pose * confidence


def _face_portrait(best: _Candidate, cfg: PortraitSettings, used: int, skipped: int, started: float) -> Portrait:
    frame = best.frame
    H, W = frame.gray.shape
    x, y, w, h = best.box
    # Head and shoulders in a 4:5 portrait, centred a little below the face's middle.
    cw = w * (1 + 2 * cfg.margin)
    ch = cw * 1.25
    cx, cy = x + w / 2, y + h * 0.6
    crop = _fit_box(cx - cw / 2, cy - ch / 2, cw, ch, W, H)
    cx0, cy0, cw_, ch_ = crop
    jpeg, jw, jh, q = _encode(frame.image[cy0 : cy0 + ch_, cx0 : cx0 + cw_], cfg.max_side, cfg)
    blurred = best.sharpness < cfg.blurred_below
    reason = f"{best.pose} face, {w}px, best of {used} frame(s)"
    if blurred:
        reason = f"face found but blurred (sharpness {best.sharpness:.0f}); {reason}"
    return Portrait(
        jpeg=jpeg,
        width=jw,
        height=jh,
        flagged=blurred,
        reason=reason,
        face_box=best.box,
        crop_box=crop,
        score=round(best.score, 4),
        frame_index=frame.index,
        pose=best.pose,
        sharpness=round(best.sharpness, 1),
        quality=q,
        frames_used=used,
        frames_skipped=skipped,
        elapsed_s=time.perf_counter() - started,
    )


def _fallback(prepared: list[_Prepared], cfg: PortraitSettings, why: str, skipped: int, started: float) -> Portrait:
    frame = max(prepared, key=lambda p: p.sharpness)
    H, W = frame.gray.shape
    jpeg, jw, jh, q = _encode(frame.image, cfg.fallback_side, cfg)
    return Portrait(
        jpeg=jpeg,
        width=jw,
        height=jh,
        flagged=True,
        reason=f"{why}; sharpest frame kept for review",
        face_box=None,
        crop_box=(0, 0, W, H),
        score=0.0,
        frame_index=frame.index,
        pose="none",
        sharpness=round(frame.sharpness, 1),
        quality=q,
        frames_used=len(prepared),
        frames_skipped=skipped,
        elapsed_s=time.perf_counter() - started,
    )


def _fit_box(x: float, y: float, w: float, h: float, W: int, H: int) -> Box:
    """Round a box and move it inside the frame (shrinking only if it is bigger)."""
    w, h = min(round(w), W), min(round(h), H)
    x = min(max(0, round(x)), W - w)
    y = min(max(0, round(y)), H - h)
    return int(x), int(y), int(w), int(h)


def _encode(image: np.ndarray, max_side: int, cfg: PortraitSettings) -> tuple[bytes, int, int, int]:
    """JPEG under cfg.max_bytes: lower the quality step by step, then the size."""
    h, w = image.shape[:2]
    side = min(max_side, max(h, w))
    data = b""
    quality = cfg.min_quality
    while True:
        scale = side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1 else image
        for quality in range(cfg.first_quality, cfg.min_quality - 1, -8):
            ok, buf = cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 1])
            if ok:
                data = buf.tobytes()
                if len(data) < cfg.max_bytes:
                    return data, size[0], size[1], quality
        if side <= 48:
            return data, size[0], size[1], quality  # cannot happen with sane budgets
        side = max(48, round(side * 0.8))


def _iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0
