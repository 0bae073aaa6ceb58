"""failed emails by template, indexed: /metrics counts them at every scrape

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FAILED = "status = 'failed'"


def upgrade() -> None:
    op.create_index("ix_emails_failed", "emails", ["template"], postgresql_where=sa.text(FAILED),
                    sqlite_where=sa.text(FAILED))


def downgrade() -> None:
    op.drop_index("ix_emails_failed", table_name="emails")
