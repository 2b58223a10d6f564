"""Long stays through the whole quote: the shortcut the engine takes for them (days taken
from earlier days, repeating weeks multiplied) prints the same fee and the same lines as
walking the stay to its end, and the fee is the minute-by-minute reference's."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from naive_reference import naive_total

from console.domain.tariff import Tariff, parse_tariff, quote
from console.domain.tariff.calendar import to_epoch_minute
from console.domain.tariff.engine import Repeat, charge, compiled

TARIFFS = Path(__file__).resolve().parents[2] / "tariffs"
BENCH = Path(__file__).resolve().parents[1] / "perf" / "bench_tariff.py"

# Entries on ordinary weeks, just before a public holiday and the clock changes of
# spring and autumn, at odd minutes and seconds.
ENTRIES = (datetime(2026, 1, 5, 6, 0, 17, tzinfo=UTC), datetime(2026, 3, 24, 22, 41, tzinfo=UTC),
           datetime(2026, 4, 29, 13, 7, 59, tzinfo=UTC), datetime(2026, 10, 20, 3, 33, tzinfo=UTC))
LENGTHS = (timedelta(days=30), timedelta(days=365, minutes=11))


def _bench_text() -> str:
    spec = importlib.util.spec_from_file_location("bench_tariff", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.BENCH_TARIFF
    return text


def _sources() -> dict[str, str]:
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(TARIFFS.glob("*.toml"))}
    texts["bench"] = _bench_text()
    return texts


SOURCES = _sources()


def _walked(text: str) -> Tariff:
    """The tariff again, with the shortcut for long stays turned off in every class."""
    tariff = parse_tariff(text)
    for vc in tariff.classes.values():
        compiled(tariff, vc).accel = False
    return tariff


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_long_stay_prints_what_walking_it_prints(name: str) -> None:
    fast, slow = parse_tariff(SOURCES[name]), _walked(SOURCES[name])
    shortcuts = 0
    for entry in ENTRIES:
        for length in LENGTHS:
            for klass in fast.classes:
                for member in (None, *fast.members):
                    got = quote(fast, entry, entry + length, vehicle_class=klass, member=member)
                    want = quote(slow, entry, entry + length, vehicle_class=klass, member=member)
                    assert got.to_json() == want.to_json(), (name, entry, length, klass, member)
            vc = fast.classes[next(iter(fast.classes))]
            start = to_epoch_minute(entry)
            out = charge(fast, vc, start, start + vc.rules.free, to_epoch_minute(entry + length))
            shortcuts += any(type(s) is Repeat for s in out)
    # Tariffs whose ladders restart at odd intervals are walked anyway; the others must
    # really have taken the shortcut, or this test would compare a path with itself.
    assert shortcuts or not compiled(fast, fast.classes[next(iter(fast.classes))]).accel


@pytest.mark.parametrize(("entry", "days"), [(ENTRIES[0], 30), (ENTRIES[2], 30), (ENTRIES[1], 365)])
def test_a_long_stay_costs_what_the_minute_by_minute_reference_says(entry: datetime,
                                                                     days: int) -> None:
    tariff = parse_tariff(SOURCES["bench"])
    exit_ = entry + timedelta(days=days, minutes=7)
    assert quote(tariff, entry, exit_).total.minor == naive_total(tariff, entry, exit_)
