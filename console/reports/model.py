"""What a report says, apart from where it came from and how it is shown.

Reports are immutable dataclasses: `queries.py` builds them from the database, the
screens, the receipt printout and the CSV/PDF/JSON exports only read them. Money is
always `Money` (integer minor units); times are aware UTC datetimes, shown in the site's
time zone (`tz_name`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from console import formats
from console.domain.money import Money
from console.i18n import N_, _

# Labels people read for the codes stored in the database.
METHOD_LABELS: dict[str, str] = {"cash": N_("Cash"), "card": N_("Card"), "mobile": N_("Mobile"), "account": N_("Account")}
MOVEMENT_LABELS: dict[str, str] = {
    "float": N_("Opening float"),
    "paid_out": N_("Paid-outs"),
    "refund": N_("Refunds"),
    "change_left": N_("Change left by drivers"),
    "drop": N_("Drops to the safe"),
    "handover": N_("Handovers"),
}
OVERRIDE_LABELS: dict[str, str] = {
    "fee_change": N_("Fee changed"),
    "waive": N_("Waived"),
    "validation": N_("Validation"),
    "lost_ticket": N_("Lost ticket"),
    "entry_time": N_("Entry time set"),
    "unpaid_exit": N_("Unpaid exit"),
}
RECEIPT_LABELS: dict[str, str] = {"receipt": N_("Receipts"), "reprint": N_("Reprints"), "shift_report": N_("Shift reports")}


def label(table: dict[str, str], code: str) -> str:
    """The readable name of a stored code in the current language; unknown codes are shown
    as they are."""
    known = table.get(code)
    if known is not None:
        return _(known)
    return code.replace("_", " ").capitalize() if code else _("(none)")


class ReportError(ValueError):
    """A report that cannot be built: unknown shift, impossible date range."""


# -- shift (Z / X) report ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MethodTotal:
    """Payments of one method (and currency) in a shift or period."""

    method: str
    count: int
    amount: Money

    @property
    def label(self) -> str:
        return label(METHOD_LABELS, self.method)


@dataclass(frozen=True, slots=True)
class CashLine:
    """Cash movements of one kind; `amount` is the signed effect on the drawer."""

    kind: str
    count: int
    amount: Money

    @property
    def label(self) -> str:
        return label(MOVEMENT_LABELS, self.kind)


@dataclass(frozen=True, slots=True)
class Denomination:
    """One line of the attendant's count: `count` notes or coins of `value`."""

    value: Money
    count: int

    @property
    def subtotal(self) -> Money:
        return self.value.times(self.count)


@dataclass(frozen=True, slots=True)
class CashSummary:
    """The drawer: what should be in it, what was counted, and why they differ.

    expected = opening float + cash payments + every cash movement except the float
    (movements are signed: change left and handovers in are +, refunds, paid-outs and
    drops are -). Cash payments are the fees (`amount_minor`); what drivers handed over
    and the change given back are shown for explanation and net out to the fees.
    """

    opening_float: Money
    cash_payments: Money
    cash_payment_count: int
    tendered: Money
    change_given: Money
    movements: tuple[CashLine, ...]
    expected: Money
    counted: Money | None
    recorded_expected: Money | None = None
    denominations: tuple[Denomination, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def difference(self) -> Money | None:
        """counted - expected: positive is over, negative is short; None before the count."""
        return None if self.counted is None else self.counted - self.expected

    def movement(self, kind: str) -> Money:
        """The total of one kind of movement (zero if there was none)."""
        for line in self.movements:
            if line.kind == kind:
                return line.amount
        return Money.zero(self.expected.currency)

    @property
    def change_left(self) -> Money:
        return self.movement("change_left")

    @property
    def verdict(self) -> str:
        """One sentence for people: balanced, over or short."""
        diff = self.difference
        if diff is None:
            return _("Drawer not counted yet.")
        counted = formats.money(self.counted) if self.counted is not None else ""
        if diff.is_zero:
            return _("Balanced: counted {counted} as expected.").format(counted=counted)
        amount = formats.money(diff if diff.minor > 0 else -diff)
        expected = formats.money(self.expected)
        if diff.minor > 0:
            return _("Over by {amount}: counted {counted}, expected {expected}.").format(amount=amount, counted=counted, expected=expected)
        return _("Short by {amount}: counted {counted}, expected {expected}.").format(amount=amount, counted=counted, expected=expected)


@dataclass(frozen=True, slots=True)
class VisitCounts:
    """Vehicles that came and went in the shift's time window (all lanes of the site)."""

    entries: int
    exits: int
    exits_by_reason: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class OverrideLine:
    """A fee changed by hand, with who, why and who approved."""

    at: datetime
    kind: str
    plate: str
    visit_id: str
    quoted: Money
    new: Money
    reason: str
    actor: str
    approved_by: str | None

    @property
    def label(self) -> str:
        return label(OVERRIDE_LABELS, self.kind)

    @property
    def forgone(self) -> Money:
        """What the override took off the quoted fee (negative if it raised it)."""
        return self.quoted - self.new


@dataclass(frozen=True, slots=True)
class OverrideTotal:
    """Overrides of one kind: how many and how much they changed."""

    kind: str
    count: int
    quoted: Money
    new: Money

    @property
    def label(self) -> str:
        return label(OVERRIDE_LABELS, self.kind)

    @property
    def forgone(self) -> Money:
        return self.quoted - self.new


@dataclass(frozen=True, slots=True)
class GateOpenLine:
    """A barrier opened by hand from the booth (no payment opened it)."""

    at: datetime
    lane: str
    reason: str
    note: str
    plate: str | None
    actor: str


@dataclass(frozen=True, slots=True)
class ReceiptCount:
    """Documents of one kind numbered in the shift."""

    kind: str
    count: int
    printed: int
    first_number: int | None
    last_number: int | None

    @property
    def label(self) -> str:
        return label(RECEIPT_LABELS, self.kind)

    @property
    def not_printed(self) -> int:
        return self.count - self.printed


@dataclass(frozen=True, slots=True)
class DebtLine:
    """A vehicle that left owing money."""

    at: datetime
    plate: str
    visit_id: str
    amount: Money
    reason: str
    actor: str
    settled_at: datetime | None


@dataclass(frozen=True, slots=True)
class AdjustmentLine:
    """An attendant's correction of a zone's vehicle count."""

    at: datetime
    zone: str
    delta: int
    reason: str
    actor: str


@dataclass(frozen=True, slots=True)
class ShiftSummary:
    """One line of a list of shifts, for choosing which report to show."""

    id: str
    booth_id: str
    attendant: str
    state: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ShiftReport:
    """Everything that happened at one booth's drawer in one shift.

    A closed shift gives the Z report; an open one an interim X report up to `window_end`.
    """

    shift_id: str
    booth_id: str
    attendant: str
    state: str
    currency: str
    opened_at: datetime
    closed_at: datetime | None
    window_end: datetime
    closed_by: str | None
    note: str
    tz_name: str
    site_name: str
    generated_at: datetime
    payments: tuple[MethodTotal, ...]
    cash: CashSummary
    visits: VisitCounts
    overrides: tuple[OverrideLine, ...]
    override_totals: tuple[OverrideTotal, ...]
    gate_opens: tuple[GateOpenLine, ...]
    gate_closes: int
    receipts: tuple[ReceiptCount, ...]
    debts: tuple[DebtLine, ...]
    adjustments: tuple[AdjustmentLine, ...]
    audit_actions: tuple[tuple[str, int], ...] = ()
    other_currency_payments: tuple[MethodTotal, ...] = ()
    # The audit chain's head at the close (the shift.close entry): printed, it anchors the
    # chain outside the booth (`booth audit verify --anchor SEQ:DIGEST`).
    audit_head: tuple[int, str] | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def anchor_text(self) -> str:
        """The audit head as printed: "SEQ:first 16 hex digits", or "" for an open shift."""
        return f"{self.audit_head[0]}:{self.audit_head[1][:16]}" if self.audit_head else ""

    @property
    def is_final(self) -> bool:
        """True for a closed shift (a Z report); False for an interim X report."""
        return self.state == "closed"

    @property
    def title(self) -> str:
        return _("Z report") if self.is_final else _("X report (shift still open)")

    def local(self, moment: datetime) -> datetime:
        """A stored UTC time in the site's zone."""
        return moment.astimezone(self.tz)

    @property
    def payments_total(self) -> Money:
        total = Money.zero(self.currency)
        for line in self.payments:
            total = total + line.amount
        return total

    @property
    def payment_count(self) -> int:
        return sum(line.count for line in self.payments)

    def method_total(self, method: str) -> Money:
        """Payments of one method in the shift's currency (zero if none)."""
        for line in self.payments:
            if line.method == method:
                return line.amount
        return Money.zero(self.currency)

    @property
    def waivers(self) -> tuple[OverrideLine, ...]:
        return tuple(o for o in self.overrides if o.kind == "waive")

    @property
    def lost_tickets(self) -> tuple[OverrideLine, ...]:
        return tuple(o for o in self.overrides if o.kind == "lost_ticket")

    @property
    def debts_total(self) -> Money:
        total = Money.zero(self.currency)
        for debt in self.debts:
            if debt.amount.currency == self.currency:
                total = total + debt.amount
        return total

    @property
    def audit_entries(self) -> int:
        return sum(n for _, n in self.audit_actions)

    def receipt_count(self, kind: str) -> ReceiptCount:
        for line in self.receipts:
            if line.kind == kind:
                return line
        return ReceiptCount(kind, 0, 0, None, None)


# -- manager report ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HourRevenue:
    """Revenue in one local hour of the day (0-23), summed over the period."""

    hour: int
    amount: Money
    payments: int


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One local calendar day."""

    day: date
    revenue: Money
    payments: int
    entries: int
    exits: int


@dataclass(frozen=True, slots=True)
class OccupancyPoint:
    """Vehicles inside at one moment (a full local hour)."""

    at: datetime
    vehicles: int


@dataclass(frozen=True, slots=True)
class HourOccupancy:
    """Vehicles inside at HH:00 local time, over the days of the period."""

    hour: int
    average: float
    peak: int
    samples: int


@dataclass(frozen=True, slots=True)
class DwellBin:
    """Visits whose stay fell in [lower, upper)."""

    label: str
    lower: timedelta
    upper: timedelta | None
    count: int


@dataclass(frozen=True, slots=True)
class AttendantOverrides:
    """One attendant's overrides in the period."""

    actor: str
    count: int
    forgone: Money
    by_kind: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class FranchiseCharging:
    """One franchise's charging in the period: closed sessions, energy, fees billed."""

    franchise: str
    sessions: int
    energy_wh: int
    fees: Money


@dataclass(frozen=True, slots=True)
class ChargingRow:
    """Charging of one user (account), pile or region within one franchise."""

    franchise: str
    key: str
    sessions: int
    energy_wh: int
    fees: Money


@dataclass(frozen=True, slots=True)
class UserCurve:
    """One user's charging energy (Wh) by local hour of day, spread as the site total is."""

    account: str
    energy_by_hour: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChargingUsage:
    """The charging piles in the period: closed sessions that started in it. Energy by
    local hour of day is spread over the hours each session ran (so a session started
    late on the last day may add to the early hours)."""

    energy_by_hour: tuple[int, ...] = (0,) * 24
    franchises: tuple[FranchiseCharging, ...] = ()
    by_user: tuple[ChargingRow, ...] = ()
    by_pile: tuple[ChargingRow, ...] = ()
    by_region: tuple[ChargingRow, ...] = ()
    user_curves: tuple[UserCurve, ...] = ()

    @property
    def energy_wh(self) -> int:
        return sum(f.energy_wh for f in self.franchises)

    @property
    def sessions(self) -> int:
        return sum(f.sessions for f in self.franchises)


@dataclass(frozen=True, slots=True)
class ManagerReport:
    """Revenue, occupancy, stays and overrides over local days `start`..`end` (inclusive)."""

    start: date
    end: date
    tz_name: str
    currency: str
    generated_at: datetime
    revenue_by_hour: tuple[HourRevenue, ...]
    days: tuple[DayFigures, ...]
    occupancy: tuple[OccupancyPoint, ...]
    occupancy_by_hour: tuple[HourOccupancy, ...]
    dwell: tuple[DwellBin, ...]
    dwell_average: timedelta | None
    overrides_by_attendant: tuple[AttendantOverrides, ...]
    methods: tuple[MethodTotal, ...] = field(default_factory=tuple)
    charging: ChargingUsage = field(default_factory=ChargingUsage)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def revenue_total(self) -> Money:
        total = Money.zero(self.currency)
        for day in self.days:
            total = total + day.revenue
        return total

    @property
    def payment_count(self) -> int:
        return sum(day.payments for day in self.days)

    @property
    def entries(self) -> int:
        return sum(day.entries for day in self.days)

    @property
    def exits(self) -> int:
        return sum(day.exits for day in self.days)

    @property
    def dwell_count(self) -> int:
        return sum(b.count for b in self.dwell)

    def day(self, which: date) -> DayFigures | None:
        for figures in self.days:
            if figures.day == which:
                return figures
        return None
