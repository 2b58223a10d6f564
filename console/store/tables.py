"""SQLModel tables. Only Alembic migrations create or change them.

Table models stay here; the rest of the console works with the domain's dataclasses,
mapped in `mapping.py`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from console.store.types import utc_column


class VisitRow(SQLModel, table=True):
    """One stay of one vehicle: opened at entry, closed at exit."""

    __tablename__ = "visit"
    __table_args__ = (
        # At most one open visit per plate (anti-passback); closed ones are history.
        Index(
            "uq_visit_open_plate",
            "plate",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_visit_zone_state", "zone", "state"),
        # The occupancy count (every entry, every start) reads the open visits only: by
        # state first it is a search of the few open ones, not a walk of every visit.
        Index("ix_visit_state_zone", "state", "zone"),
    )

    id: str = Field(primary_key=True, max_length=36)
    plate: str = Field(index=True, max_length=16)
    zone: str = Field(max_length=32)
    vehicle_class: str = Field(default="car", max_length=16)
    entry_lane: str = Field(max_length=32)
    entry_at: datetime = Field(sa_column=utc_column(index=True))
    exit_lane: str | None = Field(default=None, max_length=32)
    exit_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True, index=True))
    state: str = Field(default="open", max_length=16)
    currency: str = Field(max_length=3)
    fee_minor: int | None = None
    paid_minor: int = 0
    tariff_id: str | None = Field(default=None, max_length=64)
    close_reason: str | None = Field(default=None, max_length=64)
    # When the barrier was seen open for this visit (None: commanded, never confirmed,
    # e.g. the console died in between; such a stay may have its barrier opened again).
    entry_opened_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    exit_opened_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class PaymentRow(SQLModel, table=True):
    """Money taken for a visit. One row per method in a split payment."""

    __tablename__ = "payment"

    id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(foreign_key="visit.id", index=True, max_length=36)
    method: str = Field(max_length=16)
    amount_minor: int
    currency: str = Field(max_length=3)
    tendered_minor: int | None = None
    change_minor: int | None = None
    reference: str | None = Field(default=None, max_length=64)
    attendant: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=utc_column(index=True))
    shift_id: str | None = Field(default=None, max_length=36, index=True)
    # One key per attempt at the exit desk: a second press of the pay key finds it.
    idempotency_key: str = Field(max_length=64, index=True)


class AuditRow(SQLModel, table=True):
    """An append-only, hash-chained record of who did what and why."""

    __tablename__ = "audit_entry"

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=utc_column(index=True))
    actor: str = Field(max_length=64)
    action: str = Field(max_length=48, index=True)
    subject: str = Field(default="", max_length=64)
    detail: str = Field(default="{}")
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditSealRow(SQLModel, table=True):
    """Which key seals the audit chain, and from which entry on (one row per database).

    The key itself is kept outside the database, in the site's secret store."""

    __tablename__ = "audit_seal"

    id: int = Field(default=1, primary_key=True)
    fingerprint: str = Field(max_length=16)
    since: int
    created_at: datetime = Field(sa_column=utc_column())


class OutboxRow(SQLModel, table=True):
    """An event waiting to be sent to the cloud. Its id is the idempotency key."""

    __tablename__ = "outbox_event"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    type: str = Field(max_length=48)
    occurred_at: datetime = Field(sa_column=utc_column())
    payload: str
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    attempts: int = 0
    # Refused by the cloud for itself (its batch went on): parked here for the manager,
    # no longer sent (console.store.outbox.park, `booth cloud refused`).
    refused_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    refused_reason: str | None = Field(default=None, max_length=300)


class OccupancyAdjustmentRow(SQLModel, table=True):
    """An attendant's correction of a zone's count (a car that left while a lane was down)."""

    __tablename__ = "occupancy_adjustment"

    id: str = Field(primary_key=True, max_length=36)
    zone: str = Field(max_length=32, index=True)
    delta: int
    reason: str = Field(max_length=200)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=utc_column(index=True))


class GateActionRow(SQLModel, table=True):
    """A barrier opened or closed by hand from the booth, with the reason given."""

    __tablename__ = "gate_action"

    id: str = Field(primary_key=True, max_length=36)
    lane: str = Field(max_length=32, index=True)
    action: str = Field(max_length=8)  # open / close
    reason: str = Field(max_length=64)
    note: str = Field(default="", max_length=200)
    plate: str | None = Field(default=None, max_length=16)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=utc_column(index=True))
    snapshot: bytes | None = None  # the lane camera's frame (JPEG) when a camera is configured


class UserRow(SQLModel, table=True):
    """An attendant or manager who signs in at the booth with a PIN."""

    __tablename__ = "booth_user"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)  # attendant / manager
    pin_hash: str = Field(max_length=200)  # argon2id
    active: bool = True
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    lockouts: int = 0  # locks in a row: each lasts longer (console.domain.staff.LOCKOUT_STEPS)
    created_at: datetime = Field(sa_column=utc_column())


class ShiftRow(SQLModel, table=True):
    """One attendant's time at one booth's cash drawer, from float to count."""

    __tablename__ = "shift"
    __table_args__ = (
        # One open shift per booth: a drawer has one person responsible for it.
        Index("uq_shift_open_booth", "booth_id", unique=True, sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    id: str = Field(primary_key=True, max_length=36)
    booth_id: str = Field(max_length=32, index=True)
    attendant: str = Field(max_length=64)
    state: str = Field(default="open", max_length=8)
    currency: str = Field(max_length=3)
    opened_at: datetime = Field(sa_column=utc_column(index=True))
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True, index=True))
    opening_float_minor: int = 0
    expected_cash_minor: int | None = None
    counted_cash_minor: int | None = None
    counted_detail: str | None = None  # JSON: denomination (minor units) -> count
    closed_by: str | None = Field(default=None, max_length=64)
    note: str = Field(default="", max_length=500)


class CashMovementRow(SQLModel, table=True):
    """Cash in or out of the drawer that is not a parking fee: float, paid-outs,
    refunds, change the driver left behind, drops to the safe."""

    __tablename__ = "cash_movement"

    id: str = Field(primary_key=True, max_length=36)
    shift_id: str = Field(foreign_key="shift.id", index=True, max_length=36)
    kind: str = Field(max_length=16)  # float / paid_out / refund / change_left / drop / handover
    amount_minor: int  # signed: + into the drawer, - out of it
    currency: str = Field(max_length=3)
    reason: str = Field(default="", max_length=200)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=utc_column(index=True))
    visit_id: str | None = Field(default=None, max_length=36)


class OverrideRow(SQLModel, table=True):
    """A fee the attendant changed by hand, with who, why and who approved."""

    __tablename__ = "fee_override"

    id: str = Field(primary_key=True, max_length=36)
    visit_id: str = Field(foreign_key="visit.id", index=True, max_length=36)
    shift_id: str | None = Field(default=None, index=True, max_length=36)
    kind: str = Field(max_length=16)  # fee_change / waive / validation / lost_ticket / entry_time / unpaid_exit
    quoted_minor: int
    new_minor: int
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=200)
    actor: str = Field(max_length=64)
    approved_by: str | None = Field(default=None, max_length=64)
    at: datetime = Field(sa_column=utc_column(index=True))


class DebtRow(SQLModel, table=True):
    """What a driver still owes after leaving without paying in full."""

    __tablename__ = "debt"

    id: str = Field(primary_key=True, max_length=36)
    plate: str = Field(max_length=16, index=True)
    visit_id: str = Field(foreign_key="visit.id", max_length=36)
    shift_id: str | None = Field(default=None, max_length=36, index=True)
    amount_minor: int
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=200)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=utc_column(index=True))
    settled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    settled_by_visit: str | None = Field(default=None, max_length=36)


class ReceiptRow(SQLModel, table=True):
    """A printed (or waiting to print) document: receipt, reprint, shift report.

    Numbers are gap-free per booth: taken in the same transaction as the payment."""

    __tablename__ = "receipt"
    __table_args__ = (
        Index("uq_receipt_booth_number", "booth_id", "number", unique=True),
        # The print queue looks for what is not printed yet after every payment: a few
        # rows among every receipt ever printed.
        Index("ix_receipt_waiting", "number", sqlite_where=text("printed_at IS NULL"), postgresql_where=text("printed_at IS NULL")),
    )

    id: str = Field(primary_key=True, max_length=36)
    booth_id: str = Field(max_length=32)
    number: int
    kind: str = Field(max_length=16)  # receipt / reprint / shift_report
    visit_id: str | None = Field(default=None, max_length=36, index=True)
    shift_id: str | None = Field(default=None, max_length=36, index=True)
    created_at: datetime = Field(sa_column=utc_column(index=True))
    content: str  # JSON: what to print, so a reprint shows the same facts
    printed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)


class CounterRow(SQLModel, table=True):
    """Gap-free sequences (receipt numbers per booth), advanced inside transactions."""

    __tablename__ = "counter"

    booth_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(primary_key=True, max_length=32)
    value: int = 0
