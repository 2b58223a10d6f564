"""The engine against the naive minute-by-minute reference, on random tariffs and stays."""

from __future__ import annotations

from datetime import datetime

from conftest import load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive_reference import naive_total
from tariff_strategies import stays, tariff_text

from console.domain.tariff import parse_tariff, quote

_SETTINGS = settings(max_examples=80, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_SETTINGS
@given(text=tariff_text(), stay=stays())
def test_engine_matches_naive_reference(text: str, stay: tuple[datetime, datetime]) -> None:
    tariff = parse_tariff(text)
    entry, exit_ = stay
    got = quote(tariff, entry, exit_)
    assert got.total.minor == naive_total(tariff, entry, exit_), text
    assert sum(i.amount.minor for i in got.items) == got.total.minor


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["default", "city_garage", "mall", "residential", "hospital", "airport"]),
       stay=stays(max_minutes=2 * 1440))
def test_shipped_tariffs_match_naive_reference(name: str, stay: tuple[datetime, datetime]) -> None:
    tariff = load(name)
    entry, exit_ = stay
    assert quote(tariff, entry, exit_).total.minor == naive_total(tariff, entry, exit_)
