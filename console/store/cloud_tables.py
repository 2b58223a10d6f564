"""The booth's copies of what the cloud owns, and where each pull left off.

Created only by the Alembic migration `0004_sync`. The cloud owns every row here: the
booth replaces them with the cloud's version and never edits them itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from console.store.types import utc_column


class SyncStateRow(SQLModel, table=True):
    """One pulled document (tariff, members, accounts, remote payments): the cloud's
    ETag or cursor, the version applied, and why the last one was refused."""

    __tablename__ = "sync_state"

    name: str = Field(primary_key=True, max_length=32)
    etag: str | None = Field(default=None, max_length=200)
    cursor: str | None = Field(default=None, max_length=128)
    version: str | None = Field(default=None, max_length=64)
    applied_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    error: str | None = Field(default=None)


class CloudTariffRow(SQLModel, table=True):
    """A tariff document received from the cloud. At most one is `active`."""

    __tablename__ = "cloud_tariff"

    version: str = Field(primary_key=True, max_length=64)
    text: str
    state: str = Field(max_length=16)  # active / superseded / refused
    received_at: datetime = Field(sa_column=utc_column())
    error: str | None = None


class CloudMemberRow(SQLModel, table=True):
    """A plate with a membership, a pass or a whitelist entry."""

    __tablename__ = "cloud_member"
    __table_args__ = (Index("ix_cloud_member_plate", "plate"),)

    id: int | None = Field(default=None, primary_key=True)
    plate: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    name: str = Field(default="", max_length=80)
    account_id: str | None = Field(default=None, max_length=64)
    valid_from: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    valid_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The id of the tariff's [members.<id>] plan the stay is billed by (None: see
    # console/site/pricing.py for how a plan-less entry is priced).
    plan: str | None = Field(default=None, max_length=64)


class CloudAccountRow(SQLModel, table=True):
    """A customer account that visits may be billed to."""

    __tablename__ = "cloud_account"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=80)
    active: bool = True
    credit_limit_minor: int | None = None
    currency: str = Field(max_length=3)


class RemotePaymentRow(SQLModel, table=True):
    """A driver paid on the phone; the exit finds it by plate. It is used once a payment
    row of the booth names it as its `reference`."""

    __tablename__ = "remote_payment"
    __table_args__ = (Index("ix_remote_payment_plate", "plate"),)

    id: str = Field(primary_key=True, max_length=64)
    plate: str = Field(max_length=16)
    amount_minor: int
    currency: str = Field(max_length=3)
    paid_at: datetime = Field(sa_column=utc_column())
    reference: str = Field(default="", max_length=64)
    received_at: datetime = Field(sa_column=utc_column())
