"""charging cards get a PIN (argon2id, its own salt) and one-time codes to bind them from the cloud

Revision ID: 0013_charge_card_pin
Revises: 0012_start_up_indexes
Create Date: 2026-12-04

Written by hand; it matches console/store/charging_tables.py (charge_card.pin_hash,
charge_bind_code). Cards bound before this revision have no PIN: a phone can start them
only for their signed-in owner until a PIN is set (`booth charging pin`).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0013_charge_card_pin"
down_revision: Union[str, None] = "0012_start_up_indexes"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("charge_card") as batch_op:
        batch_op.add_column(sa.Column("pin_hash", sa.String(length=200), nullable=True))
    op.create_table(
        "charge_bind_code",
        sa.Column("card_id", sa.String(length=64), primary_key=True),
        sa.Column("account_id", sa.String(length=64), sa.ForeignKey("charge_account.id"), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("charge_bind_code")
    with op.batch_alter_table("charge_card") as batch_op:
        batch_op.drop_column("pin_hash")
