"""Alembic environment: run by `infoshare db upgrade` (see infoshare_workflow/migrate.py)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.types import TypeDecorator

from infoshare_workflow.storage.models import Base


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our column types as their plain storage type, so revisions never import app code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        return f"sa.{impl!r}" if not isinstance(impl, TypeDecorator) else False
    return False


config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the CLI always passes a connection
    raise RuntimeError("run migrations with `infoshare db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
