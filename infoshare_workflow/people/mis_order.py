"""The MIS's own order: of two events about the same pupil or member of staff, the newer wins.

Each record keeps the MIS time (`mis_updated_at`) of the event that last set it, and an
upsert's WHERE lets only an event at least as new change it: a late retry of an older
`staff.upserted` (a DSL, active) can never undo a newer one (inactive), whatever order the
deliveries arrive in (the Accurate principle: information kept up to date).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_


def newer_than_stored(table: Any, stmt: Any) -> Any:
    """The upsert's condition: the incoming event is at least as new as what the row holds."""
    return or_(table.c.mis_updated_at.is_(None), table.c.mis_updated_at <= stmt.excluded.mis_updated_at)
