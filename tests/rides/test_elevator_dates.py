"""The elevator screens write their moments in the attendant's language: the ride log and
a ride's details "02.03. 09:00:00" in English, "03-02 09:00:00" in Chinese; a purged
snapshot's day "01.04.2026" / "2026-04-01"."""

from __future__ import annotations

from typing import Iterator

import pytest
from textual.widgets import DataTable, Label

from console.i18n import set_language
from console.store.database import Store
from console.ui.screens.elevator import ElevatorScreen, RideScreen
from tests.rides.test_elevator_screen import Host, _rows, _seed, until

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")

# The first ride's doors open at 08:00 UTC, 09:00 in Berlin; its snapshot is deleted 31 days later.
WORDS = {"en": ("02.03. 09:00:00", "02.04.2026"), "zh_CN": ("03-02 09:00:00", "2026-04-02")}


@pytest.fixture(params=["en", "zh_CN"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    try:
        yield request.param
    finally:
        set_language("en")


async def test_ride_log_details_and_purge_day_in_the_language(run_service, store: Store, clock, lang: str) -> None:  # type: ignore[no-untyped-def]
    rides = _seed(store, clock)
    service, _events = run_service(start=False, snapshot_retention_days=30)
    clock.advance(days=31)
    assert service.purge_now() == 3
    moment, purged = WORDS[lang]
    app = Host(ElevatorScreen(service, "ann"))
    async with app.run_test(size=(160, 48), notifications=False) as pilot:
        screen = app.screen
        assert isinstance(screen, ElevatorScreen)
        await until(pilot, lambda: len(_rows(screen)) == 4)
        table = screen.query_one("#rides", DataTable)
        assert moment in [str(table.get_row(rides[0].id)[0])]
        app.push_screen(RideScreen(service, rides[0].id, "ann"))
        await until(pilot, lambda: isinstance(app.screen, RideScreen) and app.screen.ride is not None)
        ride_screen = app.screen
        assert moment in str(ride_screen.query_one("#details", Label).render())
        assert purged in str(ride_screen.query_one("#picture-state", Label).render())
