"""Taking in MIS events exactly once: accept durably in the request, apply in a worker.

`take_in` is all the webhook (and the `infoshare.mis.ingest` task) does before answering:
`accept`'s one INSERT of the validated event into the inbox, whose primary key (`webhook-id`) and
unique `concern_key` (a `concern.raised`'s `concern_id`) stop every duplicate in the
database, not by a check first, and which reserves the case reference. The event is durable
before the 2xx (INTERFACES.md §1: "processing after that is asynchronous"). `apply` then
opens the case or updates the records, once: it is idempotent by the inbox row's
`applied_at`. Workers take accepted events from the inbox themselves (`apply_pending`, run
by beat every second, FOR UPDATE SKIP LOCKED), so the request publishes nothing and no
event waits on a lost broker message. Every
outcome, rejections included, lands in the audit trail (golden rule 7), without payloads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import audit
from .cases import apply_update, case_for_concern, insert_concern, new_case_id, open_case
from .db import insert
from .models import ReceivedEvent, utcnow
from .people import ensure_reporter, record_closures, upsert_pupil, upsert_staff
from .runtime import Runtime
from .schemas.mis_events import MisEvent, load_event

ACCEPTED, DUPLICATE = "accepted", "duplicate"
MAX_ATTEMPTS = 10
log = logging.getLogger(__name__)


class UnknownConcern(LookupError):
    """An update names a concern that was never raised here (422)."""


class NotYetApplicable(RuntimeError):
    """An update arrived before its concern's case was opened; the worker tries again shortly."""


@dataclass(frozen=True)
class IngestResult:
    status: str
    event_id: str
    case_id: str | None


def take_in(runtime: Runtime, event_id: str, raw: str, event: MisEvent, via: str) -> IngestResult:
    """What both doors (the webhook, `infoshare.mis.ingest`) do with a valid event: accept it or,
    when a constraint says it was seen before, record the duplicate in a transaction of its own.

    Raises UnknownConcern for an update to a concern never raised here; database errors
    propagate (the webhook answers 503, the task retries).
    """
    with runtime.engine.begin() as connection:
        result = accept(connection, event_id, raw, event, via)
    if result is not None:
        return result
    with runtime.transaction() as session:
        return record_duplicate(session, event_id, event, via)


def accept(connection: Connection, event_id: str, raw: str, event: MisEvent, via: str
           ) -> IngestResult | None:
    """Store the validated event: one INSERT on a plain connection (the hottest path there is).

    `raw` is the event's JSON text as it arrived (the signed body, for the webhook), kept
    encrypted until a worker applies it: stored as sent, not re-serialised. Returns None when
    a constraint says it is a duplicate (`take_in` then records it with `record_duplicate`).
    """
    table = ReceivedEvent.__table__
    concern_id = event.data["concern_id"] if event.type.startswith("concern.") else None
    raising = event.type == "concern.raised"
    case_id = new_case_id() if raising else None
    if event.type == "concern.updated":
        case_id = connection.scalar(select(table.c.case_id).where(table.c.concern_key == concern_id))
        if case_id is None:
            raise UnknownConcern(concern_id)
    row = {"event_id": event_id, "type": event.type, "via": via, "outcome": ACCEPTED, "case_id": case_id,
           "received_at": utcnow(), "concern_key": concern_id if raising else None, "payload": raw}
    if connection.execute(_accept_statement(connection.dialect.name), row).first() is None:
        return None
    return IngestResult(ACCEPTED, event_id, case_id)


@cache
def _accept_statement(dialect: str) -> Any:
    """Built once per dialect: the insert runs on every webhook."""
    table = ReceivedEvent.__table__
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return stmt.on_conflict_do_nothing().returning(table.c.event_id)


def record_duplicate(session: Session, event_id: str, event: MisEvent, via: str) -> IngestResult:
    """Answer a duplicate with the case it belongs to, and audit it."""
    concern_id = event.data["concern_id"] if event.type == "concern.raised" else None
    earlier = session.get(ReceivedEvent, event_id)
    if earlier is not None:
        reason, case_id = "event_id", earlier.case_id
    else:  # the same concern under a new webhook-id: keep this id too, so it stays idempotent
        reason = "concern_id"
        case_id = session.scalar(select(ReceivedEvent.case_id).where(ReceivedEvent.concern_key == concern_id))
        session.execute(insert(session, ReceivedEvent.__table__).values(
            event_id=event_id, type=event.type, via=via, outcome=DUPLICATE, case_id=case_id, received_at=utcnow(),
            applied_at=utcnow()).on_conflict_do_nothing())
    audit.append(session, actor="mis", action="event.duplicate", case_id=case_id,
                 details={"event_id": event_id, "type": event.type, "via": via, "reason": reason})
    return IngestResult(DUPLICATE, event_id, case_id)


def apply_pending(session_factory: Callable[[], Any], limit: int = 500) -> int:
    """Apply accepted events oldest first, one transaction each, until none is left.

    Concurrent workers take different rows (SKIP LOCKED on PostgreSQL; SQLite's write lock
    serialises them). An update that overtook its concern is left for the next pass. An
    event whose applying fails is retried on later passes and, after MAX_ATTEMPTS, parked
    (audited, and still counted in /metrics) so it can never hold up the events behind it.
    """
    applied, deferred = 0, set[str]()
    for _ in range(limit):
        event_id: str | None = None
        try:
            with session_factory() as session, session.begin():
                query = (select(ReceivedEvent.event_id)
                         .where(ReceivedEvent.applied_at.is_(None), ReceivedEvent.attempts < MAX_ATTEMPTS)
                         .order_by(ReceivedEvent.received_at).limit(1))
                if deferred:
                    query = query.where(ReceivedEvent.event_id.not_in(deferred))
                if session.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                event_id = session.scalars(query).first()
                if event_id is None:
                    return applied
                try:
                    with session.begin_nested():
                        _apply_row(session, session.get_one(ReceivedEvent, event_id))
                    applied += 1
                except NotYetApplicable:
                    deferred.add(event_id)
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the others
            if event_id is None:
                raise
            deferred.add(event_id)
            _record_failure(session_factory, event_id, exc)
    return applied


def _record_failure(session_factory: Callable[[], Any], event_id: str, exc: Exception) -> None:
    log.error("applying mis event %s failed (%s)", event_id, type(exc).__name__)
    with session_factory() as session, session.begin():
        counted = session.execute(  # no ORM load: the payload itself may be what cannot be read
            update(ReceivedEvent).where(ReceivedEvent.event_id == event_id)
            .values(attempts=ReceivedEvent.attempts + 1)
            .returning(ReceivedEvent.attempts, ReceivedEvent.type, ReceivedEvent.case_id)
        ).first()
        if counted is not None and counted.attempts >= MAX_ATTEMPTS:
            audit.append(session, actor="system", action="event.parked", case_id=counted.case_id,
                         details={"event_id": event_id, "type": counted.type, "attempts": counted.attempts,
                                  "error": type(exc).__name__})


def _apply_row(session: Session, row: ReceivedEvent) -> None:
    event_id = row.event_id
    event = load_event(json.loads(row.payload))
    data = event.data
    if event.type == "concern.raised":
        ensure_reporter(session, data["reported_by"])
        concern_pk = insert_concern(session, data, upsert_pupil(session, data["pupil"]))
        if concern_pk is not None:
            open_case(session, concern_pk, data, event_id, case_id=row.case_id)
    elif event.type == "concern.updated":
        if case_for_concern(session, data["concern_id"]) is None:
            raise NotYetApplicable(event_id)
        apply_update(session, data, event_id, event.timestamp)
    elif event.type == "pupil.updated":
        upsert_pupil(session, data["pupil"])
    elif event.type == "staff.upserted":
        upsert_staff(session, data)
    elif event.type == "calendar.closures":
        record_closures(session, data["dates"], source="mis")
    row.applied_at, row.payload = utcnow(), None  # applied: the records now hold the data
    audit.append(session, actor="mis", action="event.accepted", case_id=row.case_id,
                 details={"event_id": event_id, "type": event.type, "via": row.via,
                          "received_at": row.received_at.isoformat()})


def waiting(session: Session) -> int:
    """Accepted events no worker has applied yet (shown in /metrics: beat must be running)."""
    return session.scalar(select(func.count()).select_from(ReceivedEvent).where(ReceivedEvent.applied_at.is_(None))) or 0


def record_rejection(session: Session, *, via: str, reason: str, event_id: str | None,
                     event_type: str | None = None, errors: Any = None) -> None:
    """Audit a rejected event by reason; the payload itself is never stored."""
    details: dict[str, Any] = {"via": via, "reason": reason, "event_id": (event_id or "")[:255] or None}
    if event_type is not None:
        details["type"] = event_type
    if errors is not None:
        details["errors"] = errors
    audit.append(session, actor="mis", action="event.rejected", details=details)


