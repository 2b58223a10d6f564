"""Tables of the elevator feature: rides (with their small exit snapshot) and the cards
the booth bills rides to. Created only by migration 0005_rides."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from console.store.types import utc_column


class ElevatorRideRow(SQLModel, table=True):
    """One record of the elevator: a ride (billed to the swiped card), an unclaimed stop
    (doors opened at a floor nobody chose) or a swipe that timed out.

    The snapshot is the small JPEG that proves who got out; the daily purge clears it
    after the retention period and stamps `snapshot_purged_at`, the record stays.
    """

    __tablename__ = "elevator_ride"
    __table_args__ = (
        Index("ix_elevator_ride_card_at", "card", "doors_open_at"),
        Index("ix_elevator_ride_floor_at", "floor", "doors_open_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=16)  # ride / unclaimed / timeout
    card: str | None = Field(default=None, max_length=32)
    card_class: str | None = Field(default=None, max_length=32)
    account_id: str | None = Field(default=None, max_length=64, index=True)
    car: int
    from_floor: int | None = None
    floor: int
    swiped_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    arrived_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # When the doors opened (for a timed-out swipe: when it expired).
    doors_open_at: datetime = Field(sa_column=utc_column(index=True))
    fee_minor: int = 0
    currency: str = Field(max_length=3)
    price_rule: str = Field(default="", max_length=64)
    flagged: bool = False
    flag_reason: str | None = Field(default=None, max_length=200)
    snapshot: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    snapshot_bytes: int = 0  # size when stored (kept after the purge, for statistics)
    snapshot_width: int | None = None
    snapshot_height: int | None = None
    snapshot_face: bool = False  # a face portrait (False: a whole frame kept for review)
    snapshot_note: str | None = Field(default=None, max_length=200)
    snapshot_purged_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    recorded_at: datetime = Field(sa_column=utc_column())


class ElevatorCardRow(SQLModel, table=True):
    """A card the booth knows: class (free rides for some) and the account billed."""

    __tablename__ = "elevator_card"

    card_id: str = Field(primary_key=True, max_length=32)
    card_class: str = Field(default="standard", max_length=32)
    account_id: str | None = Field(default=None, max_length=64)
    active: bool = True
    updated_at: datetime = Field(sa_column=utc_column())
