from datetime import timedelta

import pytest

from console.domain.money import Money
from console.domain.occupancy import ZoneOccupancy
from console.domain.payments import PaymentError, settle_cash
from console.domain.visits import format_duration


def test_occupancy_full_and_remaining() -> None:
    assert ZoneOccupancy("P1", "Deck", 200, 199).remaining == 1
    assert not ZoneOccupancy("P1", "Deck", 200, 199).full
    over = ZoneOccupancy("P1", "Deck", 200, 203)
    assert over.full and over.remaining == 0 and over.ratio == 1.0


def test_cash_change_and_refusals() -> None:
    out = settle_cash(Money(750, "EUR"), Money(2000, "EUR"))
    assert out.change == Money(1250, "EUR") and out.amount == Money(750, "EUR")
    with pytest.raises(PaymentError, match="short"):
        settle_cash(Money(750, "EUR"), Money(500, "EUR"))
    with pytest.raises(PaymentError, match="negative"):
        settle_cash(Money(750, "EUR"), Money(-500, "EUR"))


def test_duration_format() -> None:
    assert format_duration(timedelta(minutes=185)) == "3:05"
    assert format_duration(timedelta(days=2, minutes=5)) == "2 d 00:05"
