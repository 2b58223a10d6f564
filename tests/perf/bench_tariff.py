"""Benchmark of the tariff engine: quotes per second, and the gain over the naive reference.

Run from the repository root:

    .venv/bin/python tests/perf/bench_tariff.py [--quick]

The tariff has day and night windows on working days, its own weekend windows, public
holidays, a cap per night, a cap per calendar day and a cap per 24 hours. Stays start at
spread-out times over a year. Each figure is printed with the speed-up over the
minute-by-minute reference (tests/tariff/naive_reference.py) beside it; for ten-year
stays the reference would take minutes per quote, so its rate is estimated from its
30-day rate (it is linear in the stay's length) and marked "est.". The ratio of a 30-day
to a 1-day stay is printed from the medians and from the least-disturbed times (each
chunk of stays at its fastest round), and the machine's load at the start is printed:
on a shared machine absolute figures fall, the least-disturbed ones much less. Nothing
is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_CHUNK_SECONDS = 0.0003  # time of the stays timed together for the least-disturbed figure
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "tariff"))

from naive_reference import naive_total  # noqa: E402  (found through the path set above)

from console.domain.tariff import Tariff, parse_tariff, quote  # noqa: E402
from console.domain.tariff.calendar import Schedule  # noqa: E402

BENCH_TARIFF = """
[tariff]
id = "bench"
version = 1
currency = "EUR"
timezone = "Europe/Berlin"

[calendar]
holidays = [2026-01-01, 2026-04-03, 2026-04-06, 2026-05-01, 2026-05-14, 2026-05-25,
            2026-06-04, 2026-10-03, 2026-12-25, 2026-12-26]
holidays_as = "sun"

[rules]
grace = "10min"

[rounding]
step = "0.05"

[windows.day]
label = "Day"
days = ["weekdays"]
from = "07:00"
to = "19:00"

[windows.night]
label = "Night"
days = ["weekdays"]
from = "19:00"
to = "07:00"

# Weekend and holidays: 24 hours from 07:00, so that every kind of day changes at 07:00
# and a holiday fits between any two days.
[windows.weekend]
label = "Weekend/holiday"
days = ["weekend"]
from = "07:00"
to = "07:00"

[classes.car]
caps.per_calendar_day = "24.00"
caps.per_24h = "30.00"

[classes.car.rates.day]
unit = "30min"
price = "1.50"

[classes.car.rates.night]
unit = "1h"
price = "1.00"
max_per_occurrence = "6.00"

[classes.car.rates.weekend]
unit = "1h"
price = "1.00"
max_per_occurrence = "12.00"
"""


def _entries(count: int) -> list[datetime]:
    """Entry times spread over a year, at odd minutes and seconds."""
    start = datetime(2026, 1, 5, 6, 0, 17, tzinfo=UTC)
    step = timedelta(minutes=(365 * 1440) // max(count, 1) + 7)
    return [start + i * step for i in range(count)]


def _rate(tariff: Tariff, length: timedelta, count: int,
          repeats: int = 5) -> tuple[float, float, float]:
    """(quotes per second, median seconds per quote, least-disturbed seconds per quote)
    for `count` stays of `length`.

    The stays are quoted in `repeats` rounds; the best round gives quotes per second (the
    machine may be shared, and the fastest round is the least disturbed one), the
    median round the typical time per quote. Each round is also timed in chunks of
    stays that take about _CHUNK_SECONDS: the sum over chunks of each chunk's fastest
    round is the time the same stays take with the least disturbance from other
    programs, a figure that holds on a loaded machine where whole rounds do not.
    """
    entries = _entries(count)
    began = time.perf_counter()
    for e in entries:  # fill the per-date memo once, as a running booth has it
        quote(tariff, e, e + length)
    # chunks of about _CHUNK_SECONDS each: short enough to fit between other programs
    size = max(1, int(_CHUNK_SECONDS * count / (time.perf_counter() - began)))
    chunks = [entries[i:i + size] for i in range(0, count, size)]
    least = [float("inf")] * len(chunks)
    rounds = []
    clock = time.perf_counter
    for _ in range(repeats):
        began = clock()
        for c, chunk in enumerate(chunks):
            at = clock()
            for e in chunk:
                quote(tariff, e, e + length)
            took = clock() - at
            if took < least[c]:
                least[c] = took
        rounds.append((clock() - began) / count)
    return 1 / min(rounds), statistics.median(rounds), sum(least) / count


def _naive_rate(tariff: Tariff, length: timedelta, count: int) -> float:
    entries = _entries(count)
    began = time.perf_counter()
    for e in entries:
        naive_total(tariff, e, e + length)
    return count / (time.perf_counter() - began)


def _cold_30_days(tariff: Tariff, runs: int) -> list[float]:
    """Seconds per 30-day quote with an empty per-date memo (first quote of new dates)."""
    times = []
    for e in _entries(runs):
        object.__setattr__(tariff, "schedule", Schedule(tariff.timezone, tariff.windows,
                                                        tariff.holidays, tariff.holidays_as))
        tariff.derived.clear()  # the per-class forms and their per-date kinds too
        began = time.perf_counter()
        quote(tariff, e, e + timedelta(days=30))
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer quotes (a smoke run)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    tariff = parse_tariff(BENCH_TARIFF, "bench")

    # Both implementations agree on the sample stays before anything is timed.
    for e in _entries(30):
        for length in (timedelta(hours=2), timedelta(days=1, hours=3)):
            assert quote(tariff, e, e + length).total.minor == naive_total(tariff, e, e + length)

    rows = [("2 hours", timedelta(hours=2), 20_000 // scale, 400 // scale),
            ("1 day", timedelta(days=1), 5_000 // scale, 40 // scale),
            ("30 days", timedelta(days=30), 500 // scale, 3),
            ("10 years", timedelta(days=3650), 20 // scale or 2, 0)]
    print(f"tariff: day/night windows, weekend calendar, holidays, caps per night, "
          f"per day and per 24 h (python {sys.version.split()[0]})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start "
          "(absolute figures fall with the load; ratios hold better)")
    print(f"{'stay':<9}{'quotes/s':>12}{'median':>12}{'least':>11}{'naive q/s':>12}{'speed-up':>11}")
    medians: dict[str, float] = {}
    leasts: dict[str, float] = {}
    naive_30 = 0.0
    for name, length, count, naive_count in rows:
        qps, median, least = _rate(tariff, length, count, repeats=5 if naive_count else 3)
        medians[name] = median
        leasts[name] = least
        if naive_count:
            nqps = _naive_rate(tariff, length, max(naive_count, 1))
            if name == "30 days":
                naive_30 = nqps
            mark = ""
        else:
            nqps = naive_30 * 30 / length.days
            mark = " est."
        print(f"{name:<9}{qps:>12,.0f}{median * 1e6:>10.1f}us{least * 1e6:>9.1f}us{nqps:>12,.3f}"
              f"{qps / nqps:>10,.0f}x{mark}")
    print(f"30 days / 1 day: {medians['30 days'] / medians['1 day']:.1f}x the time (medians), "
          f"{leasts['30 days'] / leasts['1 day']:.1f}x (least disturbed)")

    cold = _cold_30_days(tariff, 20 // scale or 2)
    print(f"30 days with an empty per-date memo: median {statistics.median(cold) * 1e3:.3f} ms, "
          f"max {max(cold) * 1e3:.3f} ms")
    print("goals (issue 16): >= 50,000 quotes/s for 2-hour stays; a 30-day stay within 3x "
          "of a 1-day stay and under 0.1 ms median")


if __name__ == "__main__":
    main()
