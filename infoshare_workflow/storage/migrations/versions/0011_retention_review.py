"""retention review: review lists and their items and links, disposals (the tombstones),
a legal hold's reason, and a concern whose pupil is erased

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_lists",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("uq_review_lists_open", "review_lists", ["kind", "assignee"], unique=True,
                    postgresql_where=sa.text("completed_at IS NULL"), sqlite_where=sa.text("completed_at IS NULL"))
    op.create_index("ix_review_lists_run_id", "review_lists", ["run_id"])
    op.create_index("ix_review_lists_remind_at", "review_lists", ["remind_at"])
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("list_id", sa.Integer(), sa.ForeignKey("review_lists.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("list_id", "case_id", name="uq_review_items_list_case"),
    )
    op.create_index("ix_review_items_case_id", "review_items", ["case_id"])
    op.create_table(
        "review_links",
        sa.Column("id", sa.String(43), primary_key=True),
        sa.Column("list_id", sa.Integer(), sa.ForeignKey("review_lists.id"), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_links_list_id", "review_links", ["list_id"])
    op.create_table(
        "disposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposal_reason", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approval_reason", sa.Text(), nullable=True),
        sa.Column("erase_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("disposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_disposals_case_id", "disposals", ["case_id"])
    op.create_index("ix_disposals_erase_at", "disposals", ["erase_at"])
    # The sweep looks for closed cases whose review date has come, in case-id order.
    op.create_index("ix_cases_review_on", "cases", ["status", "review_on"])
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_hold_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("concerns", schema=None) as batch_op:
        batch_op.alter_column("pupil_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("concerns", schema=None) as batch_op:
        batch_op.alter_column("pupil_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("legal_hold_reason")
    op.drop_index("ix_cases_review_on", table_name="cases")
    for table in ("disposals", "review_links", "review_items", "review_lists"):
        op.drop_table(table)
