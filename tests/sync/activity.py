"""A day of booth activity generated through the real store (entries, exits, payments)."""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from console.domain.clock import FixedClock
from console.domain.money import Money
from console.domain.payments import NewPayment
from console.domain.quote import Quote
from console.store import visits as visit_records
from console.store.database import Store
from console.store.tables import PaymentRow, VisitRow


class HourlyFee:
    """A plain fee for generated traffic (the sync does not care how a fee was priced):
    15 free minutes, then 2.50 per started hour, at most 20.00 per started 24 hours."""

    def quote(self, entry: datetime, exit: datetime) -> Quote:
        minutes = int((exit - entry).total_seconds() // 60)
        if minutes <= 15:
            return Quote(Money(0, "EUR"), "test-hourly/1")
        days, rest = divmod(minutes, 24 * 60)
        total = days * 2000 + min(2000, -(-rest // 60) * 250)
        return Quote(Money(total, "EUR"), "test-hourly/1")


TARIFF = HourlyFee()


@dataclass
class DayResult:
    visits: int = 0
    exits: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


def simulate_day(store: Store, clock: FixedClock, visits: int, seed: int = 1) -> DayResult:
    """`visits` cars arrive over 24 h from the clock's time; each stays 5 min to 10 h
    (some stay past the day and are still inside); exits pay cash or card. The clock
    moves with the events."""
    rng = random.Random(seed)
    start = clock.now()
    queue: list[tuple[datetime, int, str, int]] = []
    for i in range(visits):
        at = start + timedelta(seconds=rng.uniform(0, 24 * 3600))
        heapq.heappush(queue, (at, i, "in", i))
    result = DayResult()
    open_ids: dict[int, str] = {}
    end = start + timedelta(hours=24)
    while queue:
        at, _, kind, car = heapq.heappop(queue)
        if at > end:
            break
        clock.set(at)
        plate = f"T{car:05d}"
        if kind == "in":
            visit = store.apply(visit_records.record_entry, plate=plate, zone="P1", lane="IN1" if car % 2 else "IN2", at=at, currency="EUR")
            open_ids[car] = visit.id
            result.visits += 1
            stay = timedelta(minutes=rng.uniform(5, 600))
            heapq.heappush(queue, (at + stay, car + visits, "out", car))
            continue
        visit = store.query(visit_records.get_visit, open_ids.pop(car))
        assert visit is not None
        quote = TARIFF.quote(visit.entry_at, at)
        payments: list[NewPayment] = []
        if quote.total.minor:
            if rng.random() < 0.55:
                tendered = Money(((quote.total.minor // 500) + 1) * 500, "EUR")
                payments.append(NewPayment("cash", quote.total, tendered, tendered - quote.total))
            else:
                payments.append(NewPayment("card", quote.total, reference=f"card-{car}"))
        store.apply(visit_records.close_visit, 
            visit_id=visit.id,
            exit_lane="OUT1",
            exit_at=at,
            quote=quote,
            payments=payments,
            attendant="ann",
            idempotency_key=f"exit-{car}",
        )
        result.exits += 1
        for pay in payments:
            result.by_method[pay.method] = result.by_method.get(pay.method, 0) + pay.amount.minor
    return result


def booth_revenue_by_method(store: Store) -> dict[str, int]:
    """Revenue by payment method, by SQL over the booth's own payment table."""
    with store.write() as s:
        rows = s.execute(select(PaymentRow.method, func.sum(PaymentRow.amount_minor)).group_by(PaymentRow.method)).all()
    return {method: int(total) for method, total in rows}


def booth_visit_count(store: Store) -> int:
    with store.write() as s:
        return int(s.execute(select(func.count()).select_from(VisitRow)).scalar_one())
