"""The elevator screens through Textual's Pilot, on a real SQLite store: the gallery
shows the latest snapshots, the search filters the ride log, Enter opens a ride with
its snapshot large, and every view is in the audit trail."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Callable

import cv2
import pytest
from sqlmodel import Session, col, select
from textual.app import App
from textual.widgets import DataTable, Input, Label

from console.domain.clock import FixedClock
from console.domain.money import Money
from console.domain.rides import RideKind
from console.store.database import Store
from console.store.rides import NewRide, RideSummary, record_ride
from console.store.tables import AuditRow
from console.ui.screens.elevator import (
    ElevatorScreen,
    RideScreen,
    SnapshotImage,
    SnapshotTile,
)
from tests.rides.conftest import astronaut_bgr

# textual-image calls a Pillow method Pillow 12 deprecates; not ours to change.
pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")


class Host(App[None]):
    def __init__(self, screen: ElevatorScreen) -> None:
        super().__init__()
        self._elevator = screen

    def on_mount(self) -> None:
        self.push_screen(self._elevator)


async def until(pilot, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("screen did not reach the expected state")
        await pilot.pause(0.02)
    await pilot.pause()


def _seed(store: Store, clock: FixedClock) -> list[RideSummary]:
    ok, buf = cv2.imencode(".jpg", cv2.resize(astronaut_bgr(), (160, 160)), [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    jpeg = buf.tobytes()
    rides = []
    for i, (card, floor) in enumerate([("04A1B2C3", -2), ("0A0B0C0D", 5), ("04A1B2C3", 3)]):
        at = clock.now() + timedelta(minutes=10 * i)
        rides.append(store.apply(record_ride, NewRide(
            kind=RideKind.RIDE, car=1, floor=floor, doors_open_at=at, fee=Money(80, "EUR"), card=card,
            card_class="resident", account_id="FLAT-1", swiped_at=at, price_rule="flat",
            snapshot=jpeg, snapshot_width=160, snapshot_height=160, snapshot_face=True), at=at))
    rides.append(store.apply(record_ride, NewRide(
        kind=RideKind.UNCLAIMED, car=2, floor=7, doors_open_at=clock.now() + timedelta(minutes=40),
        fee=Money(0, "EUR")), at=clock.now()))
    return rides


def _rows(screen: ElevatorScreen) -> list[str]:
    return [str(k.value) for k in screen.query_one("#rides", DataTable).rows]


async def test_gallery_search_and_open_ride_are_audited(run_service, store: Store, clock: FixedClock) -> None:
    rides = _seed(store, clock)
    service, _ = run_service(start=False)  # no devices: the screen needs only the store
    screen = ElevatorScreen(service, "ann", gallery_size=6)
    app = Host(screen)
    async with app.run_test(size=(160, 48), notifications=False) as pilot:
        await until(pilot, lambda: len(_rows(screen)) == 4)
        await until(pilot, lambda: len(screen.query(SnapshotTile)) == 3)
        assert len(screen.query(SnapshotImage)) == 3
        # Newest first: the unclaimed stop, then the rides.
        assert _rows(screen)[0] == rides[3].id

        screen.query_one("#search", Input).value = "04A1"
        await pilot.click("#search")
        await pilot.press("enter")
        await until(pilot, lambda: set(_rows(screen)) == {rides[0].id, rides[2].id})

        screen.query_one("#search", Input).value = "floor:5"
        await pilot.click("#search")
        await pilot.press("enter")
        await until(pilot, lambda: _rows(screen) == [rides[1].id])

        screen.query_one("#search", Input).value = "lift"
        await pilot.click("#search")
        await pilot.press("enter")
        await until(pilot, lambda: "not understood" in str(screen.query_one("#message", Label).render()))
        assert _rows(screen) == [rides[1].id]  # a bad search changes nothing

        table = screen.query_one("#rides", DataTable)
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RideScreen) and app.screen.ride is not None)
        ride_screen = app.screen
        assert isinstance(ride_screen, RideScreen) and ride_screen.ride_id == rides[1].id
        await until(pilot, lambda: len(ride_screen.query(SnapshotImage)) == 1)
        details = str(ride_screen.query_one("#details", Label).render())
        assert "0A0B0C0D" in details and "€0.80" in details
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)

    with Session(store.engine) as s:
        views = s.exec(select(AuditRow).where(AuditRow.action == "ride.snapshot_viewed").order_by(col(AuditRow.seq))).all()
    assert [v.subject for v in views] == ["gallery", rides[1].id]
    assert all(v.actor == "ann" for v in views)
    assert rides[0].id in views[0].detail


async def test_purged_snapshot_says_so(run_service, store: Store, clock: FixedClock) -> None:
    rides = _seed(store, clock)
    service, _ = run_service(start=False, snapshot_retention_days=30)
    clock.advance(days=31)
    assert service.purge_now() == 3
    app = Host(ElevatorScreen(service, "bob"))
    async with app.run_test(size=(160, 48), notifications=False) as pilot:
        screen = app.screen
        assert isinstance(screen, ElevatorScreen)
        await until(pilot, lambda: len(_rows(screen)) == 4)
        await until(pilot, lambda: "no snapshots yet" in str(screen.query_one("#gallery-empty", Label).render()))
        app.push_screen(RideScreen(service, rides[0].id, "bob"))
        await until(pilot, lambda: isinstance(app.screen, RideScreen) and app.screen.ride is not None)
        assert "deleted" in str(app.screen.query_one("#picture-state", Label).render())
