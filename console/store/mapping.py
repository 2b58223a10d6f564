"""The one place where table rows become domain records."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from console.domain.visits import Visit, VisitState
from console.store.tables import VisitRow


def visit_from_row(row: VisitRow | Row[Any]) -> Visit:
    """A domain `Visit` from its row (an ORM object or a Core row of the visit table)."""
    return Visit(
        id=row.id,
        plate=row.plate,
        zone=row.zone,
        vehicle_class=row.vehicle_class,
        entry_lane=row.entry_lane,
        entry_at=row.entry_at,
        state=VisitState(row.state),
        currency=row.currency,
        exit_lane=row.exit_lane,
        exit_at=row.exit_at,
        fee_minor=row.fee_minor,
        paid_minor=row.paid_minor,
        tariff_id=row.tariff_id,
        close_reason=row.close_reason,
        entry_opened_at=row.entry_opened_at,
        exit_opened_at=row.exit_opened_at,
    )
