"""Taking in one MIS event exactly once: the inbox row and its effects in one transaction.

Both doors (the webhook and the `infoshare.mis.ingest` task) call `ingest`. Duplicates are
stopped by the database, not by a check first: the inbox's primary key stops a repeated
`webhook-id`, the concerns' unique `concern_id` stops a second case for one concern. Every
outcome, rejections included, lands in the audit trail (golden rule 7), without payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from . import audit
from .cases import apply_update, case_for_concern, insert_concern, open_case
from .db import insert
from .models import ReceivedEvent, utcnow
from .people import ensure_reporter, record_closures, upsert_pupil, upsert_staff
from .schemas.mis_events import MisEvent

ACCEPTED, DUPLICATE = "accepted", "duplicate"


@dataclass(frozen=True)
class IngestResult:
    status: str
    event_id: str
    case_id: str | None


def _claim_inbox(session: Session, event_id: str, event: MisEvent, via: str) -> bool:
    stmt = insert(session, ReceivedEvent.__table__).values(
        event_id=event_id, type=event.type, via=via, outcome=ACCEPTED, received_at=utcnow()
    )
    claimed = session.execute(
        stmt.on_conflict_do_nothing(index_elements=["event_id"]).returning(ReceivedEvent.__table__.c.event_id)
    ).scalar_one_or_none()
    return claimed is not None


def _duplicate(session: Session, event_id: str, event: MisEvent, via: str, case_id: str | None,
               reason: str) -> IngestResult:
    audit.append(session, actor="mis", action="event.duplicate", case_id=case_id,
                 details={"event_id": event_id, "type": event.type, "via": via, "reason": reason})
    return IngestResult(DUPLICATE, event_id, case_id)


def ingest(session: Session, event_id: str, event: MisEvent, via: str) -> IngestResult:
    """Apply a validated event inside the caller's transaction.

    Raises cases.UnknownConcern for an update to a concern we do not hold; the caller
    rolls back and records the rejection.
    """
    if not _claim_inbox(session, event_id, event, via):
        earlier = session.get(ReceivedEvent, event_id)
        return _duplicate(session, event_id, event, via, earlier.case_id if earlier else None, "event_id")

    case_id: str | None = None
    data = event.data
    if event.type == "concern.raised":
        savepoint = session.begin_nested()
        ensure_reporter(session, data["reported_by"])
        concern_pk = insert_concern(session, data, upsert_pupil(session, data["pupil"]))
        if concern_pk is None:
            savepoint.rollback()
            existing = case_for_concern(session, data["concern_id"])
            case_id = existing.case_id if existing else None
            _mark(session, event_id, DUPLICATE, case_id)
            return _duplicate(session, event_id, event, via, case_id, "concern_id")
        savepoint.commit()
        case_id = open_case(session, concern_pk, data, event_id).case_id
    elif event.type == "concern.updated":
        case_id = apply_update(session, data, event_id, event.timestamp).case_id
    elif event.type == "pupil.updated":
        upsert_pupil(session, data["pupil"])
    elif event.type == "staff.upserted":
        upsert_staff(session, data)
    elif event.type == "calendar.closures":
        record_closures(session, data["dates"], source="mis")
    if case_id is not None:
        _mark(session, event_id, ACCEPTED, case_id)
    audit.append(session, actor="mis", action="event.accepted", case_id=case_id,
                 details={"event_id": event_id, "type": event.type, "via": via})
    return IngestResult(ACCEPTED, event_id, case_id)


def _mark(session: Session, event_id: str, outcome: str, case_id: str | None) -> None:
    session.execute(
        update(ReceivedEvent).where(ReceivedEvent.event_id == event_id).values(outcome=outcome, case_id=case_id)
    )


def record_rejection(session: Session, *, via: str, reason: str, event_id: str | None,
                     event_type: str | None = None, errors: Any = None) -> None:
    """Audit a rejected event by reason; the payload itself is never stored."""
    details: dict[str, Any] = {"via": via, "reason": reason, "event_id": (event_id or "")[:255] or None}
    if event_type is not None:
        details["type"] = event_type
    if errors is not None:
        details["errors"] = errors
    audit.append(session, actor="mis", action="event.rejected", details=details)
