"""users count their sign-in locks in a row (each lock lasts longer)

Revision ID: 0008_pin_lockouts
Revises: 0007_member_plan
Create Date: 2026-12-03

Written by hand; it matches console/store/tables.py (UserRow.lockouts).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0008_pin_lockouts"
down_revision: Union[str, None] = "0007_member_plan"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("booth_user") as batch:
        batch.add_column(sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("booth_user") as batch:
        batch.drop_column("lockouts")
