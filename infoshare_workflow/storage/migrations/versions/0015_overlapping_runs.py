"""a scheduled sweep whose turn comes while another run of its job is running is skipped, and
names that run

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedule_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overlapping_run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule_runs", schema=None) as batch_op:
        batch_op.drop_column("overlapping_run_id")
