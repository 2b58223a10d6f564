"""Rides through the whole path: the simulated building speaks the real protocol over a
pty to the real serial driver; the exit camera plays a video file written here; the
service pairs, photographs, prices and stores; the ride lands in SQLite with its
audit entry and outbox event."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np
from sqlmodel import Session, col, select

from console.domain.rides import RideKind
from console.site.elevator import CAMERA_DEVICE, ELEVATOR_DEVICE, RideRecorded
from console.store.database import Store
from console.store.tables import AuditRow, OutboxRow
from drivers.health import HealthState
from tests.rides.conftest import SIM_BUILDING, Events

CARDS = [
    {"id": "04A1B2C3", "class": "resident", "account": "FLAT-12A"},
    {"id": "0A0B0C0D", "class": "staff", "account": "STAFF"},
]
RULES = [{"name": "basement", "fee": "1.00", "floors": [-2, -1]}, {"name": "flat", "fee": "0.80"}]


def _ready(events: Events, camera: bool = True) -> None:
    events.wait_for(lambda: events.health(ELEVATOR_DEVICE) is HealthState.OK, what="elevator link OK")
    if camera:
        events.wait_for(lambda: events.health(CAMERA_DEVICE) is HealthState.OK, what="camera streaming")


def _rides(events: Events, n: int) -> list:
    events.wait_for(lambda: len(events.of(RideRecorded)) >= n, what=f"{n} record(s)")
    return [e.ride for e in events.of(RideRecorded)]


def _faces(jpeg: bytes) -> list:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return list(cascade.detectMultiScale(gray, 1.1, 4, minSize=(30, 30)))


def test_ride_is_stored_with_a_portrait_of_the_face(run_service, person_video: Path, store: Store) -> None:
    service, events = run_service(url=SIM_BUILDING, camera_url=f"file://{person_video}", cards=CARDS, price_rules=RULES)
    _ready(events)
    service.elevator.simulator.swipe(1, "04A1B2C3", -2)  # type: ignore[union-attr]
    (ride,) = _rides(events, 1)
    assert ride.kind is RideKind.RIDE
    assert (ride.card, ride.card_class, ride.account_id, ride.car, ride.floor) == ("04A1B2C3", "resident", "FLAT-12A", 1, -2)
    # The console has not yet seen the car stop anywhere: where it came from is unknown.
    assert ride.from_floor is None and ride.swiped_at is not None and ride.arrived_at is not None
    assert ride.swiped_at <= ride.arrived_at <= ride.doors_open_at
    assert ride.fee.minor == 100 and ride.price_rule == "basement"
    assert not ride.flagged, ride.flag_reason
    assert ride.snapshot_face and 0 < ride.snapshot_bytes < 20_000
    summary, jpeg = service.open_snapshot(ride.id, actor="ann")
    assert summary is not None and jpeg is not None and len(jpeg) == ride.snapshot_bytes
    assert _faces(jpeg), "the stored portrait shows a face (checked by another cascade)"
    with Session(store.engine) as s:
        (event,) = s.exec(select(OutboxRow).where(OutboxRow.type == "elevator.ride")).all()
        payload = json.loads(event.payload)
        assert payload["ride_id"] == ride.id and payload["fee_minor"] == 100
        assert base64.b64decode(payload["snapshot_jpeg_b64"]) == jpeg
        # The cloud keeps the portrait no longer than this booth, and reads months on its clock.
        assert (payload["snapshot_retention_days"], payload["timezone"]) == (30, "Europe/Berlin")
        actions = [a.action for a in s.exec(select(AuditRow).order_by(col(AuditRow.seq))).all()]
        assert "ride.ride" in actions and actions[-1] == "ride.snapshot_viewed"
    service.elevator.simulator.swipe(1, "0A0B0C0D", 4)  # type: ignore[union-attr]
    second = _rides(events, 2)[-1]
    assert (second.from_floor, second.floor, second.card_class) == (-2, 4, "staff")


def test_nobody_in_view_keeps_the_frame_and_flags(run_service, empty_video: Path) -> None:
    service, events = run_service(url=SIM_BUILDING, camera_url=f"file://{empty_video}", cards=CARDS, price_rules=RULES)
    _ready(events)
    service.elevator.simulator.swipe(2, "04A1B2C3", 5)  # type: ignore[union-attr]
    (ride,) = _rides(events, 1)
    assert ride.flagged and "nobody detected" in (ride.flag_reason or "")
    assert ride.has_snapshot and not ride.snapshot_face and ride.snapshot_bytes < 20_000
    assert ride.fee.minor == 80 and ride.price_rule == "flat"


def test_doors_at_a_floor_nobody_chose_is_an_unclaimed_stop(run_service, store: Store) -> None:
    service, events = run_service(url=SIM_BUILDING, price_rules=RULES)
    _ready(events, camera=False)
    service.elevator.simulator.call(1, 7)  # type: ignore[union-attr]
    (stop,) = _rides(events, 1)
    assert stop.kind is RideKind.UNCLAIMED and (stop.car, stop.floor) == (1, 7)
    assert stop.fee.minor == 0 and stop.card is None and not stop.has_snapshot
    with Session(store.engine) as s:
        assert s.exec(select(OutboxRow)).all() == []  # nothing to bill, nothing sent


def test_card_without_account_and_missing_camera_are_flagged(run_service, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-camera.avi"
    service, events = run_service(url=SIM_BUILDING, camera_url=f"file://{missing}", price_rules=RULES)
    _ready(events, camera=False)
    service.elevator.simulator.swipe(1, "DEADBEEF", 3)  # type: ignore[union-attr]
    (ride,) = _rides(events, 1)
    assert ride.kind is RideKind.RIDE and ride.card == "DEADBEEF" and ride.account_id is None
    assert ride.flagged
    assert "no account" in (ride.flag_reason or "") and "no camera" in (ride.flag_reason or "")
    assert ride.fee.minor == 80 and not ride.has_snapshot
    assert events.health(CAMERA_DEVICE) is HealthState.OFFLINE


def test_no_camera_configured_still_records(run_service) -> None:
    service, events = run_service(url=SIM_BUILDING, cards=CARDS, price_rules=RULES)
    _ready(events, camera=False)
    service.elevator.simulator.swipe(1, "0A0B0C0D", 2)  # type: ignore[union-attr]
    (ride,) = _rides(events, 1)
    assert ride.flagged and "no camera" in (ride.flag_reason or "")
