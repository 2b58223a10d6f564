"""Report figures straight from the database, as SQL aggregates.

Every total is a GROUP BY in SQL; Python only walks the groups (a handful of methods, a
few hundred time buckets), never the visits or payments themselves, so a report costs the
same whether the shift had ten exits or ten thousand.

Local time. Payments and visits are stored in naive UTC. Grouping "by local hour" in SQL
would need the database to know the site's time zone rules; instead the rows are grouped
by UTC bucket (the stored text cut at the hour, or at the quarter hour for zones such as
Asia/Kolkata whose offset is not a whole number of hours) and each bucket is then placed
in local time in Python with `zoneinfo`. A UTC bucket never straddles two local hours, so
this is exact across DST changes, and it costs O(buckets), not O(rows). A local day is
[local midnight, next local midnight), so a spring-forward day has 23 hours and an
autumn day 25.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, case, cast, func, literal, literal_column, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from console.domain.money import Money, MoneyError, currency_exponent
from console.i18n import _
from console.reports.db import read_connection
from console.reports.model import (
    AdjustmentLine,
    AttendantOverrides,
    CashLine,
    CashSummary,
    ChargingRow,
    ChargingUsage,
    DayFigures,
    DebtLine,
    Denomination,
    DwellBin,
    FranchiseCharging,
    GateOpenLine,
    HourOccupancy,
    HourRevenue,
    ManagerReport,
    MethodTotal,
    OccupancyPoint,
    OverrideLine,
    OverrideTotal,
    ReceiptCount,
    ReportError,
    ShiftReport,
    ShiftSummary,
    UserCurve,
    VisitCounts,
)
from console.store.charging import hourly_energy
from console.store.charging_tables import charge_session as _CHARGE
from console.store.tables import (
    AuditRow,
    CashMovementRow,
    DebtRow,
    GateActionRow,
    OccupancyAdjustmentRow,
    OverrideRow,
    PaymentRow,
    ReceiptRow,
    ShiftRow,
    VisitRow,
)
from console.store.types import table_of

__all__ = [
    "DWELL_BINS",
    "MAX_RANGE_DAYS",
    "build_manager_report",
    "booth_scope",
    "build_shift_report",
    "last_shift_id",
    "local_day_bounds",
    "recent_shifts",
]

_VISIT = table_of(VisitRow)
_PAYMENT = table_of(PaymentRow)
_SHIFT = table_of(ShiftRow)
_MOVEMENT = table_of(CashMovementRow)
_OVERRIDE = table_of(OverrideRow)
_GATE = table_of(GateActionRow)
_RECEIPT = table_of(ReceiptRow)
_DEBT = table_of(DebtRow)
_ADJUST = table_of(OccupancyAdjustmentRow)
_AUDIT = table_of(AuditRow)

#: The longest period a manager report covers (a year, leap years included).
MAX_RANGE_DAYS = 366

_METHOD_ORDER = ("cash", "card", "mobile", "account")
_MOVEMENT_ORDER = ("change_left", "refund", "paid_out", "drop", "handover")

#: Stay lengths the dwell distribution counts, as (label, lower bound in minutes).
DWELL_BINS: tuple[tuple[str, int], ...] = (
    ("< 15 min", 0),
    ("15-30 min", 15),
    ("30-60 min", 30),
    ("1-2 h", 60),
    ("2-4 h", 120),
    ("4-8 h", 240),
    ("8-24 h", 480),
    ("1-3 d", 1440),
    ("> 3 d", 4320),
)


# -- helpers ----------------------------------------------------------------------------


def _zone(tz: tzinfo | str) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    if isinstance(tz, str):
        return ZoneInfo(tz)
    if tz is timezone.utc:
        return ZoneInfo("UTC")
    raise ReportError(_("time zone {tz!r} is not an IANA zone (use e.g. ZoneInfo('Europe/Berlin'))").format(tz=tz))


def _ordered(keys: Iterable[str], preferred: Sequence[str]) -> list[str]:
    keys = list(keys)
    head = [k for k in preferred if k in keys]
    return head + sorted(k for k in keys if k not in preferred)


def local_day_bounds(day: date, tz: tzinfo | str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as aware UTC datetimes (23 or 25 h on DST days)."""
    zone = _zone(tz)
    start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    return start, end


def _bucket_minutes(zone: ZoneInfo, start: datetime, end: datetime) -> int:
    """The UTC bucket size that never straddles two local hours over [start, end)."""
    step = timedelta(hours=1)
    moment = start
    worst = 60
    while moment <= end:
        offset = moment.astimezone(zone).utcoffset() or timedelta(0)
        seconds = int(offset.total_seconds())
        if seconds % 3600:
            worst = 15 if seconds % 900 == 0 else 1
            if worst == 1:
                break
        moment += step
    return worst


def _bucket(column: Any, dialect: str, minutes: int) -> ColumnElement[str]:
    """SQL for the UTC bucket of a stored time, as text ("2026-03-29 01" or "... 01:45")."""
    if dialect == "sqlite":
        # SQLite keeps the naive UTC time as "YYYY-MM-DD HH:MM:SS.ffffff": cutting the text
        # is cheaper than parsing it and works on the index alone.
        if minutes == 60:
            return func.substr(column, 1, 13, type_=String)
        if minutes == 15:
            quarter = cast(func.substr(column, 15, 2, type_=String), Integer) / 15 * 15
            return func.substr(column, 1, 14, type_=String) + func.printf("%02d", quarter, type_=String)
        return func.substr(column, 1, 16, type_=String)
    seconds = minutes * 60
    epoch = func.floor(func.extract("epoch", column) / seconds) * seconds
    return func.to_char(func.timezone("UTC", func.to_timestamp(epoch)), "YYYY-MM-DD HH24:MI", type_=String)


@lru_cache(maxsize=65536)
def _bucket_start(key: str) -> datetime:
    """The UTC start of a bucket from its text key ("YYYY-MM-DD HH" or "YYYY-MM-DD HH:MM").

    Sliced by hand: strptime would cost more than all the other Python work of a report."""
    minute = int(key[14:16]) if len(key) > 13 else 0
    return datetime(int(key[0:4]), int(key[5:7]), int(key[8:10]), int(key[11:13]), minute, tzinfo=timezone.utc)


def _dwell_seconds(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        # julianday is a float of days: 15 minutes comes back as 899.9999...; rounding to
        # whole seconds puts a stay on a bin boundary in the right bin.
        return func.round((func.julianday(_VISIT.c.exit_at) - func.julianday(_VISIT.c.entry_at)) * 86400.0)
    return func.extract("epoch", _VISIT.c.exit_at - _VISIT.c.entry_at)


def _int(value: Any) -> int:
    return int(value or 0)


# -- shift report -----------------------------------------------------------------------


def last_shift_id(engine: Engine, booth_id: str, *, closed_only: bool = True) -> str | None:
    """The booth's most recent shift: the last one closed (default), or the last opened."""
    with read_connection(engine) as conn:
        query = select(_SHIFT.c.id).where(_SHIFT.c.booth_id == booth_id)
        if closed_only:
            query = query.where(_SHIFT.c.state == "closed").order_by(_SHIFT.c.closed_at.desc())
        else:
            query = query.order_by(_SHIFT.c.opened_at.desc())
        row = conn.execute(query.limit(1)).first()
    return row[0] if row else None


def recent_shifts(engine: Engine, booth_id: str | None = None, limit: int = 20) -> list[ShiftSummary]:
    """The newest shifts (of one booth, or all), newest first, for choosing a report."""
    with read_connection(engine) as conn:
        query = select(
            _SHIFT.c.id, _SHIFT.c.booth_id, _SHIFT.c.attendant, _SHIFT.c.state, _SHIFT.c.opened_at, _SHIFT.c.closed_at
        ).order_by(_SHIFT.c.opened_at.desc()).limit(max(1, int(limit)))
        if booth_id is not None:
            query = query.where(_SHIFT.c.booth_id == booth_id)
        return [ShiftSummary(*row) for row in conn.execute(query)]


def _denominations(text: str | None, currency: str, counted: Money | None) -> tuple[tuple[Denomination, ...], list[str]]:
    """The attendant's count by denomination; malformed detail becomes a note, not a crash."""
    if not text:
        return (), []
    notes: list[str] = []
    try:
        data = json.loads(text)
    except ValueError:
        return (), ["The count by denomination is unreadable; only the total is shown."]
    if not isinstance(data, dict):
        return (), ["The count by denomination is unreadable; only the total is shown."]
    lines: list[Denomination] = []
    for key, count in data.items():
        try:
            value = int(str(key))
            if isinstance(count, bool) or not isinstance(count, int) or value <= 0 or count < 0:
                raise ValueError
            lines.append(Denomination(Money(value, currency), count))
        except (ValueError, MoneyError):
            notes.append(f"A count line was skipped: {key!r}: {count!r}.")
    lines.sort(key=lambda d: d.value.minor, reverse=True)
    if counted is not None and lines:
        added = Money(sum(d.subtotal.minor for d in lines), currency)
        if added != counted:
            notes.append(f"The denominations add up to {added}, the counted total is {counted}.")
    return tuple(lines), notes


def _cash_summary(conn: Connection, shift: Any) -> CashSummary:
    currency = shift.currency
    cash = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(_PAYMENT.c.amount_minor), 0),
            func.coalesce(func.sum(func.coalesce(_PAYMENT.c.tendered_minor, _PAYMENT.c.amount_minor)), 0),
        ).where(_PAYMENT.c.shift_id == shift.id, _PAYMENT.c.method == "cash", _PAYMENT.c.currency == currency)
    ).one()
    cash_count, cash_minor, tendered_minor = _int(cash[0]), _int(cash[1]), _int(cash[2])

    moves = conn.execute(
        select(_MOVEMENT.c.kind, func.count(), func.sum(_MOVEMENT.c.amount_minor))
        .where(_MOVEMENT.c.shift_id == shift.id, _MOVEMENT.c.currency == currency)
        .group_by(_MOVEMENT.c.kind)
    ).all()
    by_kind = {kind: (_int(n), _int(total)) for kind, n, total in moves}
    notes: list[str] = []
    float_rows = by_kind.pop("float", None)
    if float_rows is not None and float_rows[1] != shift.opening_float_minor:
        notes.append(
            f"Float movements add up to {Money(float_rows[1], currency)}, the shift opened with "
            f"{Money(shift.opening_float_minor, currency)} (the opening float is used)."
        )
    movements = tuple(
        CashLine(kind, by_kind[kind][0], Money(by_kind[kind][1], currency)) for kind in _ordered(by_kind, _MOVEMENT_ORDER)
    )
    expected_minor = shift.opening_float_minor + cash_minor + sum(total for _, total in by_kind.values())
    expected = Money(expected_minor, currency)
    counted = Money(shift.counted_cash_minor, currency) if shift.counted_cash_minor is not None else None
    recorded = Money(shift.expected_cash_minor, currency) if shift.expected_cash_minor is not None else None
    if recorded is not None and recorded != expected:
        notes.append(
            f"At closing the expected cash was recorded as {recorded}; the records now give {expected} "
            "(something in this shift changed after it closed)."
        )
    denominations, count_notes = _denominations(shift.counted_detail, currency, counted)
    notes.extend(count_notes)
    change_left = by_kind.get("change_left", (0, 0))[1]
    if change_left:
        notes.append(
            f"{Money(change_left, currency)} change left by drivers is in the drawer and in the expected "
            "amount; it is not a difference."
        )
    return CashSummary(
        opening_float=Money(shift.opening_float_minor, currency),
        cash_payments=Money(cash_minor, currency),
        cash_payment_count=cash_count,
        tendered=Money(tendered_minor, currency),
        # Derived rather than summed from change_minor so the explanation always adds up:
        # tendered - change = fees taken in cash.
        change_given=Money(tendered_minor - cash_minor, currency),
        movements=movements,
        expected=expected,
        counted=counted,
        recorded_expected=recorded,
        denominations=denominations,
        notes=tuple(notes),
    )


def _payments(conn: Connection, shift: Any) -> tuple[tuple[MethodTotal, ...], tuple[MethodTotal, ...]]:
    rows = conn.execute(
        select(_PAYMENT.c.method, _PAYMENT.c.currency, func.count(), func.sum(_PAYMENT.c.amount_minor))
        .where(_PAYMENT.c.shift_id == shift.id)
        .group_by(_PAYMENT.c.method, _PAYMENT.c.currency)
    ).all()
    own: dict[str, MethodTotal] = {}
    other: list[MethodTotal] = []
    for method, currency, count, total in rows:
        line = MethodTotal(method, _int(count), Money(_int(total), currency))
        if currency == shift.currency:
            own[method] = line
        else:
            other.append(line)
    ordered = tuple(own[m] for m in _ordered(own, _METHOD_ORDER))
    return ordered, tuple(sorted(other, key=lambda t: (t.amount.currency, t.method)))


def _overrides(conn: Connection, shift_id: str) -> tuple[tuple[OverrideLine, ...], tuple[OverrideTotal, ...]]:
    rows = conn.execute(
        select(
            _OVERRIDE.c.at, _OVERRIDE.c.kind, func.coalesce(_VISIT.c.plate, ""), _OVERRIDE.c.visit_id,
            _OVERRIDE.c.quoted_minor, _OVERRIDE.c.new_minor, _OVERRIDE.c.currency, _OVERRIDE.c.reason,
            _OVERRIDE.c.actor, _OVERRIDE.c.approved_by,
        )
        .select_from(_OVERRIDE.outerjoin(_VISIT, _VISIT.c.id == _OVERRIDE.c.visit_id))
        .where(_OVERRIDE.c.shift_id == shift_id)
        .order_by(_OVERRIDE.c.at, _OVERRIDE.c.id)
    ).all()
    lines = tuple(
        OverrideLine(at, kind, plate, visit_id, Money(quoted, cur), Money(new, cur), reason, actor, approved)
        for at, kind, plate, visit_id, quoted, new, cur, reason, actor, approved in rows
    )
    totals = conn.execute(
        select(_OVERRIDE.c.kind, _OVERRIDE.c.currency, func.count(), func.sum(_OVERRIDE.c.quoted_minor), func.sum(_OVERRIDE.c.new_minor))
        .where(_OVERRIDE.c.shift_id == shift_id)
        .group_by(_OVERRIDE.c.kind, _OVERRIDE.c.currency)
        .order_by(_OVERRIDE.c.kind, _OVERRIDE.c.currency)
    ).all()
    return lines, tuple(
        OverrideTotal(kind, _int(n), Money(_int(q), cur), Money(_int(new), cur)) for kind, cur, n, q, new in totals
    )


def build_shift_report(
    engine: Engine,
    shift_id: str,
    tz: tzinfo | str,
    *,
    site_name: str = "",
    now: datetime | None = None,
    lanes: Iterable[str] | None = None,
) -> ShiftReport:
    """The Z report of a closed shift, or the X report of an open one up to `now`.

    Payments, overrides, debts, receipts and cash movements belong to the shift by their
    shift_id; visits, gate actions, occupancy corrections and audit entries by time,
    [opened_at, closed_at). With `lanes` (the booth's own lanes, on a site where several
    booths share the database) visits, gate actions and audit entries are only those of
    this booth: entered or left by its lanes, or audited with its booth or lane; without,
    they are the whole site's. Raises ReportError if there is no such shift.
    """
    zone = _zone(tz)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    with read_connection(engine) as conn:
        shift = conn.execute(select(_SHIFT).where(_SHIFT.c.id == shift_id)).first()
        if shift is None:
            raise ReportError(_("there is no shift {shift_id!r}").format(shift_id=shift_id))
        start = shift.opened_at
        end = shift.closed_at if shift.closed_at is not None else max(now, start)

        payments, other_payments = _payments(conn, shift)
        cash = _cash_summary(conn, shift)

        booth_lanes = tuple(lanes) if lanes is not None else None
        entry_where = [_VISIT.c.entry_at >= start, _VISIT.c.entry_at < end]
        exit_where = [_VISIT.c.exit_at >= start, _VISIT.c.exit_at < end]
        if booth_lanes is not None:
            entry_where.append(_VISIT.c.entry_lane.in_(booth_lanes))
            exit_where.append(_VISIT.c.exit_lane.in_(booth_lanes))
        entries = conn.execute(select(func.count()).select_from(_VISIT).where(*entry_where)).scalar_one()
        # One labelled expression, grouped and ordered by its name: written out twice, each
        # copy gets its own bound '' and PostgreSQL no longer sees the same expression.
        reason_column = func.coalesce(_VISIT.c.close_reason, literal_column("''")).label("reason")
        exit_rows = conn.execute(
            select(reason_column, func.count())
            .where(*exit_where)
            .group_by(reason_column)
            .order_by(func.count().desc(), reason_column)
        ).all()
        visits = VisitCounts(_int(entries), sum(_int(n) for _, n in exit_rows), tuple((r or "(none)", _int(n)) for r, n in exit_rows))

        overrides, override_totals = _overrides(conn, shift.id)

        in_window = and_(_GATE.c.at >= start, _GATE.c.at < end)
        if booth_lanes is not None:
            in_window = and_(in_window, _GATE.c.lane.in_(booth_lanes))
        gate_opens = tuple(
            GateOpenLine(at, lane, reason, note, plate, actor)
            for at, lane, reason, note, plate, actor in conn.execute(
                select(_GATE.c.at, _GATE.c.lane, _GATE.c.reason, _GATE.c.note, _GATE.c.plate, _GATE.c.actor)
                .where(in_window, _GATE.c.action == "open")
                .order_by(_GATE.c.at, _GATE.c.id)
            )
        )
        gate_closes = conn.execute(
            select(func.count()).select_from(_GATE).where(in_window, _GATE.c.action == "close")
        ).scalar_one()

        receipts = tuple(
            ReceiptCount(kind, _int(n), _int(printed), first, last)
            for kind, n, printed, first, last in conn.execute(
                select(_RECEIPT.c.kind, func.count(), func.count(_RECEIPT.c.printed_at), func.min(_RECEIPT.c.number), func.max(_RECEIPT.c.number))
                .where(_RECEIPT.c.shift_id == shift.id)
                .group_by(_RECEIPT.c.kind)
                .order_by(_RECEIPT.c.kind)
            )
        )

        debts = tuple(
            DebtLine(at, plate, visit_id, Money(amount, cur), reason, actor, settled)
            for at, plate, visit_id, amount, cur, reason, actor, settled in conn.execute(
                select(_DEBT.c.at, _DEBT.c.plate, _DEBT.c.visit_id, _DEBT.c.amount_minor, _DEBT.c.currency, _DEBT.c.reason, _DEBT.c.actor, _DEBT.c.settled_at)
                .where(_DEBT.c.shift_id == shift.id)
                .order_by(_DEBT.c.at, _DEBT.c.id)
            )
        )

        adjustments = tuple(
            AdjustmentLine(at, zone_id, _int(delta), reason, actor)
            for at, zone_id, delta, reason, actor in conn.execute(
                select(_ADJUST.c.at, _ADJUST.c.zone, _ADJUST.c.delta, _ADJUST.c.reason, _ADJUST.c.actor)
                .where(_ADJUST.c.at >= start, _ADJUST.c.at < end)
                .order_by(_ADJUST.c.at, _ADJUST.c.id)
            )
        )

        if booth_lanes is None:
            audit_actions = tuple(
                (action, _int(n))
                for action, n in conn.execute(
                    select(_AUDIT.c.action, func.count())
                    .where(_AUDIT.c.at >= start, _AUDIT.c.at < end)
                    .group_by(_AUDIT.c.action)
                    .order_by(_AUDIT.c.action)
                )
            )
        else:
            audit_actions = _booth_audit_actions(conn, start, end, shift.id, shift.booth_id, booth_lanes)
        close_entry = conn.execute(
            select(_AUDIT.c.seq, _AUDIT.c.hash).where(_AUDIT.c.action == "shift.close", _AUDIT.c.subject == shift.id).limit(1)
        ).first()

    return ShiftReport(
        shift_id=shift.id,
        booth_id=shift.booth_id,
        attendant=shift.attendant,
        state=shift.state,
        currency=shift.currency,
        opened_at=start,
        closed_at=shift.closed_at,
        window_end=end,
        closed_by=shift.closed_by,
        note=shift.note or "",
        tz_name=zone.key,
        site_name=site_name,
        generated_at=now,
        payments=payments,
        cash=cash,
        visits=visits,
        overrides=overrides,
        override_totals=override_totals,
        gate_opens=gate_opens,
        gate_closes=_int(gate_closes),
        receipts=receipts,
        debts=debts,
        adjustments=adjustments,
        audit_actions=audit_actions,
        other_currency_payments=other_payments,
        audit_head=(int(close_entry[0]), str(close_entry[1])) if close_entry else None,
    )


# -- manager report ---------------------------------------------------------------------


def booth_scope(engine: Engine, lanes: Iterable[str]) -> tuple[str, ...] | None:
    """The `lanes` a shift report is limited to: the booth's own on PostgreSQL (a database
    several booths share), none on SQLite (one booth: the whole site is its own)."""
    return tuple(lanes) if engine.dialect.name == "postgresql" else None


def _booth_audit_actions(conn: Connection, start: datetime, end: datetime, shift_id: str, booth_id: str,
                         lanes: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """Audit actions in [start, end) that belong to one booth: about its shift (opening,
    cash movements, closing), about a visit that entered or left by its lanes (overrides,
    debts), or naming the booth or one of its lanes in their detail. (The detail is JSON
    text, read here: SQLite and PostgreSQL spell JSON access differently.)"""
    own_lanes = set(lanes)
    own_subjects = {shift_id}
    own_subjects.update(
        conn.execute(
            select(_VISIT.c.id).where(
                ((_VISIT.c.entry_at >= start) & (_VISIT.c.entry_at < end) & _VISIT.c.entry_lane.in_(own_lanes))
                | ((_VISIT.c.exit_at >= start) & (_VISIT.c.exit_at < end) & _VISIT.c.exit_lane.in_(own_lanes))
            )
        ).scalars()
    )
    counts: dict[str, int] = {}
    rows = conn.execute(select(_AUDIT.c.action, _AUDIT.c.subject, _AUDIT.c.detail).where(_AUDIT.c.at >= start, _AUDIT.c.at < end))
    for action, subject, detail in rows:
        if subject in own_subjects:
            counts[action] = counts.get(action, 0) + 1
            continue
        try:
            data = json.loads(detail or "{}")
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        if data.get("booth") == booth_id or data.get("booth_id") == booth_id or data.get("lane") in own_lanes:
            counts[action] = counts.get(action, 0) + 1
    return tuple(sorted(counts.items()))


def _latest_currency(conn: Connection) -> str | None:
    row = conn.execute(select(_PAYMENT.c.currency).order_by(_PAYMENT.c.created_at.desc()).limit(1)).first()
    if row is None:
        row = conn.execute(select(_SHIFT.c.currency).order_by(_SHIFT.c.opened_at.desc()).limit(1)).first()
    return row[0] if row else None


def _counts_by_bucket(conn: Connection, column: Any, bucket: ColumnElement[str], start: datetime, end: datetime,
                      value: Any = None) -> dict[datetime, int]:
    total = func.count() if value is None else func.sum(value)
    rows = conn.execute(select(bucket, total).where(column >= start, column < end).group_by(bucket)).all()
    return {_bucket_start(key): _int(n) for key, n in rows}


def _inside_at(conn: Connection, moment: datetime) -> int:
    """Visits inside at `moment`: entered before it and not yet left.

    Two exact ways, each counting one index range: entries before minus exits before, or
    visits open now minus entries since plus exits since. The second reads only the rows
    after `moment`, so a report on recent days does not count a year of history; which
    side is shorter is judged from the first and last entry times (two index lookups).
    """
    # Two statements: SQLite answers a lone min() or max() from the index's end, both
    # together by scanning it.
    first = conn.execute(select(func.min(_VISIT.c.entry_at))).scalar_one()
    last = conn.execute(select(func.max(_VISIT.c.entry_at))).scalar_one()
    if first is None or moment <= first:
        return 0
    count = lambda *where: _int(conn.execute(select(func.count()).select_from(_VISIT).where(*where)).scalar_one())  # noqa: E731
    if last is not None and moment - first < last - moment:
        return count(_VISIT.c.entry_at < moment) - count(_VISIT.c.exit_at < moment)
    return count(_VISIT.c.exit_at.is_(None)) - count(_VISIT.c.entry_at >= moment) + count(_VISIT.c.exit_at >= moment)


def _dwell_rows(conn: Connection, dialect: str, start: datetime, end: datetime) -> list[Any]:
    """(bin index, visits, total seconds) of stays that ended in [start, end), stale ones left out."""
    stays = (
        select(_dwell_seconds(dialect).label("seconds"))
        .where(_VISIT.c.exit_at >= start, _VISIT.c.exit_at < end, func.coalesce(_VISIT.c.close_reason, "") != "stale")
        # Computed once per visit: without MATERIALIZED the planner copies the expression
        # into every branch of the CASE below and parses both times up to nine times.
        .cte("stays")
        .prefix_with("MATERIALIZED")
    )
    seconds = stays.c.seconds
    bounds = [lower for _, lower in DWELL_BINS]
    bin_index = case(
        *[(seconds < bounds[i + 1] * 60, literal(i)) for i in range(len(bounds) - 1)],
        else_=literal(len(bounds) - 1),
    )
    return list(conn.execute(select(bin_index, func.count(), func.sum(seconds)).group_by(bin_index)).all())


def _charging_usage(conn: Connection, zone: ZoneInfo, start_utc: datetime, end_utc: datetime, currency: str) -> ChargingUsage:
    """Closed charging sessions started in the period (in the report's currency): energy by
    local hour, sessions, energy and fees per franchise and, within each franchise, per
    user (account), pile and region; and each user's own hourly curve. The same figures
    the F12 screen's usage reads (`console.store.charging.usage`), over the report's days."""
    in_period = (_CHARGE.c.started_at >= start_utc, _CHARGE.c.started_at < end_utc, _CHARGE.c.currency == currency)
    rows = conn.execute(
        select(_CHARGE.c.franchise, func.count(), func.sum(_CHARGE.c.energy_wh), func.sum(_CHARGE.c.bill_minor))
        .where(_CHARGE.c.state == "closed", *in_period)
        .group_by(_CHARGE.c.franchise)
        .order_by(_CHARGE.c.franchise)
    ).all()

    def grouped(key: Any) -> tuple[ChargingRow, ...]:
        found = conn.execute(
            select(_CHARGE.c.franchise, key, func.count(), func.sum(_CHARGE.c.energy_wh), func.sum(_CHARGE.c.bill_minor))
            .where(_CHARGE.c.state == "closed", *in_period)
            .group_by(_CHARGE.c.franchise, key)
            .order_by(_CHARGE.c.franchise, key)
        ).all()
        return tuple(ChargingRow(f, str(k), _int(n), _int(e), Money(_int(b), currency)) for f, k, n, e, b in found)

    by_user = grouped(_CHARGE.c.account_id)
    users = sorted({r.key for r in by_user})
    curves = tuple(UserCurve(u, tuple(hourly_energy(conn, zone, *in_period, _CHARGE.c.account_id == u))) for u in users)
    return ChargingUsage(
        tuple(hourly_energy(conn, zone, *in_period)),
        tuple(FranchiseCharging(f, _int(n), _int(e), Money(_int(b), currency)) for f, n, e, b in rows),
        by_user, grouped(_CHARGE.c.pile_id), grouped(_CHARGE.c.region), curves,
    )


def build_manager_report(
    engine: Engine,
    start: date,
    end: date,
    tz: tzinfo | str,
    *,
    currency: str | None = None,
    now: datetime | None = None,
) -> ManagerReport:
    """Figures for the local days `start` to `end` (both included) of the whole site.

    Revenue is the payments taken (in `currency`; by default the currency of the newest
    payment) by local hour of day and by local day; occupancy is the vehicles inside at
    every full local hour (open visits plus the attendants' corrections, as the live
    count); the dwell distribution covers visits that left in the period (stale visits
    closed by hand are left out: their stay is not known); overrides are grouped by the
    attendant who made them. Raises ReportError for an empty or too long range.
    """
    if end < start:
        raise ReportError(_("the period ends ({end}) before it starts ({start})").format(end=end, start=start))
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ReportError(_("a report covers at most {days} days").format(days=MAX_RANGE_DAYS))
    zone = _zone(tz)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    start_utc, _start_end = local_day_bounds(start, zone)
    _end_start, end_utc = local_day_bounds(end, zone)
    minutes = _bucket_minutes(zone, start_utc, end_utc)

    with read_connection(engine) as conn:
        dialect = conn.dialect.name
        currency = currency or _latest_currency(conn) or "EUR"
        currency_exponent(currency)  # refuse an unknown code before any figure is built

        # One pass over the period's payments gives both the time buckets and the methods.
        pay_bucket = _bucket(_PAYMENT.c.created_at, dialect, minutes)
        pay_rows = conn.execute(
            select(pay_bucket, _PAYMENT.c.method, func.count(), func.sum(_PAYMENT.c.amount_minor))
            .where(_PAYMENT.c.created_at >= start_utc, _PAYMENT.c.created_at < end_utc, _PAYMENT.c.currency == currency)
            .group_by(pay_bucket, _PAYMENT.c.method)
        ).all()

        entries = _counts_by_bucket(conn, _VISIT.c.entry_at, _bucket(_VISIT.c.entry_at, dialect, minutes), start_utc, end_utc)
        exits = _counts_by_bucket(conn, _VISIT.c.exit_at, _bucket(_VISIT.c.exit_at, dialect, minutes), start_utc, end_utc)
        adjusted = _counts_by_bucket(
            conn, _ADJUST.c.at, _bucket(_ADJUST.c.at, dialect, minutes), start_utc, end_utc, value=_ADJUST.c.delta
        )
        adjusted_before = conn.execute(
            select(func.coalesce(func.sum(_ADJUST.c.delta), 0)).where(_ADJUST.c.at < start_utc)
        ).scalar_one()
        inside_at_start = _inside_at(conn, start_utc) + _int(adjusted_before)
        dwell_rows = _dwell_rows(conn, dialect, start_utc, end_utc)

        charging = _charging_usage(conn, zone, start_utc, end_utc, currency)

        override_rows = conn.execute(
            select(_OVERRIDE.c.actor, _OVERRIDE.c.kind, func.count(), func.sum(_OVERRIDE.c.quoted_minor - _OVERRIDE.c.new_minor))
            .where(_OVERRIDE.c.at >= start_utc, _OVERRIDE.c.at < end_utc, _OVERRIDE.c.currency == currency)
            .group_by(_OVERRIDE.c.actor, _OVERRIDE.c.kind)
        ).all()

    # Place the UTC buckets in local time: O(buckets).
    hour_minor = [0] * 24
    hour_count = [0] * 24
    day_minor: dict[date, int] = defaultdict(int)
    day_count: dict[date, int] = defaultdict(int)
    per_method: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, method, count, total in pay_rows:
        local = _bucket_start(key).astimezone(zone)
        hour_minor[local.hour] += _int(total)
        hour_count[local.hour] += _int(count)
        day_minor[local.date()] += _int(total)
        day_count[local.date()] += _int(count)
        per_method[method][0] += _int(count)
        per_method[method][1] += _int(total)
    day_entries: dict[date, int] = defaultdict(int)
    day_exits: dict[date, int] = defaultdict(int)
    for moment, n in entries.items():
        day_entries[moment.astimezone(zone).date()] += n
    for moment, n in exits.items():
        day_exits[moment.astimezone(zone).date()] += n

    days: list[DayFigures] = []
    day = start
    while day <= end:
        days.append(DayFigures(day, Money(day_minor[day], currency), day_count[day], day_entries[day], day_exits[day]))
        day += timedelta(days=1)

    occupancy = _occupancy_series(
        start_utc, end_utc, zone,
        inside_at_start,
        entries, exits, adjusted,
    )
    by_hour: dict[int, list[int]] = defaultdict(list)
    for point in occupancy:
        by_hour[point.at.hour].append(point.vehicles)
    occupancy_by_hour = tuple(
        HourOccupancy(h, round(sum(v) / len(v), 1) if v else 0.0, max(v) if v else 0, len(v))
        for h in range(24)
        for v in [by_hour.get(h, [])]
    )

    bins_found = {int(index): (_int(n), float(total or 0.0)) for index, n, total in dwell_rows}
    dwell_bins = tuple(
        DwellBin(
            label,
            timedelta(minutes=lower),
            timedelta(minutes=DWELL_BINS[i + 1][1]) if i + 1 < len(DWELL_BINS) else None,
            bins_found.get(i, (0, 0.0))[0],
        )
        for i, (label, lower) in enumerate(DWELL_BINS)
    )
    dwell_count = sum(n for n, _ in bins_found.values())
    dwell_seconds = sum(total for _, total in bins_found.values())
    dwell_average = timedelta(seconds=round(dwell_seconds / dwell_count)) if dwell_count else None

    per_actor: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for actor, kind, n, forgone in override_rows:
        per_actor[actor][kind] = (_int(n), _int(forgone))
    attendants = sorted(
        (
            AttendantOverrides(
                actor,
                sum(n for n, _ in kinds.values()),
                Money(sum(f for _, f in kinds.values()), currency),
                tuple(sorted((kind, n) for kind, (n, _) in kinds.items())),
            )
            for actor, kinds in per_actor.items()
        ),
        key=lambda a: (-a.count, a.actor),
    )
    methods = tuple(
        MethodTotal(m, per_method[m][0], Money(per_method[m][1], currency)) for m in _ordered(per_method, _METHOD_ORDER)
    )

    return ManagerReport(
        start=start,
        end=end,
        tz_name=zone.key,
        currency=currency,
        generated_at=now,
        revenue_by_hour=tuple(HourRevenue(h, Money(hour_minor[h], currency), hour_count[h]) for h in range(24)),
        days=tuple(days),
        occupancy=occupancy,
        occupancy_by_hour=occupancy_by_hour,
        dwell=dwell_bins,
        dwell_average=dwell_average,
        overrides_by_attendant=tuple(attendants),
        methods=methods,
        charging=charging,
    )


def _occupancy_series(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    baseline: int,
    entries: dict[datetime, int],
    exits: dict[datetime, int],
    adjusted: dict[datetime, int],
) -> tuple[OccupancyPoint, ...]:
    """Vehicles inside at every full hour from `start` (local midnight) up to `end`."""
    deltas: dict[datetime, int] = defaultdict(int)
    for source, sign in ((entries, 1), (exits, -1), (adjusted, 1)):
        for moment, n in source.items():
            deltas[moment] += sign * n
    ordered = sorted(deltas.items())
    points: list[OccupancyPoint] = []
    level = baseline
    index = 0
    moment = start
    while moment < end:
        # Everything in buckets that started before this moment has happened by now.
        while index < len(ordered) and ordered[index][0] < moment:
            level += ordered[index][1]
            index += 1
        points.append(OccupancyPoint(moment.astimezone(zone), level))
        moment += timedelta(hours=1)
    return tuple(points)
