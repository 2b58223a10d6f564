"""events the cloud refused one by one are parked in the outbox for the manager

Revision ID: 0009_outbox_refused
Revises: 0008_pin_lockouts
Create Date: 2026-12-03

Written by hand; it matches console/store/tables.py (OutboxRow.refused_at, refused_reason).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0009_outbox_refused"
down_revision: Union[str, None] = "0008_pin_lockouts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_event") as batch:
        batch.add_column(sa.Column("refused_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("refused_reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_event") as batch:
        batch.drop_column("refused_reason")
        batch.drop_column("refused_at")
