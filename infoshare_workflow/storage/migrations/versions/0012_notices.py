"""data-subject notices: each notice to one addressee (a contact with parental responsibility,
or the pupil), its language, its email and what it says; emails that failed for good

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

IN_FLIGHT = "kind = 'privacy' AND status = 'queued'"


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pupil_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("addressee", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("addressee_key", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("relationship", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("email_id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("content", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reconsidered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("error", sa.String(64), nullable=True))
        batch_op.create_foreign_key("fk_notices_pupil_id", "pupils", ["pupil_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index("ix_notices_pupil_id", ["pupil_id"])
        batch_op.create_index("ix_notices_email_id", ["email_id"])
        batch_op.create_index("ix_notices_run_id", ["run_id"])
        batch_op.create_index("ix_notices_addressee", ["kind", "addressee_key", "created_at"])
        batch_op.create_index("ix_notices_reconsider", ["kind", "status", "reconsider_on"])
    # One privacy notice on its way to an address at a time, whatever runs overlap.
    op.create_index("uq_notices_privacy_in_flight", "notices", ["addressee_key"], unique=True,
                    postgresql_where=sa.text(IN_FLIGHT), sqlite_where=sa.text(IN_FLIGHT))
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("error", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("emails", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("failed_at")
    op.drop_index("uq_notices_privacy_in_flight", table_name="notices")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        for name in ("ix_notices_reconsider", "ix_notices_addressee", "ix_notices_run_id", "ix_notices_email_id",
                     "ix_notices_pupil_id"):
            batch_op.drop_index(name)
        batch_op.drop_constraint("fk_notices_pupil_id", type_="foreignkey")
        for column in ("error", "failed_at", "reconsidered_at", "content", "run_id", "email_id", "language",
                       "relationship", "addressee_key", "addressee", "pupil_id"):
            batch_op.drop_column(column)
