"""The inbox seen from outside: accepted MIS events still waiting to be applied, and the
parked ones whose applying failed every time, so they are never out of sight.

A parked `concern.raised` is a concern that has reached the school but not its DSL: it is
counted in /metrics, shown by the case API as `received` and `parked`, listed by
`infoshare inbox list`, and re-driven by `infoshare inbox retry` once the cause is fixed
(golden rule 5: nothing about a child's safety may wait unseen). Only the failure's class
is shown, never the payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.cases.intake import ACCEPTED
from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import ReceivedEvent


@dataclass(frozen=True)
class InboxEntry:
    event_id: str
    type: str
    via: str
    case_id: str | None
    concern_id: str | None
    received_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    parked_at: datetime | None
    last_error: str | None

    @property
    def parked(self) -> bool:
        return self.parked_at is not None

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "type": self.type, "via": self.via, "case_id": self.case_id,
                "concern_id": self.concern_id, "received_at": self.received_at, "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at, "parked": self.parked, "parked_at": self.parked_at,
                "error": self.last_error}


class UnknownEvents(LookupError):
    """Some ids name no event waiting in the inbox."""

    def __init__(self, event_ids: Sequence[str]) -> None:
        super().__init__(", ".join(event_ids))
        self.event_ids = list(event_ids)


_COLUMNS = (ReceivedEvent.event_id, ReceivedEvent.type, ReceivedEvent.via, ReceivedEvent.case_id,
            ReceivedEvent.concern_key, ReceivedEvent.received_at, ReceivedEvent.attempts,
            ReceivedEvent.next_attempt_at, ReceivedEvent.parked_at, ReceivedEvent.last_error)


def _unapplied() -> Any:
    return (ReceivedEvent.outcome == ACCEPTED, ReceivedEvent.applied_at.is_(None))


def backlog(session: Session) -> dict[str, Any]:
    """Accepted events not applied yet, how many of them are parked, and when the oldest one
    still waiting (not parked) was accepted: how far behind the workers are (for /metrics)."""
    waiting = case((ReceivedEvent.parked_at.is_(None), ReceivedEvent.received_at))
    row = session.execute(
        select(func.count(), func.count(ReceivedEvent.parked_at), func.min(waiting))
        .select_from(ReceivedEvent).where(*_unapplied())
    ).one()
    return {"unapplied": row[0] or 0, "parked": row[1] or 0, "oldest_waiting_at": row[2]}


def entries(session: Session, *, parked_only: bool = False) -> list[InboxEntry]:
    """Unapplied events, oldest first (parked ones only, on request)."""
    query = select(*_COLUMNS).where(*_unapplied()).order_by(ReceivedEvent.received_at)
    if parked_only:
        query = query.where(ReceivedEvent.parked_at.is_not(None))
    return [InboxEntry(*row) for row in session.execute(query)]


def received_case(session: Session, case_id: str) -> InboxEntry | None:
    """The accepted, not yet applied `concern.raised` that reserved this case reference."""
    row = session.execute(select(*_COLUMNS).where(
        *_unapplied(), ReceivedEvent.case_id == case_id, ReceivedEvent.type == "concern.raised")).first()
    return InboxEntry(*row) if row is not None else None


def received_at(session: Session, case_id: str) -> datetime | None:
    """When the concern that opened this case was accepted from the MIS."""
    return session.scalar(select(ReceivedEvent.received_at).where(
        ReceivedEvent.case_id == case_id, ReceivedEvent.type == "concern.raised", ReceivedEvent.outcome == ACCEPTED))


def retry(session: Session, event_ids: Sequence[str] | None, *, actor: str) -> list[str]:
    """Make unapplied events due again with fresh attempts (all parked ones when `event_ids` is
    None); the next apply pass takes them. Raises UnknownEvents, changing nothing, for an id
    that names no unapplied event."""
    query = select(*_COLUMNS).where(*_unapplied())
    if event_ids is None:
        query = query.where(ReceivedEvent.parked_at.is_not(None))
    else:
        query = query.where(ReceivedEvent.event_id.in_(set(event_ids)))
    found = [InboxEntry(*row) for row in session.execute(query.order_by(ReceivedEvent.received_at))]
    missing = sorted(set(event_ids or ()) - {e.event_id for e in found})
    if missing:
        raise UnknownEvents(missing)
    for entry in found:
        session.execute(update(ReceivedEvent).where(ReceivedEvent.event_id == entry.event_id)
                        .values(attempts=0, next_attempt_at=None, parked_at=None, last_error=None))
        audit.append(session, actor=actor, action="event.retried", case_id=entry.case_id, details={
            "event_id": entry.event_id, "type": entry.type, "attempts": entry.attempts, "error": entry.last_error,
            "was_parked": entry.parked})
    return [e.event_id for e in found]
