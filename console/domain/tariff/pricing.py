"""Quoting a stay: the whole pipeline from entry and exit to an itemized `Quote`.

Order of application (docs/tariffs.md, "How a fee is computed"):

 1. grace period: a stay no longer than `grace` costs nothing;
 2. time charge: units over windows and ladders, from entry + free minutes, within caps;
 3. member or pass benefit on the time charged in its windows;
 4. minutes-off validations (more free minutes), each shown as the fee it saves;
 5. flat offers: the cheapest applicable offer replaces the result if it is cheaper;
 6. percent-off, then amount-off, then free validations, in the order presented;
 7. lost ticket: the fee is at least the class's lost-ticket fee;
 8. rounding of the total;
 9. deductions: what the driver already paid for this stay (at a pay station, or at
    the earlier exit of a continued visit); the exit grace after a pay-station payment.

Every step that changes the amount adds an item, so the items always add up to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console.domain.money import Money
from console.domain.quote import Quote, QuoteItem
from console.domain.tariff.calendar import Schedule, to_epoch_minute
from console.domain.tariff.errors import QuoteError
from console.domain.tariff.lines import Line, time_lines
from console.domain.tariff.model import (
    MemberPlan,
    Offer,
    Tariff,
    Validation,
    VehicleClass,
)
from console.domain.tariff.parse import duration_text
from console.domain.tariff.rounding import percent_of, round_to_step
from console.domain.tax import TaxRate
from console.i18n import N_, _

_DAY_ABBR = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))

#: Instants a quote accepts: from 1900 up to (not including) 3000. Outside that a time
#: is a typing mistake, and calendar arithmetic near year 1 or 9999 overflows.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
#: The longest stay priced: ten years (3,653 days). Longer is a mistyped year.
MAX_STAY_DAYS = 3653
_EARLIEST_MINUTE = to_epoch_minute(EARLIEST)
_LATEST_MINUTE = to_epoch_minute(LATEST)


@dataclass(frozen=True, slots=True)
class PreviousVisit:
    """The visit a re-entering vehicle may continue: its entry, its exit and what was paid."""

    entry: datetime
    exit: datetime
    paid: Money


def quote(
    tariff: Tariff,
    entry: datetime | None,
    exit: datetime,
    *,
    vehicle_class: str = "car",
    member: str | None = None,
    validations: Sequence[str] = (),
    zone: str | None = None,
    paid_until: datetime | None = None,
    previous_visit: PreviousVisit | None = None,
    lost_ticket: bool = False,
) -> Quote:
    """Price a stay with one tariff version.

    `entry` and `exit` are aware datetimes (seconds are dropped: a stay is priced in
    whole minutes). `entry` may be None only with `lost_ticket=True`.
    `member` is the id of a member plan declared in the tariff ([members.<id>]); the
    site resolves a plate or card to that id. `zone` is the zone of the exit lane (for
    plans limited to zones). `paid_until` is when the driver paid this stay at a pay
    station: leaving within the exit grace after it costs nothing more, later the fee
    for the time since is due. `previous_visit` is the vehicle's last visit: when this
    entry comes within the tariff's re-entry time after its exit, the two are priced as
    one stay from the first entry, less what was paid then.

    Raises QuoteError for naive datetimes, an exit before the entry, unknown class,
    member or validation codes, and a lost ticket on a class with no lost-ticket fee.
    """
    end = _minute(exit, "exit")
    start = 0
    if entry is None:
        if not lost_ticket:
            raise QuoteError(_("entry time is required (it may be unknown only for a lost ticket)"))
    else:
        start = _minute(entry, "entry")
        # Whole minutes first; within one minute compare in UTC (datetimes sharing one
        # tzinfo compare by wall clock in Python, which is wrong across a DST change).
        if end < start or (end == start and exit.astimezone(UTC) < entry.astimezone(UTC)):
            raise QuoteError(_("exit {exit} is before entry {entry}").format(exit=exit.isoformat(), entry=entry.isoformat()))
        days = (end - start) // 1440
        if days > MAX_STAY_DAYS:
            raise QuoteError(_("a stay of {days} days is longer than the ten years ({limit} days) this booth prices; "
                               "check the dates").format(days=days, limit=MAX_STAY_DAYS))
    vc = tariff.classes.get(vehicle_class)
    if vc is None:
        raise QuoteError(_("unknown vehicle class {name!r} in tariff {tariff} (classes: {known})").format(
            name=vehicle_class, tariff=tariff.tariff_id, known=", ".join(tariff.classes)))
    plan: MemberPlan | None = None
    if member is not None:
        plan = tariff.members.get(member)
        if plan is None:
            known = ", ".join(tariff.members) or _("none")
            raise QuoteError(_("unknown member plan {name!r} in tariff {tariff} (plans: {known})").format(
                name=member, tariff=tariff.tariff_id, known=known))
    codes = _validations(tariff, vc, validations) if validations else []
    currency = tariff.currency

    if entry is None:
        if vc.lost_ticket is None:
            raise QuoteError(_("class {name!r} of tariff {tariff} has no lost-ticket fee").format(
                name=vc.name, tariff=tariff.tariff_id))
        lines: list[Line] = [(_("Lost ticket, entry time unknown"), vc.lost_ticket, 1)]
        total = _round(tariff, lines, _tax_on_top(tariff, vc, lines, vc.lost_ticket))
        return _make_quote(tariff, vc, currency, total, lines,
                           [_("Lost ticket: the flat lost-ticket fee applies.")])

    notes: list[str] = []
    paid_before = 0
    prev_exit = 0
    if previous_visit is not None:
        _aware(previous_visit.entry, "previous_visit.entry")
        _aware(previous_visit.exit, "previous_visit.exit")
        if previous_visit.paid.currency != currency:
            raise QuoteError(_("previous_visit.paid is in {paid}, the tariff in {currency}").format(
                paid=previous_visit.paid.currency, currency=currency))
        if previous_visit.paid.minor < 0:
            raise QuoteError(_("previous_visit.paid is negative"))
        prev_entry = to_epoch_minute(previous_visit.entry)
        prev_exit = to_epoch_minute(previous_visit.exit)
        if not prev_entry <= prev_exit <= start:
            raise QuoteError(_("previous_visit must have entered before it left, and left before this entry"))
        gap = start - prev_exit
        if vc.rules.reentry and gap <= vc.rules.reentry:
            start = prev_entry
            paid_before = previous_visit.paid.minor
            notes.append(_("Re-entry {gap} after leaving at {left}: priced as one stay from the first entry at {first}.").format(
                gap=duration_text(gap), left=_hm(tariff.schedule, prev_exit), first=_when(tariff.schedule, prev_entry)))

    lines, total = _price(tariff, vc, start, end, plan, zone, codes, lost_ticket, notes)

    if paid_until is not None:
        _aware(paid_until, "paid_until")
        paid_at = to_epoch_minute(paid_until)
        if paid_at < start:
            raise QuoteError(_("paid_until is before the entry"))
        paid_at = min(paid_at, end)
        # Everything paid for this stay up to paid_at (at the pay station, and at the
        # earlier exit of a continued visit) is the fee of the stay ending then.
        _paid_lines, paid_total = _price(tariff, vc, start, paid_at, plan, zone, codes, lost_ticket, [])
        deduct = min(paid_total, total)
        lines.append((_("Paid at pay station for the stay until {time}").format(time=_hm(tariff.schedule, paid_at)),
                      -deduct, 1))
        total -= deduct
        if total and end <= paid_at + vc.rules.exit_grace:
            lines.append((_("Exit grace: left within {span} of paying").format(span=duration_text(vc.rules.exit_grace)),
                          -total, 1))
            total = 0
    elif paid_before:
        deduct = min(paid_before, total)
        lines.append((_("Paid at the earlier exit ({time})").format(time=_hm(tariff.schedule, prev_exit)), -deduct, 1))
        total -= deduct
    return _make_quote(tariff, vc, currency, total, lines, notes)


def _minute(value: datetime, name: str) -> int:
    """An aware datetime within the years priced, as its epoch minute."""
    if not isinstance(value, datetime):
        raise QuoteError(_("{name} must be a datetime").format(name=name))
    if value.tzinfo is None or value.utcoffset() is None:
        raise QuoteError(_("{name} {value} has no time zone offset").format(name=name, value=value.isoformat()))
    try:
        minute = to_epoch_minute(value)
    except OverflowError:
        minute = _EARLIEST_MINUTE - 1
    if not _EARLIEST_MINUTE <= minute < _LATEST_MINUTE:
        raise QuoteError(_("{name} {value} is outside the years this booth prices ({first} to {last})").format(
            name=name, value=value.isoformat(), first=EARLIEST.year, last=LATEST.year - 1))
    return minute


def _aware(value: datetime, name: str) -> None:
    _minute(value, name)


def _validations(tariff: Tariff, vc: VehicleClass, codes: Sequence[str]) -> list[Validation]:
    if isinstance(codes, str):
        codes = (codes,)
    out: list[Validation] = []
    seen: set[str] = set()
    for code in codes:
        v = tariff.validations.get(code)
        if v is None:
            known = ", ".join(tariff.validations) or _("none")
            raise QuoteError(_("unknown validation code {code!r} in tariff {tariff} (codes: {known})").format(
                code=code, tariff=tariff.tariff_id, known=known))
        if code in seen:
            raise QuoteError(_("validation {code!r} given twice for one stay").format(code=code))
        if v.classes is not None and vc.name not in v.classes:
            raise QuoteError(_("validation {code!r} is not valid for vehicle class {name!r}").format(code=code, name=vc.name))
        seen.add(code)
        out.append(v)
    return out


def _tax_rate(tariff: Tariff, vc: VehicleClass) -> TaxRate | None:
    rule = tariff.tax
    if rule is None:
        return None
    return rule.rates[vc.tax or rule.default]


def _make_quote(tariff: Tariff, vc: VehicleClass, currency: str, total: int,
                lines: list[Line], notes: list[str]) -> Quote:
    # Money and QuoteItem are immutable values; the same lines recur from quote to
    # quote, so they are made once per tariff version (building frozen dataclasses is
    # a large part of a short stay's cost).
    made = tariff.derived.get("values")
    if not isinstance(made, dict):
        made = tariff.derived["values"] = {}
    # Whole quotes recur too (most short stays print the same few lines): an equal
    # quote is the same immutable value, found by its lines.
    whole = ("quote", vc.name, total, tuple(lines), tuple(notes))
    got = made.get(whole)
    if isinstance(got, Quote):
        return got
    items = []
    for line in lines:
        item = made.get(line)
        if not isinstance(item, QuoteItem):
            if len(made) > 50_000:
                made.clear()
            item = QuoteItem(line[0], Money(line[1], currency), line[2])
            made[line] = item
        items.append(item)
    key = ("total", total)
    money = made.get(key)
    if not isinstance(money, Money):
        money = made[key] = Money(total, currency)
    if len(made) > 50_000:
        made.clear()
    got = made[whole] = Quote(money, tariff.tariff_id, tuple(items), tuple(notes), _tax_rate(tariff, vc))
    return got


def _tax_on_top(tariff: Tariff, vc: VehicleClass, lines: list[Line], amount: int) -> int:
    """Where prices exclude tax, add it (net x rate, rounded half up) as a line."""
    rule = tariff.tax
    if rule is None or rule.included or not amount:
        return amount
    rate = rule.rates[vc.tax or rule.default]
    tax = rate.tax_on_net(amount)
    if tax:
        lines.append((_("{label} {percent} on {amount}").format(label=rate.label, percent=rate.percent_text, amount=_money_text(tariff, amount)),
                      tax, 1))
    return amount + tax


def _round(tariff: Tariff, lines: list[Line], amount: int) -> int:
    r = tariff.rounding
    rounded = round_to_step(amount, r.step, r.mode)
    if rounded != amount:
        lines.append((_("Rounding to {step} ({mode})").format(step=_money_text(tariff, r.step), mode=r.mode), rounded - amount, 1))
    return rounded


def _price(tariff: Tariff, vc: VehicleClass, start: int, end: int, plan: MemberPlan | None,
           zone: str | None, codes: list[Validation], lost_ticket: bool,
           notes: list[str]) -> tuple[list[Line], int]:
    """Steps 1-8 for the stay [start, end): the lines and the rounded total."""
    rules = vc.rules
    lines: list[Line] = []
    stay = end - start
    if stay <= rules.grace and rules.grace:
        # A lost ticket's stay is unknown (its entry is recorded at the exit): its minimum
        # charge below is the fee, and a "grace period: stay of 0 min" line would be noise.
        if not lost_ticket:
            lines.append((_("Grace period: stay of {stay} (free up to {grace})").format(
                stay=duration_text(stay), grace=duration_text(rules.grace)), 0, 1))
        total = 0
    else:
        covered = _plan_filter(tariff, vc, plan, zone, notes)
        origin = start + rules.free
        if rules.free and stay > rules.free:
            lines.append((_("First {span} free").format(span=duration_text(rules.free)), 0, 1))
        elif rules.free:
            lines.append((_("Stay of {stay} within the first {span} free").format(
                stay=duration_text(stay), span=duration_text(rules.free)), 0, 1))
        total = time_lines(tariff, vc, start, origin, end, covered, lines)
        extra = 0
        for v in codes:
            if v.kind != "minutes":
                continue
            extra += v.value
            scratch: list[Line] = []
            after = time_lines(tariff, vc, start, origin + extra, end, covered, scratch)
            lines.append((_("{label} ({code}): {span} free").format(label=v.label, code=v.code, span=duration_text(v.value)),
                          after - total, 1))
            total = after
        best: Offer | None = None
        for offer in vc.offers:
            if offer.price < total and (best is None or offer.price < best.price) \
                    and _offer_applies(tariff.schedule, offer, start, end):
                best = offer
        if best is not None:
            lines.append((_("{label}: flat {price} instead").format(label=best.label, price=_money_text(tariff, best.price)),
                          best.price - total, 1))
            total = best.price
        for kind in ("percent", "amount", "free"):
            for v in codes:
                if v.kind != kind or total == 0:
                    continue
                if kind == "percent":
                    cut = percent_of(total, v.value)
                    text = _("{percent} off").format(percent=f"{v.value}%")
                elif kind == "amount":
                    cut = min(v.value, total)
                    text = _("{amount} off").format(amount=_money_text(tariff, v.value))
                else:
                    cut = total
                    text = _("free")
                lines.append((_("{label} ({code}): {cut}").format(label=v.label, code=v.code, cut=text), -cut, 1))
                total -= cut
    if lost_ticket and vc.lost_ticket is not None and total < vc.lost_ticket:
        lines.append((_("Lost ticket: minimum charge {amount}").format(amount=_money_text(tariff, vc.lost_ticket)),
                      vc.lost_ticket - total, 1))
        total = vc.lost_ticket
    elif lost_ticket and vc.lost_ticket is None:
        raise QuoteError(_("class {name!r} of tariff {tariff} has no lost-ticket fee").format(name=vc.name, tariff=tariff.tariff_id))
    total = _tax_on_top(tariff, vc, lines, total)
    total = _round(tariff, lines, total)
    return lines, total


def _plan_filter(tariff: Tariff, vc: VehicleClass, plan: MemberPlan | None, zone: str | None,
                 notes: list[str]) -> MemberPlan | None:
    """The plan if it applies to this class and zone at all, else None (with a note)."""
    if plan is None:
        return None
    if plan.classes is not None and vc.name not in plan.classes:
        notes.append(_("{plan} is not valid for {name}s; no benefit.").format(plan=plan.label, name=vc.label.lower()))
        return None
    if plan.zones is not None and zone not in plan.zones:
        where = _("zone {zone}").format(zone=zone) if zone else _("an unknown zone")
        notes.append(_("{plan} is valid only in zone(s) {zones}, not in {where}; no benefit.").format(
            plan=plan.label, zones=", ".join(sorted(plan.zones)), where=where))
        return None
    return plan


def _offer_applies(sched: Schedule, offer: Offer, start: int, end: int) -> bool:
    local = sched.local(start)
    day = local.date()
    if offer.days is not None and sched.day_type(day) not in offer.days:
        return False
    if offer.enter_from is not None or offer.enter_until is not None:
        tod = local.hour * 60 + local.minute
        lo = offer.enter_from if offer.enter_from is not None else 0
        hi = offer.enter_until if offer.enter_until is not None else 1440
        inside = lo <= tod < hi if lo < hi else (tod >= lo or tod < hi)
        if not inside:
            return False
    stay = end - start
    if offer.max_duration is not None and stay > offer.max_duration:
        return False
    if offer.min_duration is not None and stay < offer.min_duration:
        return False
    if offer.leave_by is not None:
        deadline = sched.wall_to_minute(day, offer.leave_by)
        if deadline <= start:
            deadline = sched.wall_to_minute(day + timedelta(days=1), offer.leave_by)
        if end > deadline:
            return False
    return True


def _money_text(tariff: Tariff, minor: int) -> str:
    return Money(minor, tariff.currency).decimal_text()


def _hm(sched: Schedule, minute: int) -> str:
    return sched.local(minute).strftime("%H:%M")


def _when(sched: Schedule, minute: int) -> str:
    return local_time_text(sched.local(minute))


def local_time_text(local: datetime) -> str:
    """A local time as receipts write it: "Mon 2026-03-02 09:00" / "2026-03-02 周一 09:00"."""
    return _("{weekday} {date}").format(weekday=_(_DAY_ABBR[local.weekday()]), date=local.strftime("%Y-%m-%d %H:%M"))
