"""Pure charging rules: prices, time-of-use, rounding, presets, holds, faults, meters."""

from __future__ import annotations

from datetime import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.charging import (
    Basis,
    ChargingError,
    CurrentLimits,
    FaultCode,
    PortWatch,
    Preset,
    PresetKind,
    PricePlan,
    RateWindow,
    Rounding,
    add_line,
    assess_current,
    check_meter,
    check_postpaid,
    check_prepaid,
    cutoff_reason,
    exact_cost,
    prepaid_hold,
    price_interval,
    round_fee,
    session_fee,
)
from console.domain.money import Money

NIGHT = RateWindow(time(22), time(6), rate_minor=20)
ENERGY = PricePlan("e", Basis.ENERGY, "EUR", rate_minor=50, windows=(NIGHT,))


def test_time_of_use_window_wraps_midnight() -> None:
    assert ENERGY.rate_at(time(23, 30)) == 20
    assert ENERGY.rate_at(time(5, 59)) == 20
    assert ENERGY.rate_at(time(6, 0)) == 50


def test_energy_fee_rounds_once_half_up() -> None:
    lines = add_line({}, price_interval(ENERGY, time(12), 60, 1010))  # 1.01 kWh at 0.50 = 50.5
    assert exact_cost(lines) == Fraction(101, 2)
    assert session_fee(ENERGY, lines, 120).minor == 51
    assert session_fee(ENERGY, lines, 60).minor == 0  # one minute or less is free
    assert session_fee(ENERGY, lines, 120, cap_minor=40).minor == 40


def test_time_and_power_band_plans() -> None:
    timed = PricePlan("t", Basis.TIME, "EUR", rate_minor=120)
    lines = add_line({}, price_interval(timed, time(9), 1800, 0))
    assert session_fee(timed, lines, 1800).minor == 60
    band = PricePlan("b", Basis.POWER_BAND, "EUR", band_limits_w=(1000, 3000), band_rates_minor=(30, 60, 120))
    assert price_interval(band, time(9), 3600, 500) == ("t:30", 3600)
    assert price_interval(band, time(9), 3600, 2000) == ("t:60", 3600)
    assert price_interval(band, time(9), 3600, 5000) == ("t:120", 3600)
    with pytest.raises(ChargingError):
        PricePlan("bad", Basis.POWER_BAND, "EUR", band_limits_w=(1000,), band_rates_minor=(1,))


def test_rounding_modes_and_steps() -> None:
    assert round_fee(Fraction(101, 2), Rounding.DOWN, 1) == 50
    assert round_fee(Fraction(101, 2), Rounding.UP, 10) == 60
    assert round_fee(Fraction(45), Rounding.HALF_UP, 10) == 50


@given(st.lists(st.integers(0, 500), min_size=1, max_size=50))
def test_running_figure_equals_the_bill_whatever_the_order(deltas: list[int]) -> None:
    lines: dict[str, int] = {}
    for i, d in enumerate(deltas):
        lines = add_line(lines, price_interval(ENERGY, time((i * 3) % 24), 60, d))
    forward = session_fee(ENERGY, lines, 3600)
    backward: dict[str, int] = {}
    for i, d in reversed(list(enumerate(deltas))):
        backward = add_line(backward, price_interval(ENERGY, time((i * 3) % 24), 60, d))
    assert session_fee(ENERGY, backward, 3600) == forward


def test_prepaid_hold_and_refund_rules() -> None:
    assert prepaid_hold(ENERGY, Preset(PresetKind.ENERGY, 1500)) == Money(75, "EUR")  # highest rate
    assert prepaid_hold(ENERGY, Preset(PresetKind.AMOUNT, 300)) == Money(300, "EUR")
    with pytest.raises(ChargingError):
        prepaid_hold(ENERGY, Preset(PresetKind.TIME, 600))
    with pytest.raises(ChargingError):
        check_prepaid(Money(10, "EUR"), Money(75, "EUR"))
    with pytest.raises(ChargingError):
        check_postpaid(Money(500, "EUR"), Money(500, "EUR"))
    assert check_postpaid(Money(100, "EUR"), Money(500, "EUR")) == Money(400, "EUR")
    with pytest.raises(ChargingError):
        Preset(PresetKind.ENERGY, 0)


def test_cutoff_reasons() -> None:
    zero = Money(0, "EUR")
    assert cutoff_reason(Preset(PresetKind.TIME, 60), 0, 60, zero, None) == "preset time reached"
    assert cutoff_reason(Preset(PresetKind.AMOUNT, 50), 0, 0, Money(50, "EUR"), None) == "preset amount reached"
    assert cutoff_reason(None, 0, 0, Money(50, "EUR"), 50) == "credit limit reached"
    assert cutoff_reason(None, 0, 0, Money(49, "EUR"), 50) is None


def test_current_faults_with_grace_and_hold() -> None:
    limits = CurrentLimits(hold_s=1.0, start_grace_s=3.0)
    w = PortWatch()
    w, code, _ = assess_current(limits, w, True, 0, 0.0)
    assert code is None  # ramping up
    w, code, _ = assess_current(limits, w, True, 25_000, 4.0)
    assert code is None  # outside, but not yet for hold_s
    w, code, detail = assess_current(limits, w, True, 25_000, 5.0)
    assert code is FaultCode.CURRENT_OUT_OF_RANGE and "25.00 A" in detail
    w, code, _ = assess_current(limits, w, True, 25_000, 6.0)
    assert code is None  # raised once while it lasts
    w, code, _ = assess_current(CurrentLimits(), PortWatch(), False, 150, 0.0)
    assert code is FaultCode.CURRENT_WHEN_OFF


def test_meter_checks() -> None:
    assert check_meter(None, 100, 1, 4000).delta_wh == 0
    assert check_meter(100, 101, 1, 4000).delta_wh == 1
    assert "backwards" in check_meter(100, 90, 1, 4000).problem
    assert "jumped" in check_meter(100, 10_000, 1, 4000).problem
