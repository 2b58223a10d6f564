"""elevator rides with exit snapshots, and the cards they are billed to

Revision ID: 0005_rides
Revises: 0004_sync
Create Date: 2026-11-23

Written by hand; it matches console/store/ride_tables.py exactly.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0005_rides"
down_revision: Union[str, None] = "0004_sync"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "elevator_ride",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("card", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("card_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("car", sa.Integer(), nullable=False),
        sa.Column("from_floor", sa.Integer(), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("swiped_at", sa.DateTime(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=True),
        sa.Column("doors_open_at", sa.DateTime(), nullable=False),
        sa.Column("fee_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("price_rule", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("snapshot", sa.LargeBinary(), nullable=True),
        sa.Column("snapshot_bytes", sa.Integer(), nullable=False),
        sa.Column("snapshot_width", sa.Integer(), nullable=True),
        sa.Column("snapshot_height", sa.Integer(), nullable=True),
        sa.Column("snapshot_face", sa.Boolean(), nullable=False),
        sa.Column("snapshot_note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("snapshot_purged_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("elevator_ride", schema=None) as batch_op:
        batch_op.create_index("ix_elevator_ride_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_elevator_ride_doors_open_at", ["doors_open_at"], unique=False)
        batch_op.create_index("ix_elevator_ride_card_at", ["card", "doors_open_at"], unique=False)
        batch_op.create_index("ix_elevator_ride_floor_at", ["floor", "doors_open_at"], unique=False)

    op.create_table(
        "elevator_card",
        sa.Column("card_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("card_class", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("card_id"),
    )


def downgrade() -> None:
    op.drop_table("elevator_card")
    with op.batch_alter_table("elevator_ride", schema=None) as batch_op:
        batch_op.drop_index("ix_elevator_ride_floor_at")
        batch_op.drop_index("ix_elevator_ride_card_at")
        batch_op.drop_index("ix_elevator_ride_doors_open_at")
        batch_op.drop_index("ix_elevator_ride_account_id")
    op.drop_table("elevator_ride")
