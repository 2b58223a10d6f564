"""Bad input never crashes the service and loses nothing: line noise, corrupt camera
frames, unusable URLs, swipes still waiting when the console stops."""

from __future__ import annotations

from console.domain.rides import RideKind
from console.site.elevator import CAMERA_DEVICE, ELEVATOR_DEVICE, RideRecorded
from drivers.health import HealthState
from tests.rides.conftest import SIM_BUILDING


def test_line_noise_and_corrupt_frames_still_give_the_ride(run_service) -> None:  # type: ignore[no-untyped-def]
    service, events = run_service(url=SIM_BUILDING, camera_url="sim://?corrupt=0.4&seed=2&fps=25&empty=0",
                                  price_rules=[{"name": "flat", "fee": "0.80"}])
    events.wait_for(lambda: events.health(ELEVATOR_DEVICE) is HealthState.OK, what="elevator OK")
    events.wait_for(lambda: events.health(CAMERA_DEVICE) in (HealthState.OK, HealthState.DEGRADED), what="camera up")
    sim = service.elevator.simulator  # type: ignore[union-attr]
    sim.send_raw(b"\xa5\x5a\x40\x00\x10garbage\x00\xff" * 3)
    sim.swipe(1, "04A1B2C3", 6)
    events.wait_for(lambda: len(events.of(RideRecorded)) == 1, what="ride recorded")
    (rec,) = events.of(RideRecorded)
    assert rec.ride.kind is RideKind.RIDE and rec.ride.floor == 6 and rec.ride.fee.minor == 80
    assert rec.ride.has_snapshot and rec.ride.snapshot_bytes < 20_000
    assert service.elevator.health_snapshot().counters.get("rejected_frames", 0) >= 1  # type: ignore[union-attr]


def test_unusable_urls_are_reported_not_raised(run_service) -> None:  # type: ignore[no-untyped-def]
    service, events = run_service(url="sim://?cars=banana", camera_url="ftp://camera")
    assert service.elevator is None and service.camera is None
    assert events.health(ELEVATOR_DEVICE) is HealthState.OFFLINE
    assert events.health(CAMERA_DEVICE) is HealthState.OFFLINE
    assert [level for level, _ in events.reports].count("error") == 2


def test_swipes_waiting_at_stop_are_kept(run_service) -> None:  # type: ignore[no-untyped-def]
    service, events = run_service(url=SIM_BUILDING)
    events.wait_for(lambda: events.health(ELEVATOR_DEVICE) is HealthState.OK, what="elevator OK")
    sim = service.elevator.simulator  # type: ignore[union-attr]
    sim.unplug()  # the line goes dead: the car moves but the console hears nothing more
    from drivers.elevator import ElevatorEvent, ElevatorEventKind

    service._on_event(ElevatorEvent(ElevatorEventKind.CARD_SWIPED, 2, 9, "0A0B0C0D"))
    events.wait_for(lambda: service.pending_swipes() == 1, what="swipe pending")
    service.stop()
    (rec,) = events.of(RideRecorded)
    assert rec.ride.kind is RideKind.TIMEOUT and rec.ride.card == "0A0B0C0D"
    assert "console stopped" in (rec.ride.flag_reason or "")
