"""Taking in MIS events exactly once: accept durably in the request, apply in a worker.

`take_in` is all the webhook (and the `infoshare.mis.ingest` task) does before answering:
`accept`'s one INSERT of the validated event into the inbox, whose primary key (`webhook-id`) and
unique `concern_key` (a `concern.raised`'s `concern_id`) stop every duplicate in the
database, not by a check first, and which reserves the case reference. The event is durable
before the 2xx (INTERFACES.md §1: "processing after that is asynchronous"). `apply` then
opens the case or updates the records, once: it is idempotent by the inbox row's
`applied_at`. Workers take accepted events from the inbox themselves (`apply_pending`, FOR
UPDATE SKIP LOCKED), nudged by the receiver once the event has committed and run by beat
every second besides, so no event waits on a lost broker message. An apply that fails
backs off over hours and is then parked, in sight (`inbox.py`), never dropped; a corrected
`concern.raised` for a parked concern takes its place. Every outcome, rejections included,
lands in the audit trail (golden rule 7), without payloads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from infoshare_workflow.cases.opening import apply_update, case_for_concern, insert_concern, new_case_id, open_case
from infoshare_workflow.people.pupils import upsert_pupil
from infoshare_workflow.people.staff import ensure_reporter, roles_held, upsert_staff
from infoshare_workflow.records import audit
from infoshare_workflow.schemas.fields import check_text
from infoshare_workflow.schemas.mis_events import MisEvent, load_event
from infoshare_workflow.sharing.handover import hand_over
from infoshare_workflow.storage.db import insert
from infoshare_workflow.storage.locks import lock_case
from infoshare_workflow.storage.models import ReceivedEvent, utcnow
from infoshare_workflow.storage.runtime import Runtime
from infoshare_workflow.timeliness.calendar import record_closures
from infoshare_workflow.vocabulary import EVENT_TYPES

ACCEPTED, DUPLICATE, REPLACED, STALE = "accepted", "duplicate", "replaced", "stale"
ERASED = "erased"  # never applied: its case or pupil was erased first (review.erasure, `_apply_row`)
MAX_ATTEMPTS = 10
# 30 s, then doubling: the tenth failure comes about four and a quarter hours after the first,
# long enough for a deployment to fix whatever made the apply fail.
FIRST_RETRY = timedelta(seconds=30)
log = logging.getLogger(__name__)


class UnknownConcern(LookupError):
    """An update names a concern that was never raised here (422)."""


class NotYetApplicable(RuntimeError):
    """An update arrived before its concern's case was opened, or while another transaction is
    changing the case; the worker tries again shortly."""


@dataclass(frozen=True)
class IngestResult:
    status: str
    event_id: str
    case_id: str | None


@dataclass(frozen=True)
class Refusal:
    """A signed event refused whole (422): nothing of it is stored."""

    reason: str
    errors: dict[str, Any]
    event_type: str | None


def event_id_errors(event_id: Any) -> dict[str, list[str]] | None:
    """The idempotency key must fit its column and be text a log or a CLI table can show."""
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 255:
        return {"event_id": ["Must be 1 to 255 characters."]}
    try:
        check_text(event_id, multiline=False)
    except ValidationError as exc:
        return {"event_id": exc.messages if isinstance(exc.messages, list) else [str(exc)]}
    return None


def ingest(runtime: Runtime, event_id: Any, raw: str, payload: dict[str, Any], via: str) -> IngestResult | Refusal:
    """What both doors do once the signature holds: validate the event whole, then take it in.

    Database errors propagate: the webhook answers 503 and the task retries.
    """
    known_type = payload.get("type") if payload.get("type") in EVENT_TYPES else None
    errors = event_id_errors(event_id)
    if errors is not None:
        return Refusal("schema", errors, known_type)
    try:
        event = load_event(payload)
    except ValidationError as exc:
        return Refusal("schema", exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages},
                       known_type)
    try:
        return take_in(runtime, event_id, raw, event, via)
    except UnknownConcern:
        return Refusal("unknown_concern", {"data": {"concern_id": ["Unknown concern."]}}, event.type)


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
        return replace_parked(session, event_id, raw, event, via) or record_duplicate(session, event_id, event, via)


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


def replace_parked(session: Session, event_id: str, raw: str, event: MisEvent, via: str) -> IngestResult | None:
    """A `concern.raised` sent again, under a new webhook-id, for a concern whose first
    delivery is parked takes its place and keeps its case reference, instead of being a
    duplicate of an event that will never become a case. None when there is nothing to replace.

    The UPDATE claims the parked row (a concurrent re-send waits for it, then finds nothing).
    """
    if event.type != "concern.raised" or session.get(ReceivedEvent, event_id) is not None:
        return None
    concern_id = event.data["concern_id"]
    parked = session.execute(
        update(ReceivedEvent)
        .where(ReceivedEvent.concern_key == concern_id, ReceivedEvent.outcome == ACCEPTED,
               ReceivedEvent.applied_at.is_(None), ReceivedEvent.parked_at.is_not(None))
        .values(concern_key=None, outcome=REPLACED, payload=None)
        .returning(ReceivedEvent.event_id, ReceivedEvent.case_id)
    ).first()
    if parked is None:
        return None
    session.execute(insert(session, ReceivedEvent.__table__).values(
        event_id=event_id, type=event.type, via=via, outcome=ACCEPTED, case_id=parked.case_id,
        received_at=utcnow(), concern_key=concern_id, payload=raw))
    audit.append(session, actor="mis", action="event.replaced", case_id=parked.case_id,
                 details={"event_id": event_id, "replaces": parked.event_id, "type": event.type, "via": via})
    return IngestResult(ACCEPTED, event_id, parked.case_id)


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


def apply_pending(session_factory: Callable[[], Any], limit: int = 500, now: datetime | None = None,
                  until: float | None = None) -> int:
    """Apply due accepted events oldest first, one transaction each, until none is left (or
    `limit` are done, or the monotonic clock passes `until`).

    Concurrent workers take different rows (SKIP LOCKED on PostgreSQL; SQLite's write lock
    serialises them). An update that overtook its concern is left for the next pass. An
    event whose applying fails waits before its next attempt, longer each time, and after
    MAX_ATTEMPTS is parked (audited, counted in /metrics, listed by `infoshare inbox list`),
    so it can never hold up the events behind it. A database that went away is not the
    event's fault: that error stops the pass and the event waits for the next one, its
    attempts untouched. `until` lets a worker's pass end during a long burst, so the emails
    it queued are not stuck behind it in the same queue.
    """
    applied, deferred = 0, set[str]()
    for _ in range(limit):
        if until is not None and time.monotonic() >= until:
            return applied
        moment, event_id = now or utcnow(), None
        try:
            with session_factory() as session, session.begin():
                event_id = _next_due(session, moment, deferred)
                if event_id is None:
                    return applied
                _apply_row(session, session.get_one(ReceivedEvent, event_id))
            applied += 1
        except NotYetApplicable:
            deferred.add(str(event_id))
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the others
            if event_id is None or isinstance(exc, (OperationalError, InterfaceError)):
                raise
            deferred.add(event_id)
            _record_failure(session_factory, event_id, exc, moment)
    return applied


def _next_due(session: Session, now: datetime, deferred: set[str]) -> str | None:
    query = (select(ReceivedEvent.event_id)
             .where(ReceivedEvent.applied_at.is_(None), ReceivedEvent.outcome == ACCEPTED,
                    ReceivedEvent.parked_at.is_(None),
                    or_(ReceivedEvent.next_attempt_at.is_(None), ReceivedEvent.next_attempt_at <= now))
             .order_by(ReceivedEvent.received_at).limit(1))
    if deferred:
        query = query.where(ReceivedEvent.event_id.not_in(deferred))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).first()


def retry_delay(attempts: int) -> timedelta:
    """How long an event waits after its `attempts`-th failed apply."""
    return FIRST_RETRY * 2 ** (attempts - 1)


def _record_failure(session_factory: Callable[[], Any], event_id: str, exc: Exception, now: datetime) -> None:
    error = type(exc).__name__[:64]  # the class only: a message may quote the payload
    log.error("applying mis event %s failed (%s)", event_id, error)
    with session_factory() as session, session.begin():
        counted = session.execute(  # no ORM load: the payload itself may be what cannot be read
            update(ReceivedEvent).where(ReceivedEvent.event_id == event_id)
            .values(attempts=ReceivedEvent.attempts + 1, last_error=error)
            .returning(ReceivedEvent.attempts, ReceivedEvent.type, ReceivedEvent.case_id)
        ).one()
        details = {"event_id": event_id, "type": counted.type, "attempts": counted.attempts, "error": error}
        if counted.attempts >= MAX_ATTEMPTS:
            session.execute(update(ReceivedEvent).where(ReceivedEvent.event_id == event_id).values(parked_at=now))
            audit.append(session, actor="system", action="event.parked", case_id=counted.case_id, details=details)
            return
        retry_at = now + retry_delay(counted.attempts)
        session.execute(update(ReceivedEvent).where(ReceivedEvent.event_id == event_id)
                        .values(next_attempt_at=retry_at))
        audit.append(session, actor="system", action="event.apply_failed", case_id=counted.case_id,
                     details={**details, "next_attempt_at": retry_at.isoformat()})


def _apply_row(session: Session, row: ReceivedEvent) -> None:
    event_id = row.event_id
    event = load_event(json.loads(row.payload))
    data, stale, discarded = event.data, False, False
    if event.type == "concern.raised":
        ensure_reporter(session, data["reported_by"])
        pupil_id, _ = upsert_pupil(session, data["pupil"], event.timestamp)
        concern_pk = insert_concern(session, data, pupil_id)
        if concern_pk is not None:
            open_case(session, concern_pk, data, event_id, case_id=row.case_id)
    elif event.type == "concern.updated":
        case = case_for_concern(session, data["concern_id"])
        if case is None:
            raise NotYetApplicable(event_id)
        if not lock_case(session, case, wait=False):  # being answered or erased: next pass (storage/locks.py)
            raise NotYetApplicable(event_id)
        # DOMAIN.md "Retention": an erased case takes nothing back (the MIS does not know it is gone).
        discarded = case.status == "disposed"
        if not discarded:
            apply_update(session, case, data, event_id, event.timestamp)
    elif event.type == "pupil.updated":
        stale = not upsert_pupil(session, data["pupil"], event.timestamp)[1]
    elif event.type == "staff.upserted":
        held_before = roles_held(session, data["staff_id"])
        stale = not upsert_staff(session, data, event.timestamp)
        if not stale:
            hand_over(session, data["staff_id"], held_before, roles_held(session, data["staff_id"]))
    elif event.type == "calendar.closures":
        record_closures(session, data["dates"], source="mis")
    row.applied_at, row.payload = utcnow(), None  # applied: the records now hold the data
    details = {"event_id": event_id, "type": event.type, "via": row.via, "received_at": row.received_at.isoformat()}
    action = "event.accepted"
    if stale:  # an older event than the one the record holds: recorded, and it changes nothing
        row.outcome, action = STALE, "event.stale"
        details["timestamp"] = event.timestamp.isoformat()
    elif discarded:  # its case was disposed of: what it said is dropped, not stored
        row.outcome, action = ERASED, "event.discarded"
        details["reason"] = "case_disposed"
    audit.append(session, actor="mis", action=action, case_id=row.case_id, details=details)
