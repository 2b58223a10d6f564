from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from console.domain.timeparse import TimeInputError, parse_local_time

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 21, 13, 0, tzinfo=timezone.utc)  # 14:00 in Berlin


@pytest.mark.parametrize(
    ("text", "expected_local"),
    [
        ("09:15", datetime(2026, 11, 21, 9, 15)),
        ("15:00", datetime(2026, 11, 20, 15, 0)),  # later than now: yesterday
        ("20.11. 08:00", datetime(2026, 11, 20, 8, 0)),
        ("24.12. 08:00", datetime(2025, 12, 24, 8, 0)),  # would be in the future: last year
        ("2026-11-01 23:59", datetime(2026, 11, 1, 23, 59)),
    ],
)
def test_local_times(text: str, expected_local: datetime) -> None:
    assert parse_local_time(text, now=NOW, tz=BERLIN) == expected_local.replace(tzinfo=BERLIN).astimezone(timezone.utc)


@pytest.mark.parametrize("text", ["", "9", "25:00", "12:61", "31.02. 10:00", "2026-13-01 10:00", "noon"])
def test_refused(text: str) -> None:
    with pytest.raises(TimeInputError):
        parse_local_time(text, now=NOW, tz=BERLIN)


def test_time_skipped_by_dst_is_refused() -> None:
    with pytest.raises(TimeInputError, match="does not exist"):
        parse_local_time("2026-03-29 02:30", now=NOW, tz=BERLIN)
