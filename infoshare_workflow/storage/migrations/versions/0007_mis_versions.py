"""pupils and staff remember the MIS time of the event that last set them

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("pupils", "staff"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("mis_updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("staff", "pupils"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("mis_updated_at")
