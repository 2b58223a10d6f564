"""The `[charging]` section of the site file (docs/charging.md): the OCPP server, e-bike
piles and their models, EV chargers, price plans, and the accounts and cards to seed.

Amounts and rates are integers in minor units of the site currency.
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from console.domain.charging import (
    Basis,
    ChargingError,
    CurrentLimits,
    PricePlan,
    RateWindow,
    Rounding,
)
from console.i18n import _


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OcppServer(_Strict):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9000, ge=0, le=65535)
    heartbeat_s: int = Field(default=60, ge=5, le=3600)


class PileModel(_Strict):
    """A pile model's electrical limits: current range when powered (A), leakage limit
    when off (A), how long a reading may stay outside before it is a fault."""

    id: str = Field(min_length=1, max_length=64)
    min_a: float = Field(default=16.0, ge=0)
    max_a: float = Field(default=18.0, ge=0)
    leak_a: float = Field(default=0.1, ge=0)
    hold_s: float = Field(default=0.0, ge=0, le=600)
    start_grace_s: float = Field(default=3.0, ge=0, le=600)
    max_power_w: int = Field(default=4500, gt=0)

    @model_validator(mode="after")
    def _range(self) -> PileModel:
        if self.min_a > self.max_a:
            raise ValueError(_("min_a must not exceed max_a"))
        return self

    def limits(self) -> CurrentLimits:
        return CurrentLimits(round(self.min_a * 1000), round(self.max_a * 1000), round(self.leak_a * 1000), self.hold_s, self.start_grace_s)


class EPile(_Strict):
    """An e-bike pile on a serial line / RS-485 bus."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str = Field(min_length=1)
    address: int = Field(default=1, ge=0, le=255)
    ports: int = Field(default=10, ge=1, le=30)
    model: str = "default"
    region: str = "default"
    franchise: str = "default"
    plan: str
    # Half a second keeps a threshold breach under one second from reading to screen.
    poll_s: float = Field(default=0.5, gt=0, le=60)
    modes: tuple[Literal["prepaid", "postpaid"], ...] = Field(default=("prepaid", "postpaid"), min_length=1)  # offered to phones


class OcppCharger(_Strict):
    """An EV charger that connects to the console's OCPP server with this id."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    connectors: int = Field(default=1, ge=1, le=8)
    model: str = "ev"
    region: str = "default"
    franchise: str = "default"
    plan: str
    modes: tuple[Literal["prepaid", "postpaid"], ...] = Field(default=("prepaid", "postpaid"), min_length=1)  # offered to phones


class Window(_Strict):
    start: time
    end: time
    rate: int = Field(default=0, ge=0)
    band_rates: list[int] = Field(default_factory=list)


class Plan(_Strict):
    id: str = Field(min_length=1, max_length=64)
    basis: Basis
    rate: int = Field(default=0, ge=0)
    band_limits_w: list[int] = Field(default_factory=list)
    band_rates: list[int] = Field(default_factory=list)
    windows: list[Window] = Field(default_factory=list)
    free_seconds: int = Field(default=60, ge=0)
    rounding: Rounding = Rounding.HALF_UP
    step: int = Field(default=1, ge=1)

    def build(self, currency: str) -> PricePlan:
        return PricePlan(
            self.id, self.basis, currency, self.rate, tuple(self.band_limits_w), tuple(self.band_rates),
            tuple(RateWindow(w.start, w.end, w.rate, tuple(w.band_rates)) for w in self.windows),
            self.free_seconds, self.rounding, self.step,
        )


class AccountSeed(_Strict):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["tenant", "landlord", "user"] = "tenant"
    balance: int = Field(default=0, ge=0)
    credit_limit: int = Field(default=0, ge=0)


class CardSeed(_Strict):
    card_id: str = Field(min_length=1, max_length=64)
    account: str
    kind: Literal["tenant", "landlord"] = "tenant"
    piles: list[str] = Field(default_factory=list)  # landlord cards: the piles they authorize


class ChargingSection(_Strict):
    ocpp: OcppServer = OcppServer()
    models: list[PileModel] = Field(default_factory=list)
    epiles: list[EPile] = Field(default_factory=list)
    chargers: list[OcppCharger] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)
    accounts: list[AccountSeed] = Field(default_factory=list)
    cards: list[CardSeed] = Field(default_factory=list)
    default_mode: Literal["prepaid", "postpaid"] = "postpaid"
    save_every_s: float = Field(default=10.0, gt=0, le=600)

    @model_validator(mode="after")
    def _references(self) -> ChargingSection:
        plans = {p.id for p in self.plans}
        models = {m.id for m in self.models} | {"default", "ev"}
        ids: set[str] = set()
        piles: list[EPile | OcppCharger] = [*self.epiles, *self.chargers]
        for pile in piles:
            if pile.id in ids:
                raise ValueError(_("pile id {id!r} is used twice").format(id=pile.id))
            ids.add(pile.id)
            if pile.plan not in plans:
                raise ValueError(_("pile {id}: unknown price plan {plan!r}").format(id=pile.id, plan=pile.plan))
            if pile.model not in models:
                raise ValueError(_("pile {id}: unknown model {model!r}").format(id=pile.id, model=pile.model))
        accounts = {a.id for a in self.accounts}
        for card in self.cards:
            if card.account not in accounts:
                raise ValueError(_("card {card_id}: unknown account {account!r}").format(card_id=card.card_id, account=card.account))
        for plan in self.plans:
            try:
                plan.build("EUR")
            except ChargingError as exc:
                raise ValueError(str(exc)) from None
        return self

    def model(self, model_id: str) -> PileModel:
        """The pile model by id; "default" and "ev" fall back to the built-in limits."""
        for m in self.models:
            if m.id == model_id:
                return m
        if model_id == "ev":
            return PileModel(id="ev", min_a=6.0, max_a=32.0, leak_a=0.5, max_power_w=22_000)
        return PileModel(id="default")

    @field_validator("plans")
    @classmethod
    def _unique_plans(cls, plans: list[Plan]) -> list[Plan]:
        if len({p.id for p in plans}) != len(plans):
            raise ValueError(_("price plan ids must be unique"))
        return plans
