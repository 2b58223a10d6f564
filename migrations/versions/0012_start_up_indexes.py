"""indexes for what a start and every entry read: open visits by zone, receipts not printed

Revision ID: 0012_start_up_indexes
Revises: 0011_barrier_confirmed
Create Date: 2026-12-04

Written by hand; it matches console/store/tables.py. On a year of visits (1,000,000) the
occupancy count walked the whole (zone, state) index and the print queue every receipt:
150 ms and 270 ms, at every start and (the count) at every entry, under the site's lock.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0012_start_up_indexes"
down_revision: Union[str, None] = "0011_barrier_confirmed"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_visit_state_zone", "visit", ["state", "zone"])
    op.create_index("ix_receipt_waiting", "receipt", ["number"], sqlite_where=sa.text("printed_at IS NULL"),
                    postgresql_where=sa.text("printed_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_receipt_waiting", table_name="receipt")
    op.drop_index("ix_visit_state_zone", table_name="visit")
