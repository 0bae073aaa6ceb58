"""disclosures: one-time codes for each reveal, and revocation

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_nonce", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("code_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("code_tries", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        for column in ("revoked_by", "revoked_at", "code_tries", "code_expires_at", "code_sent_at", "code_nonce"):
            batch_op.drop_column(column)
