"""The event log of a booth sharing its database shows what another booth did, marked with
that booth: two booths on one SQLite file, the second in the console under Pilot."""

from __future__ import annotations

import time
from pathlib import Path

from console.site.build import build_site, open_store
from console.store.engine import sqlite_url
from console.ui.app import BoothApp
from console.ui.widgets.event_log import EventLog
from drivers.gate.simworld import Traffic
from tests.support.booths import SiteClock, booth_config, start_booth, stop_booth
from tests.ui.test_console_ui import until


async def test_another_booths_entry_shows_in_the_log_with_its_booth(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "site.sqlite3")
    epoch = time.time()
    one = start_booth(url, 1, epoch=epoch, migrate=True)
    config = booth_config(url, 2)
    store = open_store(url, settings=config.engine_settings)
    two = build_site(config, store, clock=SiteClock(epoch), traffic=Traffic(seed=2))
    app = BoothApp(two, attendant="att2")
    try:
        async with app.run_test(size=(130, 36)) as pilot:
            await until(pilot, lambda: app.dashboard.site is not None and two.live is not None and two.live.seen_seq is not None)
            one.lanes.enter("IN1", "EV1234")
            log = app.dashboard.query_one(EventLog)
            await until(pilot, lambda: any("EV1234 entered" in line.text for line in log.lines), timeout=3.0)
            line = next(line.text for line in log.lines if "EV1234 entered" in line.text)
            assert "[booth-1] IN1: EV1234 entered" in line
    finally:
        stop_booth(one)
        store.dispose()
