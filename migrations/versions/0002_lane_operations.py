"""lane operations: occupancy adjustments and manual gate actions

Revision ID: 0002_lanes
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_lanes"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "occupancy_adjustment",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("zone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("occupancy_adjustment") as batch_op:
        batch_op.create_index(batch_op.f("ix_occupancy_adjustment_zone"), ["zone"], unique=False)
        batch_op.create_index(batch_op.f("ix_occupancy_adjustment_at"), ["at"], unique=False)
    op.create_table(
        "gate_action",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("lane", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("plate", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gate_action") as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_action_lane"), ["lane"], unique=False)
        batch_op.create_index(batch_op.f("ix_gate_action_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("gate_action")
    op.drop_table("occupancy_adjustment")
