"""Snapshots of the elevator screen (F8) at 80x24 and 120x40, in English and Chinese: the
gallery of the latest exit snapshots and the ride log, from a real SQLite store with three
rides and an unclaimed stop. The pictures themselves are masked (how they are drawn depends
on the terminal's graphics); their frames, times, floors and cards are compared."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from console.domain.clock import FixedClock
from console.i18n import set_language
from console.store.database import Store
from console.ui.screens.elevator import ElevatorScreen, SnapshotImage, SnapshotTile
from tests.rides.test_elevator_screen import Host, _seed, until
from tests.ui.snapshots import compare, screen_text

pytestmark = pytest.mark.filterwarnings("ignore:Image.Image.getdata:DeprecationWarning")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_elevator_screen(run_service, store: Store, clock: FixedClock, language: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    _seed(store, clock)
    service, _events = run_service(start=False)
    set_language(language)
    try:
        screen = ElevatorScreen(service, "ann", gallery_size=6)
        app = Host(screen)
        async with app.run_test(size=size, notifications=False) as pilot:
            await until(pilot, lambda: len(screen.query_one("#rides", DataTable).rows) == 4)
            await until(pilot, lambda: len(screen.query(SnapshotTile)) == 3)
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
            shown = screen_text(app, masked=screen.query(SnapshotImage))
            for text in ("04A1B2C3", "0A0B0C0D"):  # the cards of the rides are whole
                assert text in shown, f"{text!r} is not on the screen:\n{shown}"
            compare(f"elevator-{language.split('_')[0]}-{size[0]}x{size[1]}", shown)
    finally:
        set_language("en")
