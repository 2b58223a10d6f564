"""Benchmark: the elevator exit snapshot, from doors-open to a stored portrait.

For each simulated ride: grab a burst of 640x480 frames from a running camera (a real
MJPG video file played by the OpenCV file camera, and the synthetic `sim://` camera),
extract the head portrait and encode it. Prints the bytes stored per ride against one
raw frame and against the burst stored as JPEG frames, and the time from doors-open to
snapshot ready (median and p95). Goals: at least 20x smaller than one raw frame, under
500 ms. No asserts: the figures are for reading.

    .venv/bin/python tests/perf/bench_snapshot.py [--rides 50] [--source file|sim|both]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from drivers.camera import Camera, extract_portrait, open_camera, preload_detector  # noqa: E402
from drivers.camera.scene import compose, load_person, lobby_background  # noqa: E402
from drivers.health import HealthState  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 480, 25.0
EMPTY_FRAMES, WALK_FRAMES, WALKERS = 8, 42, 4  # the file's script, repeated in a loop
BURST, INTERVAL = 5, 0.04
RAW_FRAME = WIDTH * HEIGHT * 3
JPEG_QUALITY_FOR_FULL_FRAMES = 90


@dataclass
class Ride:
    grab_ms: float
    extract_ms: float
    total_ms: float
    stored: int
    burst_jpeg: int
    frames: int
    flagged: bool
    person_in_view: bool | None  # known for the file camera: its script is ours


def make_video(path: Path) -> None:
    """Eight seconds of an exit: people walking out towards the camera, with short gaps
    of empty lobby in between (the doors closing, the next car)."""
    person = load_person()
    closed = lobby_background(WIDTH, HEIGHT, doors_open=0.0, seed=1)
    opened = lobby_background(WIDTH, HEIGHT, doors_open=1.0, seed=1)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    rng = random.Random(3)
    for _ in range(WALKERS):
        for _ in range(EMPTY_FRAMES):
            writer.write(closed)
        x0, y0 = rng.randint(120, 260), rng.randint(0, 50)
        for i in range(WALK_FRAMES):
            p = i / (WALK_FRAMES - 1)
            scale = (0.60 + 0.35 * p) * HEIGHT / person.shape[0]
            frame, _ = compose(opened, person, x0 + round(40 * p), y0 - round(40 * p), scale)
            writer.write(frame)
    writer.release()


def wait_ok(cam: Camera, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while cam.health_snapshot().state is not HealthState.OK:
        if time.monotonic() > deadline:
            raise SystemExit(f"camera did not start: {cam.health_snapshot()}")
        time.sleep(0.02)


def file_frame_has_person(seq: int) -> bool:
    """Whether the file camera's frame number `seq` (1-based, looping) shows the walker."""
    return (seq - 1) % (EMPTY_FRAMES + WALK_FRAMES) >= EMPTY_FRAMES


def run(cam: Camera, rides: int, seed: int, knows_person: bool = False) -> list[Ride]:
    rng = random.Random(seed)
    results: list[Ride] = []
    for _ in range(rides):
        time.sleep(rng.uniform(0.05, 0.4))  # doors open at any moment of the stream
        t0 = time.perf_counter()
        burst = cam.grab_burst(BURST, INTERVAL)
        t1 = time.perf_counter()
        portrait = extract_portrait(burst)
        t2 = time.perf_counter()
        # What storing the burst itself would cost (not part of the timed path).
        as_jpeg = sum(
            len(cv2.imencode(".jpg", f.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY_FOR_FULL_FRAMES])[1])
            for f in burst
        )
        in_view = any(file_frame_has_person(f.seq) for f in burst) if knows_person else None
        results.append(
            Ride(
                (t1 - t0) * 1e3,
                (t2 - t1) * 1e3,
                (t2 - t0) * 1e3,
                len(portrait.jpeg),
                as_jpeg,
                len(burst),
                portrait.flagged,
                in_view,
            )
        )
    return results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(name: str, results: list[Ride]) -> None:
    stored = [r.stored for r in results]
    med = statistics.median(stored)
    burst_med = statistics.median(r.burst_jpeg for r in results)
    flagged = sum(r.flagged for r in results)
    rows = [
        f"\n== {name}",
        f"{len(results)} rides, bursts of {BURST} frames {WIDTH}x{HEIGHT} every {INTERVAL * 1000:.0f} ms",
        f"frames per burst            min {min(r.frames for r in results)}  max {max(r.frames for r in results)}",
        f"portraits flagged           {flagged} of {len(results)}",
    ]
    if all(r.person_in_view is not None for r in results):
        seen = [r for r in results if r.person_in_view]
        empty = [r for r in results if not r.person_in_view]
        rows.append(
            f"  person in view            {len(seen)} bursts, portrait found in {sum(not r.flagged for r in seen)}"
        )
        rows.append(f"  empty lobby               {len(empty)} bursts, flagged {sum(r.flagged for r in empty)}")
    p95 = pct(stored, 95)
    rows += [
        f"bytes stored per ride       median {med:,.0f}  p95 {p95:,.0f}  max {max(stored):,}  (budget 20,000)",
        f"vs one raw frame            {RAW_FRAME:,} bytes: {RAW_FRAME / med:,.0f}x less (goal >= 20x), "
        f"worst ride {RAW_FRAME / max(stored):,.0f}x",
        f"vs burst as JPEG q{JPEG_QUALITY_FOR_FULL_FRAMES}       median {burst_med:,.0f} bytes: "
        f"{burst_med / med:,.0f}x less",
    ]
    for label, values in (
        ("doors-open -> snapshot", [r.total_ms for r in results]),
        ("  grab burst", [r.grab_ms for r in results]),
        ("  extract + encode", [r.extract_ms for r in results]),
    ):
        goal = "  (goal < 500 ms)" if label.startswith("doors") else ""
        median, p95_ms, worst = statistics.median(values), pct(values, 95), max(values)
        rows.append(f"{label:<28}median {median:6.1f} ms  p95 {p95_ms:6.1f} ms  max {worst:6.1f} ms{goal}")
    print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rides", type=int, default=50)
    parser.add_argument("--source", choices=("file", "sim", "both"), default="both")
    args = parser.parse_args()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"cpus {os.cpu_count()}, load average {load}, OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads)")
    t = time.perf_counter()
    preload_detector()
    print(f"cascades loaded in {(time.perf_counter() - t) * 1e3:.0f} ms (once per process)")
    with tempfile.TemporaryDirectory() as tmp:
        if args.source in ("file", "both"):
            video = Path(tmp) / "exit.avi"
            make_video(video)
            cam = open_camera(f"file://{video}")
            cam.start()
            try:
                wait_ok(cam)
                report(
                    f"file camera ({video.stat().st_size / 1e6:.1f} MB MJPG, {FPS:.0f} fps)",
                    run(cam, args.rides, seed=1, knows_person=True),
                )
            finally:
                cam.stop()
        if args.source in ("sim", "both"):
            cam = open_camera(f"sim://?size={WIDTH}x{HEIGHT}&fps={FPS:.0f}&seed=2")
            cam.start()
            try:
                wait_ok(cam)
                report(
                    f"sim camera ({FPS:.0f} fps, 25% empty lobby, 10% motion-blurred frames)",
                    run(cam, args.rides, seed=2),
                )
            finally:
                cam.stop()


if __name__ == "__main__":
    main()
