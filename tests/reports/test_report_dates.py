"""Dates in the reports as the attendant's language writes them: the shift report and the
manager reports on screen (through Pilot) and in text, "02.03.2026 08:00" in English and
"2026-03-02 08:00" in Chinese, while the JSON and CSV exports keep ISO 8601 in both."""

from __future__ import annotations

import json
from datetime import date
from typing import Iterator

import pytest
from textual.widgets import Static

from console.i18n import set_language
from console.reports.export import manager_report_csv, manager_report_json, manager_report_text, shift_report_csv, shift_report_json
from console.reports.model import ManagerReport, ShiftReport
from console.reports.queries import build_manager_report, build_shift_report
from console.ui.screens.reports import ManagerReportsScreen
from console.ui.screens.shift_report import ShiftReportScreen
from tests.reports.conftest import TZ, Day
from tests.reports.test_report_screens import Host, text_of, until

# The hand-made day's shift 1 runs 07:00-15:00 UTC: 08:00-16:00 in Berlin; its waiver is at 10:10.
WORDS = {
    "en": {"stamp": "02.03.2026 08:00", "end": "02.03.2026 16:00", "range": "24.02.2026 – 02.03.2026",
           "period": "Period 24.02.2026 to 02.03.2026", "day_row": "  02.03.2026", "not": "2026-03-02 08:00"},
    "zh_CN": {"stamp": "2026-03-02 08:00", "end": "2026-03-02 16:00", "range": "2026-02-24 – 2026-03-02",
              "period": "2026-02-24", "day_row": "  2026-03-02", "not": "02.03.2026"},
}


@pytest.fixture(params=["en", "zh_CN"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    try:
        yield request.param
    finally:
        set_language("en")


def _shift(store, day: Day) -> ShiftReport:  # type: ignore[no-untyped-def]
    return build_shift_report(store.engine, day.s1, TZ, site_name="Test Garage")


def _manager(store) -> ManagerReport:  # type: ignore[no-untyped-def]
    return build_manager_report(store.engine, date(2026, 2, 24), date(2026, 3, 2), TZ, currency="EUR")


async def test_the_shift_report_screen_writes_its_times_in_the_language(store, day: Day, lang: str) -> None:  # type: ignore[no-untyped-def]
    screen = ShiftReportScreen(lambda: _shift(store, day))
    app = Host(screen)
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: screen.report is not None and bool(screen.query("#section-overrides")))
        head = text_of(screen.query_one("#section-head", Static))
        assert WORDS[lang]["stamp"] in head and WORDS[lang]["end"] in head
        assert WORDS[lang]["not"] not in head
        assert "10:10" in text_of(screen.query_one("#section-overrides", Static))  # the waiver's time of day


async def test_the_manager_screen_writes_its_range_in_the_language(store, day: Day, lang: str) -> None:  # type: ignore[no-untyped-def]
    screen = ManagerReportsScreen(lambda start, end: build_manager_report(store.engine, start, end, TZ, currency="EUR"),
                                  today=date(2026, 3, 2), days=7)
    app = Host(screen)
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: screen.report is not None)
        summary = text_of(screen.query_one("#summary", Static))
        assert WORDS[lang]["range"] in summary


def test_the_manager_text_report_writes_days_in_the_language(store, day: Day, lang: str) -> None:  # type: ignore[no-untyped-def]
    text = manager_report_text(_manager(store))
    lines = text.splitlines()
    assert WORDS[lang]["period"] in lines[0]
    assert any(line.startswith(WORDS[lang]["day_row"]) for line in lines)


def test_exports_keep_iso_dates_in_every_language(store, day: Day, lang: str) -> None:  # type: ignore[no-untyped-def]
    manager = _manager(store)
    data = manager_report_json(manager)
    assert data["start"] == "2026-02-24" and data["end"] == "2026-03-02"
    assert data["days"][-1]["day"] == "2026-03-02"
    assert "period,start" in manager_report_csv(manager).replace('"', "") and "2026-02-24" in manager_report_csv(manager)
    shift = shift_report_json(_shift(store, day))
    assert json.dumps(shift).count("2026-03-02T08:00:00+01:00") >= 1  # opened, in the site's zone, ISO
    csv_text = shift_report_csv(_shift(store, day))
    assert "2026-03-02T" in csv_text and "02.03.2026" not in csv_text
