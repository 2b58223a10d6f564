"""the audit chain is sealed with a site key kept outside the database

Revision ID: 0010_audit_seal
Revises: 0009_outbox_refused
Create Date: 2026-12-03

Written by hand; it matches console/store/tables.py (AuditSealRow).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0010_audit_seal"
down_revision: Union[str, None] = "0009_outbox_refused"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "audit_seal",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("since", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_seal")
