"""The MIS door over Celery, and the worker side of every accepted event.

`infoshare.mis.ingest` is the door for hosts that prefer Celery to HTTP: the same
validation and idempotency by `event_id` as the webhook; an invalid event is audited as
rejected with its errors and never retried. `infoshare.mis.apply` (beat, every second)
opens the case or updates the records for each accepted event, once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from celery import Task, shared_task
from marshmallow import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError

from infoshare_workflow.celery_app import runtime_of
from infoshare_workflow.intake import UnknownConcern, apply_pending, record_rejection, take_in
from infoshare_workflow.metrics import count_event
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
            result = take_in(runtime, event_id, json.dumps(event), valid, via="celery")
        except UnknownConcern:
            errors = {"data": {"concern_id": ["Unknown concern."]}}
        else:
            count_event(valid.type, result.status)
            log.info("mis event %s via celery: type=%s case=%s", result.status, valid.type, result.case_id)
            apply_pending(runtime.sessions)  # already in a worker: apply at once
            return {"status": result.status, "event_id": result.event_id, "case_id": result.case_id}
    known_type = event_type if event_type in EVENT_TYPES else None
    count_event(known_type or "unknown", "rejected")
    with runtime.transaction() as session:
        record_rejection(session, via="celery", reason="schema", event_id=event_id if isinstance(event_id, str)
                         else None, event_type=known_type, errors=errors)
    log.info("mis event rejected via celery: type=%s", known_type)
    return {"status": "invalid", "event_id": event_id, "errors": errors}


@shared_task(bind=True, name="infoshare.mis.apply", ignore_result=True)
def apply_accepted(self: Task) -> int:
    """Beat runs this every second: apply what was accepted (one transaction per event)."""
    applied = apply_pending(runtime_of(self.app).sessions)
    if applied:
        log.info("applied %d accepted mis event(s)", applied)
    return applied
