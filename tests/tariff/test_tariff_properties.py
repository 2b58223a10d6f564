"""Properties every quote must have, on random tariffs and stays (hypothesis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import REPO, at, load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tariff_strategies import stays, tariff_text

from console.domain.money import Money
from console.domain.tariff import PreviousVisit, parse_tariff, quote
from console.domain.tariff.calendar import to_epoch_minute
from console.domain.tariff.engine import time_charge

_FAST = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_EXTRAS = """
[members.half]
percent_off = 50
[members.free]
label = "Whitelist"
kind = "whitelist"
[validations.MIN]
minutes_off = 45
[validations.PCT]
percent_off = 30
[validations.AMT]
amount_off = "1.50"
[validations.FREE]
free = true
"""


@_FAST
@given(text=tariff_text(offers=False), stay=stays(), later=st.integers(0, 900),
       codes=st.lists(st.sampled_from(["MIN", "PCT", "AMT"]), unique=True, max_size=3),
       member=st.sampled_from([None, "half"]))
def test_fee_never_decreases_when_leaving_later(text: str, stay: tuple[datetime, datetime],
                                                later: int, codes: list[str],
                                                member: str | None) -> None:
    tariff = parse_tariff(text + _EXTRAS)
    entry, exit_ = stay
    kw = {"validations": codes, "member": member}
    before = quote(tariff, entry, exit_, **kw).total.minor
    after = quote(tariff, entry, exit_ + timedelta(minutes=later), **kw).total.minor
    assert after >= before


@_FAST
@given(text=tariff_text(), stay=stays())
def test_no_cap_is_ever_exceeded(text: str, stay: tuple[datetime, datetime]) -> None:
    tariff = parse_tariff(text)
    vc = tariff.classes["car"]
    start, end = to_epoch_minute(stay[0]), to_epoch_minute(stay[1])
    stretches = time_charge(tariff, vc, start, start + vc.rules.free, end)
    per_occ: dict[tuple[int, int], int] = defaultdict(int)
    per_day: dict[int, int] = defaultdict(int)
    per_24h: dict[int, int] = defaultdict(int)
    for s in stretches:
        assert 0 <= s.charged <= s.gross
        per_occ[(s.occurrence, s.window)] += s.charged
        day = tariff.schedule.ordinal_of(s.first_start)
        per_day[day] += s.charged
        per_24h[(s.first_start - start) // 1440] += s.charged
    for (_, w), amount in per_occ.items():
        cap = vc.rates[w].max_per_occurrence
        assert cap is None or amount <= cap
    if vc.caps.per_calendar_day is not None:
        assert all(a <= vc.caps.per_calendar_day for a in per_day.values())
    if vc.caps.per_24h is not None:
        assert all(a <= vc.caps.per_24h for a in per_24h.values())
    if vc.caps.per_stay is not None:
        assert sum(s.charged for s in stretches) <= vc.caps.per_stay


@_FAST
@given(text=tariff_text(), stay=stays(),
       codes=st.lists(st.sampled_from(["MIN", "PCT", "AMT", "FREE"]), unique=True, max_size=4),
       member=st.sampled_from([None, "half", "free"]), paid=st.integers(0, 3000),
       paid_until=st.integers(-1, 600), lost=st.booleans(), previous=st.integers(-1, 40))
def test_a_fee_is_never_negative_and_items_add_up(text: str, stay: tuple[datetime, datetime],
                                                  codes: list[str], member: str | None,
                                                  paid: int, paid_until: int, lost: bool,
                                                  previous: int) -> None:
    tariff = parse_tariff(text.replace("[classes.car]", "[classes.car]\nlost_ticket = \"7.00\"\n"
                                       "rules.reentry_within = \"30min\"", 1) + _EXTRAS)
    entry, exit_ = stay
    kw: dict[str, object] = {"validations": codes, "member": member, "lost_ticket": lost}
    if paid_until >= 0:
        kw["paid_until"] = min(exit_, entry + timedelta(minutes=paid_until))
    if previous >= 0:
        kw["previous_visit"] = PreviousVisit(entry - timedelta(hours=3),
                                             entry - timedelta(minutes=previous),
                                             Money(paid, "EUR"))
    q = quote(tariff, entry, exit_, **kw)  # type: ignore[arg-type]
    assert q.total.minor >= 0
    assert sum(i.amount.minor for i in q.items) == q.total.minor
    assert q.tariff_id == "gen@1"


# -- the process's own time zone never matters -------------------------------------------

_PROBES = [
    ("default", "2026-03-02T18:30:00+01:00", "2026-03-03T09:00:00+01:00"),
    ("default", "2026-03-28T19:00:00+01:00", "2026-03-29T10:00:00+02:00"),
    ("city_garage", "2026-03-03T07:30:00-05:00", "2026-03-03T18:00:00-05:00"),
    ("residential", "2026-10-24T18:00:00+02:00", "2026-10-25T08:00:00+01:00"),
    ("mall", "2026-04-06T14:00:00+02:00", "2026-04-06T16:00:00+02:00"),
]

_SCRIPT = """
import json, sys
from datetime import datetime
from pathlib import Path
from console.domain.tariff import parse_tariff, quote
out = []
for name, a, b in json.loads(sys.argv[1]):
    t = parse_tariff(Path("tariffs", name + ".toml").read_text())
    out.append(quote(t, datetime.fromisoformat(a), datetime.fromisoformat(b)).to_json())
print(json.dumps(out))
"""


def _quotes_in_subprocess(tz: str) -> list[object]:
    env = dict(os.environ, TZ=tz)
    done = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(_PROBES)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_quotes_do_not_depend_on_the_process_time_zone_subprocess() -> None:
    results = [_quotes_in_subprocess(tz) for tz in ("UTC", "Pacific/Kiritimati",
                                                     "America/Los_Angeles")]
    assert results[0] == results[1] == results[2]
    assert results[0][0]["total_minor"] == 1500


@settings(max_examples=20, deadline=None)
@given(stay=stays(max_minutes=2 * 1440), tz=st.sampled_from(["UTC", "Asia/Kolkata",
                                                             "America/St_Johns", "Europe/Moscow"]))
def test_quotes_do_not_depend_on_the_process_time_zone_tzset(stay: tuple[datetime, datetime],
                                                            tz: str) -> None:
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    tariff = load("default")
    reference = quote(tariff, *stay).to_json()
    old = os.environ.get("TZ")
    try:
        os.environ["TZ"] = tz
        time.tzset()
        local_entry = stay[0].astimezone()  # same instant, expressed in the process zone
        assert quote(tariff, local_entry, stay[1]).to_json() == reference
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


# -- daylight saving time: real elapsed time is charged ---------------------------------

_PER_15 = """
[tariff]
id = "per-quarter"
version = 1
currency = "EUR"
timezone = "{tz}"
[classes.car.rate]
unit = "15min"
price = "0.25"
"""

_TRANSITIONS = [("Europe/Berlin", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
                ("Europe/Berlin", datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
                ("America/New_York", datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
                ("America/New_York", datetime(2026, 11, 1, 6, 0, tzinfo=UTC))]


@settings(max_examples=40, deadline=None)
@given(which=st.sampled_from(_TRANSITIONS), before=st.integers(0, 600), after=st.integers(0, 600))
def test_stays_across_dst_are_charged_for_real_elapsed_time(which: tuple[str, datetime],
                                                           before: int, after: int) -> None:
    tz, change = which
    tariff = parse_tariff(_PER_15.format(tz=tz))
    entry = (change - timedelta(minutes=before)).astimezone(ZoneInfo(tz))
    exit_ = (change + timedelta(minutes=after)).astimezone(ZoneInfo(tz))
    elapsed = before + after
    assert quote(tariff, entry, exit_).total.minor == 25 * -(-elapsed // 15)


@pytest.mark.parametrize(("tz", "night_of", "units"), [
    ("Europe/Berlin", "2026-03-28", 10),    # 20:00-07:00 lasts 10 real hours (spring)
    ("Europe/Berlin", "2026-10-24", 12),    # 12 real hours (autumn)
    ("America/New_York", "2026-03-07", 10),
    ("America/New_York", "2026-10-31", 12),
])
def test_a_night_window_over_a_dst_change(tz: str, night_of: str, units: int) -> None:
    tariff = parse_tariff(f"""
[tariff]
id = "dn"
version = 1
currency = "EUR"
timezone = "{tz}"
[windows.day]
from = "07:00"
to = "20:00"
[windows.night]
from = "20:00"
to = "07:00"
[classes.car.rates.day]
unit = "1h"
price = "2.00"
[classes.car.rates.night]
unit = "1h"
price = "1.00"
""")
    day = datetime.fromisoformat(night_of)
    entry = at(tz, f"{night_of} 20:00")
    exit_ = at(tz, f"{(day + timedelta(days=1)).date()} 07:00")
    q = quote(tariff, entry, exit_)
    assert q.total.minor == 100 * units
    assert q.items[0].label == f"Night 20:00-07:00: {units} x 1 h @ 1.00"
