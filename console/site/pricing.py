"""How the site prices a stay: the tariff version in force at entry, asked with everything
the fee can depend on, through the same entry point as `booth quote` (TariffBook.quote).

The facts beyond the visit itself (the member plan, the previous visit for re-entry, a
lost ticket) are gathered once when the exit opens and travel with the ticket, so a later
re-quote (a validation at the desk, the exit grace of a phone payment) prices the same
stay the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from console.domain.money import Money
from console.domain.quote import Quote
from console.domain.tariff import Tariff, TariffBook
from console.domain.tariff.pricing import PreviousVisit
from console.domain.visits import Visit

#: Entries of these kinds that name no plan of the tariff leave free (the cloud listed the
#: plate as a pass or whitelist without saying more); a plan-less "member" pays the fee.
FREE_WITHOUT_PLAN = ("pass", "whitelist")


@dataclass(frozen=True, slots=True)
class Membership:
    """A plate's entry in the cloud's member list, as pricing needs it."""

    kind: str  # member / pass / whitelist
    name: str
    plan: str | None = None  # the id of a [members.<id>] plan of the tariff


@dataclass(frozen=True, slots=True)
class StayFacts:
    """What a stay's fee depends on beyond the visit row."""

    plan: str | None = None  # tariff member plan the stay is billed by
    plan_label: str = ""  # the membership, for the log and the receipt
    free_pass: str | None = None  # a plan-less pass or whitelist entry: leaves free
    previous: PreviousVisit | None = None
    lost_ticket: bool = False


def resolve_plan(tariff: Tariff, memberships: Iterable[Membership]) -> tuple[str | None, Membership | None]:
    """The tariff plan the plate is billed by and the membership that gave it.

    A membership names its plan (`plan`, the id of `[members.<id>]`); one that names none
    is billed by the tariff's only plan of its kind when there is exactly one. The first
    membership that resolves wins (the cloud's order). When none resolves, the first pass
    or whitelist entry is returned with no plan (it leaves free), else (None, None).
    """
    fallback: Membership | None = None
    for m in memberships:
        if m.plan is not None and m.plan in tariff.members:
            return m.plan, m
        if m.plan is None:
            same_kind = [pid for pid, plan in tariff.members.items() if plan.kind == m.kind]
            if len(same_kind) == 1:
                return same_kind[0], m
        if fallback is None and m.plan is None and m.kind in FREE_WITHOUT_PLAN:
            fallback = m
    return None, fallback


class TariffPricing:
    """Prices with a `TariffBook`; new versions (from the cloud) are added while running."""

    def __init__(self, book: TariffBook) -> None:
        self.book = book

    @classmethod
    def of(cls, tariff: Tariff) -> TariffPricing:
        return cls(TariffBook([tariff]))

    def facts(
        self, visit: Visit, memberships: Iterable[Membership], previous: Sequence[Visit] = (), *,
        lost_ticket: bool = False,
    ) -> StayFacts:
        """The stay's pricing facts: its plan (in the version in force at entry), the
        earlier visits it continues, and a lost ticket. `previous` are the plate's last
        visits, the latest first. Raises QuoteError (a ValueError) when no tariff version
        covers the entry."""
        plan, membership = resolve_plan(self.book.version_at(visit.entry_at), memberships)
        label = f"{membership.kind} {membership.name}".strip() if membership is not None else ""
        return StayFacts(
            plan=plan, plan_label=label, free_pass=label if plan is None and membership is not None else None,
            previous=self.continued_stay(visit, previous), lost_ticket=lost_ticket,
        )

    def continued_stay(self, visit: Visit, previous: Sequence[Visit]) -> PreviousVisit | None:
        """The earlier visits `visit` continues, as one previous visit: from the first
        entry of the chain to the last exit, with everything paid along it. (Out and back
        twice within the re-entry time is still one stay: its free time counts once.)"""
        chain: PreviousVisit | None = None
        entry = visit.entry_at
        for earlier in previous:
            if earlier.exit_at is None or earlier.exit_at > entry:
                break
            candidate = PreviousVisit(earlier.entry_at, earlier.exit_at, Money(earlier.paid_minor, earlier.currency))
            if not self.book.continues(candidate, entry, visit.vehicle_class):
                break
            chain = candidate if chain is None else PreviousVisit(earlier.entry_at, chain.exit, chain.paid + candidate.paid)
            entry = earlier.entry_at
        return chain

    def quote(
        self, visit: Visit, exit_at: datetime, *, facts: StayFacts = StayFacts(), validations: tuple[str, ...] = (),
        paid_until: datetime | None = None,
    ) -> Quote:
        """The fee for `visit` leaving at `exit_at` (raises QuoteError, a ValueError). With
        `paid_until`, only what is owed beyond a payment made then (nothing within the
        tariff's exit grace)."""
        return self.book.quote(
            visit.entry_at, exit_at, vehicle_class=visit.vehicle_class, zone=visit.zone, member=facts.plan,
            lost_ticket=facts.lost_ticket, validations=validations, paid_until=paid_until,
            previous_visit=facts.previous,
        )
