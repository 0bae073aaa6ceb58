"""`infoshare.mis.ingest`: the MIS door over Celery, for hosts that prefer it to HTTP.

Same validation, same idempotency by `event_id`, same outcome as the webhook. A database
error retries with backoff (nothing was stored, the transaction rolled back); an invalid
event is audited as rejected with its errors and never retried.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from marshmallow import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError

from infoshare_workflow.cases import UnknownConcern
from infoshare_workflow.celery_app import runtime_of
from infoshare_workflow.intake import ingest, record_rejection
from infoshare_workflow.metrics import EVENTS
from infoshare_workflow.schemas.mis_events import load_event
from infoshare_workflow.vocabulary import EVENT_TYPES

log = logging.getLogger(__name__)


@shared_task(
    bind=True, name="infoshare.mis.ingest", autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True, retry_backoff_max=300, max_retries=10,
)
def ingest_event(self: Task, event_id: Any = None, event: Any = None) -> dict[str, Any]:
    runtime = runtime_of(self.app)
    event_type = event.get("type") if isinstance(event, dict) else None
    errors: Any = None
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 255:
        errors = {"event_id": ["Must be a string of 1 to 255 characters."]}
    else:
        try:
            valid = load_event(event)
        except ValidationError as exc:
            errors = exc.messages
    if errors is None:
        try:
            with runtime.transaction() as session:
                result = ingest(session, event_id, valid, via="celery")
        except UnknownConcern:
            errors = {"data": {"concern_id": ["Unknown concern."]}}
        else:
            EVENTS.labels(valid.type, result.status).inc()
            log.info("mis event %s via celery: type=%s case=%s", result.status, valid.type, result.case_id)
            return {"status": result.status, "event_id": result.event_id, "case_id": result.case_id}
    known_type = event_type if event_type in EVENT_TYPES else None
    EVENTS.labels(known_type or "unknown", "rejected").inc()
    with runtime.transaction() as session:
        record_rejection(session, via="celery", reason="schema", event_id=event_id if isinstance(event_id, str)
                         else None, event_type=known_type, errors=errors)
    log.info("mis event rejected via celery: type=%s", known_type)
    return {"status": "invalid", "event_id": event_id, "errors": errors}
