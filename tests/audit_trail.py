"""Reading the audit trail back in tests: what was recorded, in the order it was recorded.

One way for every test to ask "what did the trail record?", so a test states the actions and
details it expects rather than how the rows are stored (details are JSON text, `seq` orders them).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from sqlalchemy import select

from infoshare_workflow.storage.models import AuditEvent
from infoshare_workflow.storage.runtime import Runtime


class Recorded(NamedTuple):
    """One audit event of an action: who, which case, and its details (a tuple, so a test may
    compare it with `(actor, case_id, details)`)."""

    actor: str
    case_id: str | None
    details: dict[str, Any]


def audited(runtime: Runtime, action: str) -> list[Recorded]:
    """Every event of `action`, oldest first."""
    with runtime.transaction() as session:
        return [Recorded(e.actor, e.case_id, json.loads(e.details)) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def actions(runtime: Runtime, prefix: str = "") -> list[str]:
    """The actions recorded (those starting with `prefix`, if given), oldest first."""
    query = select(AuditEvent.action).order_by(AuditEvent.seq)
    if prefix:
        query = query.where(AuditEvent.action.startswith(prefix, autoescape=True))
    with runtime.transaction() as session:
        return list(session.scalars(query))
