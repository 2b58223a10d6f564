"""The `[elevator]` section of the site file: controller and exit camera, the burst,
snapshot retention, the swipe timeout, ride prices and the cards rides are billed to.

Example:

    [elevator]
    url = "/dev/serial/by-id/usb-FTDI_elevator-if00-port0"
    camera_url = "rtsp://cam@10.0.0.31/exit"
    burst_count = 5
    burst_interval_ms = 80
    snapshot_retention_days = 30     # snapshots are deleted after this; the ride stays
    swipe_timeout_s = 180
    free_classes = ["staff"]

    [[elevator.price_rules]]
    name = "night"
    fee = "0.50"
    from = "22:00"
    until = "06:00"

    [[elevator.price_rules]]
    name = "basement"
    fee = "1.00"
    floors = [-3, -1]

    [[elevator.price_rules]]
    name = "flat"
    fee = "0.80"

    [[elevator.cards]]
    id = "04A1B2C3"
    class = "resident"
    account = "FLAT-12A"
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from console.domain.money import Money, MoneyError
from console.domain.rides import (
    WEEKDAYS,
    Card,
    PriceRule,
    RidePricing,
    TimeWindow,
    normalise_card,
)
from console.i18n import _

DEFAULT_RETENTION_DAYS = 30


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _clock_time(value: str) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(_("{value!r} is not a time of day (HH:MM)").format(value=value))
    return time(int(m[1]), int(m[2]))


class RidePriceRuleSection(_Strict):
    """One price rule; the first rule whose conditions all hold sets the fee."""

    name: str = Field(min_length=1, max_length=64)
    fee: str  # a decimal amount in the site's currency, e.g. "0.80"
    floors: tuple[int, int] | None = None  # inclusive band of target floors
    from_: str | None = Field(default=None, alias="from")  # local time of day, HH:MM
    until: str | None = None
    days: list[str] = Field(default_factory=list)  # mon..sun; empty: every day
    classes: list[str] = Field(default_factory=list)  # card classes; empty: all

    @field_validator("fee")
    @classmethod
    def _amount(cls, value: str) -> str:
        try:
            amount = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("{value!r} is not an amount (write it as text, e.g. \"0.80\")").format(value=value)) from None
        if not amount.is_finite() or amount < 0:
            raise ValueError(_("{value!r} is not an amount of zero or more").format(value=value))
        return value

    @field_validator("from_", "until")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None:
            _clock_time(value)
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d.lower() not in WEEKDAYS]
        if bad:
            raise ValueError(_("unknown day(s) {value} (use {value2})").format(value=', '.join(bad), value2=', '.join(WEEKDAYS)))
        return [d.lower() for d in value]

    @model_validator(mode="after")
    def _consistent(self) -> RidePriceRuleSection:
        if (self.from_ is None) != (self.until is None):
            raise ValueError(_("give both `from` and `until`, or neither"))
        if self.days and self.from_ is None:
            raise ValueError(_("`days` needs a `from`/`until` window"))
        if self.floors is not None and self.floors[0] > self.floors[1]:
            raise ValueError(_("floors must be [lowest, highest]"))
        return self

    def to_rule(self, currency: str) -> PriceRule:
        """The domain rule; MoneyError when the fee has too many decimals for `currency`."""
        window = None
        if self.from_ is not None and self.until is not None:
            window = TimeWindow(_clock_time(self.from_), _clock_time(self.until), frozenset(self.days))
        return PriceRule(self.name, Money.parse(self.fee, currency), self.floors, window, frozenset(self.classes))


class ElevatorCardSection(_Strict):
    """A card the booth bills rides to."""

    id: str = Field(min_length=2, max_length=40)
    card_class: str = Field(default="standard", alias="class", min_length=1, max_length=32)
    account: str = Field(default="", max_length=64)  # "": no account (rides are flagged)
    active: bool = True

    @field_validator("id")
    @classmethod
    def _hex(cls, value: str) -> str:
        card = normalise_card(value)
        if not re.fullmatch(r"[0-9A-F]{2,32}", card):
            raise ValueError(_("{value!r} is not a card id (1..16 bytes as hex, e.g. 04A1B2C3)").format(value=value))
        return card

    def to_card(self) -> Card:
        return Card(self.id, self.card_class, self.account or None, self.active)


class ElevatorSection(_Strict):
    """The elevator exit camera and ride billing. `url` "" turns the feature off."""

    url: str = ""  # elevator controller (a serial URL, socket://, or sim://...)
    camera_url: str = ""  # exit camera (usb://0, rtsp://..., file:///..., sim://); "": none
    burst_count: int = Field(default=5, ge=1, le=30)
    burst_interval_ms: int = Field(default=80, ge=0, le=2000)
    snapshot_max_bytes: int = Field(default=20_000, ge=2_000, le=200_000)
    snapshot_retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3650)
    swipe_timeout_s: float = Field(default=180.0, gt=0, le=3600)
    free_classes: list[str] = Field(default_factory=list)
    price_rules: list[RidePriceRuleSection] = Field(default_factory=list)
    cards: list[ElevatorCardSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ElevatorSection:
        ids = [c.id for c in self.cards]
        dups = sorted({i for i in ids if ids.count(i) > 1})
        if dups:
            raise ValueError(_("cards: card id(s) {value} listed twice").format(value=', '.join(dups)))
        names = [r.name for r in self.price_rules]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(_("price_rules: rule name(s) {value} used twice").format(value=', '.join(dups)))
        return self

    @property
    def swipe_timeout(self) -> timedelta:
        return timedelta(seconds=self.swipe_timeout_s)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.snapshot_retention_days)

    def pricing(self, currency: str) -> RidePricing:
        """The price list in the site's currency. Raises ValueError naming the bad rule."""
        rules = []
        for index, rule in enumerate(self.price_rules):
            try:
                rules.append(rule.to_rule(currency))
            except MoneyError as exc:
                raise ValueError(_("elevator.price_rules[{index}].fee: {exc}").format(index=index, exc=exc)) from None
        return RidePricing(currency, tuple(rules), frozenset(self.free_classes))

    def card_list(self) -> list[Card]:
        return [c.to_card() for c in self.cards]
