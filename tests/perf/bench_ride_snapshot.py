"""Elevator ride snapshot benchmark, through the whole path.

A simulated building speaks the real protocol over a pseudo-terminal to the real serial
driver; the exit camera plays a 640x480 MJPG video of a person stepping out (written
here from scikit-image's astronaut); the service pairs the swipe with the doors opening,
grabs the burst, extracts the portrait, prices the ride and commits it with its audit
entry and outbox event to SQLite.

Prints: latency from the doors-open event reaching the console to the ride committed
(median / p95; goal < 500 ms), and bytes stored and sent per ride against one raw frame
and against the burst kept as JPEG frames (goal: at least 20x smaller than one frame).

Run: .venv/bin/python tests/perf/bench_ride_snapshot.py [rides]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from skimage import data
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.domain.clock import SystemClock  # noqa: E402
from console.site.build import open_store  # noqa: E402
from console.site.elevator import (  # noqa: E402
    CAMERA_DEVICE,
    ELEVATOR_DEVICE,
    ElevatorService,
    RideRecorded,
)
from console.site.elevator_config import ElevatorSection  # noqa: E402
from console.site.events import DeviceHealthChanged  # noqa: E402
from console.store.engine import sqlite_url  # noqa: E402
from console.store.tables import OutboxRow  # noqa: E402
from drivers.camera.scene import compose, lobby_background  # noqa: E402
from drivers.health import HealthState  # noqa: E402


def make_video(path: Path, frames: int = 50) -> list[np.ndarray]:
    lobby = lobby_background(640, 480, doors_open=1.0, seed=3)
    person = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    out = [compose(lobby, person, 130 + i % 8, 10, 0.9)[0] for i in range(frames)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (640, 480))
    for frame in out:
        writer.write(frame)
    writer.release()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    rides = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = make_video(folder / "exit.avi")
        store = open_store(sqlite_url(folder / "booth.sqlite3"))
        section = ElevatorSection(
            url="sim://?cars=1&lowest=-2&highest=10&timing=fast",
            camera_url=f"file://{folder / 'exit.avi'}",
            price_rules=[{"name": "flat", "fee": "0.80"}],  # type: ignore[list-item]
            cards=[{"id": "04A1B2C3", "class": "resident", "account": "FLAT-12A"}],  # type: ignore[list-item]
        )
        done = threading.Condition()
        recorded: list[RideRecorded] = []
        health: dict[str, HealthState] = {}

        def publish(event: object) -> None:
            with done:
                if isinstance(event, RideRecorded):
                    recorded.append(event)
                elif isinstance(event, DeviceHealthChanged):
                    health[event.health.device] = event.health.state
                done.notify_all()

        service = ElevatorService(store, section, ZoneInfo("Europe/Berlin"), "EUR", SystemClock(),
                                  report=lambda level, text: None, publish=publish)
        service.start()
        try:
            with done:
                done.wait_for(lambda: health.get(ELEVATOR_DEVICE) is HealthState.OK
                              and health.get(CAMERA_DEVICE) is HealthState.OK, timeout=10)
            time.sleep(0.5)  # let the face detector load (done at start in a worker)
            sim = service.elevator.simulator  # type: ignore[union-attr]
            for i in range(rides):
                sim.swipe(1, "04A1B2C3", 5 if i % 2 == 0 else 3)
                with done:
                    if not done.wait_for(lambda: len(recorded) > i, timeout=10):
                        raise SystemExit(f"ride {i + 1} was not recorded")
                sim.wait_idle(5)
        finally:
            service.stop()
        latencies = [r.latency_s * 1000 for r in recorded if r.latency_s is not None]
        stored = [r.ride.snapshot_bytes for r in recorded]
        faces = sum(r.ride.snapshot_face for r in recorded)
        with Session(store.engine) as s:
            sent = [len(row.payload.encode()) for row in s.exec(select(OutboxRow)).all()]
        store.engine.dispose()

    raw_frame = 640 * 480 * 3
    burst = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].size for f in frames[: section.burst_count]]
    one_jpeg = burst[0]
    burst_jpeg = sum(burst)
    med_stored, med_sent = statistics.median(stored), statistics.median(sent)
    print(f"rides: {len(recorded)} (face portraits: {faces}), burst {section.burst_count} x {section.burst_interval_ms} ms, 640x480")
    print(f"doors-open event -> ride committed: median {statistics.median(latencies):.0f} ms, "
          f"p95 {pct(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms (goal < 500 ms)")
    print(f"stored snapshot per ride: median {med_stored:.0f} B (max {max(stored)} B, limit 20000 B)")
    print(f"sent per ride (outbox JSON with base64 snapshot): median {med_sent:.0f} B")
    print(f"one raw frame: {raw_frame} B -> stored is {raw_frame / med_stored:.0f}x smaller, sent {raw_frame / med_sent:.0f}x smaller (goal >= 20x)")
    print(f"one frame as JPEG q90: {one_jpeg} B -> stored is {one_jpeg / med_stored:.1f}x smaller")
    print(f"burst as JPEG frames: {burst_jpeg} B -> stored is {burst_jpeg / med_stored:.0f}x smaller, sent {burst_jpeg / med_sent:.0f}x smaller")


if __name__ == "__main__":
    main()
