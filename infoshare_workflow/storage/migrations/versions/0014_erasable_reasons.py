"""erasure reaches everything about a pupil: an admin's reason for reassigning a step moves out
of the audit trail into its own encrypted row, and a run's report rows name the pupil they are about (by MIS id)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reassignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_reassignments_case_id_cases")),
        sa.ForeignKeyConstraint(["step_id"], ["steps.id"], name=op.f("fk_reassignments_step_id_steps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reassignments")),
    )
    with op.batch_alter_table("reassignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reassignments_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("run_report_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pupil_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_run_report_items_pupil_key"), ["pupil_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_report_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_report_items_pupil_key"))
        batch_op.drop_column("pupil_key")
    with op.batch_alter_table("reassignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reassignments_case_id"))
    op.drop_table("reassignments")
