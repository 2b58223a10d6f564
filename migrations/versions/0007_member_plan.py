"""members name the tariff plan they are billed by

Revision ID: 0007_member_plan
Revises: 0006_charging
Create Date: 2026-12-03

Written by hand; it matches console/store/cloud_tables.py (CloudMemberRow.plan).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0007_member_plan"
down_revision: Union[str, None] = "0006_charging"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("cloud_member") as batch:
        batch.add_column(sa.Column("plan", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cloud_member") as batch:
        batch.drop_column("plan")
