"""exit desk and shifts: users, shifts, cash movements, overrides, debts, receipts

Revision ID: 0003_desk
Revises: 0002_lanes
Create Date: 2026-11-21 23:56:35.175636
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0003_desk'
down_revision: Union[str, None] = '0002_lanes'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('booth_user',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('pin_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('counter',
    sa.Column('booth_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('booth_id', 'name')
    )
    op.create_table('receipt',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('booth_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('visit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('shift_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('content', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('printed_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index('uq_receipt_booth_number', ['booth_id', 'number'], unique=True)

    op.create_table('shift',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('booth_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('attendant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('opening_float_minor', sa.Integer(), nullable=False),
    sa.Column('expected_cash_minor', sa.Integer(), nullable=True),
    sa.Column('counted_cash_minor', sa.Integer(), nullable=True),
    sa.Column('counted_detail', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_booth_id'), ['booth_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_closed_at'), ['closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index('uq_shift_open_booth', ['booth_id'], unique=True, sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))

    op.create_table('cash_movement',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('shift_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('visit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.ForeignKeyConstraint(['shift_id'], ['shift.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cash_movement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cash_movement_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cash_movement_shift_id'), ['shift_id'], unique=False)

    op.create_table('debt',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('plate', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('visit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('shift_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('settled_at', sa.DateTime(), nullable=True),
    sa.Column('settled_by_visit', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('debt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_debt_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_debt_plate'), ['plate'], unique=False)
        batch_op.create_index(batch_op.f('ix_debt_shift_id'), ['shift_id'], unique=False)

    op.create_table('fee_override',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('visit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('shift_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('quoted_minor', sa.Integer(), nullable=False),
    sa.Column('new_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fee_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fee_override_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_fee_override_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fee_override_visit_id'), ['visit_id'], unique=False)

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shift_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_shift_id'), ['shift_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_shift_id'))
        batch_op.drop_column('shift_id')

    with op.batch_alter_table('fee_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_override_visit_id'))
        batch_op.drop_index(batch_op.f('ix_fee_override_shift_id'))
        batch_op.drop_index(batch_op.f('ix_fee_override_at'))

    op.drop_table('fee_override')
    with op.batch_alter_table('debt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_debt_shift_id'))
        batch_op.drop_index(batch_op.f('ix_debt_plate'))
        batch_op.drop_index(batch_op.f('ix_debt_at'))

    op.drop_table('debt')
    with op.batch_alter_table('cash_movement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cash_movement_shift_id'))
        batch_op.drop_index(batch_op.f('ix_cash_movement_at'))

    op.drop_table('cash_movement')
    with op.batch_alter_table('shift', schema=None) as batch_op:
        batch_op.drop_index('uq_shift_open_booth', sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
        batch_op.drop_index(batch_op.f('ix_shift_opened_at'))
        batch_op.drop_index(batch_op.f('ix_shift_closed_at'))
        batch_op.drop_index(batch_op.f('ix_shift_booth_id'))

    op.drop_table('shift')
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.drop_index('uq_receipt_booth_number')
        batch_op.drop_index(batch_op.f('ix_receipt_visit_id'))
        batch_op.drop_index(batch_op.f('ix_receipt_shift_id'))
        batch_op.drop_index(batch_op.f('ix_receipt_created_at'))

    op.drop_table('receipt')
    op.drop_table('counter')
    op.drop_table('booth_user')
