"""a visit records when its barrier was seen open, at entry and at exit

Revision ID: 0011_barrier_confirmed
Revises: 0010_audit_seal
Create Date: 2026-12-04

Written by hand; it matches console/store/tables.py (VisitRow.entry_opened_at,
exit_opened_at). Visits recorded before this revision count as confirmed: only a stay
whose barrier was commanded and never seen open may have it opened again.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0011_barrier_confirmed"
down_revision: Union[str, None] = "0010_audit_seal"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("visit") as batch_op:
        batch_op.add_column(sa.Column("entry_opened_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("exit_opened_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE visit SET entry_opened_at = entry_at")
    op.execute("UPDATE visit SET exit_opened_at = exit_at WHERE exit_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("visit") as batch_op:
        batch_op.drop_column("exit_opened_at")
        batch_op.drop_column("entry_opened_at")
