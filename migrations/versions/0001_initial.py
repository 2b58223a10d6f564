"""initial schema: visits, payments, audit, outbox

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 23:36:46.763300
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('hash')
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_at'), ['at'], unique=False)

    op.create_table('outbox_event',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_unsent', ['sent_at', 'id'], unique=False)

    op.create_table('visit',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('plate', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('zone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('vehicle_class', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('entry_lane', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('entry_at', sa.DateTime(), nullable=False),
    sa.Column('exit_lane', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('exit_at', sa.DateTime(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('fee_minor', sa.Integer(), nullable=True),
    sa.Column('paid_minor', sa.Integer(), nullable=False),
    sa.Column('tariff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('close_reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_entry_at'), ['entry_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_exit_at'), ['exit_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_plate'), ['plate'], unique=False)
        batch_op.create_index('ix_visit_zone_state', ['zone', 'state'], unique=False)
        batch_op.create_index('uq_visit_open_plate', ['plate'], unique=True, sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))

    op.create_table('payment',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('visit_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('tendered_minor', sa.Integer(), nullable=True),
    sa.Column('change_minor', sa.Integer(), nullable=True),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('attendant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_idempotency_key'), ['idempotency_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_visit_id'), ['visit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_visit_id'))
        batch_op.drop_index(batch_op.f('ix_payment_idempotency_key'))
        batch_op.drop_index(batch_op.f('ix_payment_created_at'))

    op.drop_table('payment')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('uq_visit_open_plate', sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
        batch_op.drop_index('ix_visit_zone_state')
        batch_op.drop_index(batch_op.f('ix_visit_plate'))
        batch_op.drop_index(batch_op.f('ix_visit_exit_at'))
        batch_op.drop_index(batch_op.f('ix_visit_entry_at'))

    op.drop_table('visit')
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unsent')

    op.drop_table('outbox_event')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))

    op.drop_table('audit_entry')
