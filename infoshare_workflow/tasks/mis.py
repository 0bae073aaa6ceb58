"""The MIS door over Celery, and the worker side of every accepted event.

`infoshare.mis.ingest` is the door for hosts that prefer Celery to HTTP. It believes only
events signed as the webhook's are (INTERFACES.md §1 "The same door over Celery"): anyone
who can write to Redis could otherwise make themselves a DSL. Then the same validation and
idempotency by `event_id` as the webhook; an invalid event is recorded as rejected with
its errors and never retried; an accepted event is applied there and then, in the worker
that took it in. `infoshare.mis.apply` opens the case or updates the records for each
accepted event, once: run as soon as the webhook has committed an event (its nudge,
storage/nudge.py) and by beat every second, the safety net.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task, shared_task
from sqlalchemy.exc import InterfaceError, OperationalError

from infoshare_workflow.access.mis_signature import task_text, verify
from infoshare_workflow.cases import rejections
from infoshare_workflow.cases.intake import Refusal, apply_pending, ingest
from infoshare_workflow.monitoring.metrics import count_event, count_rejection
from infoshare_workflow.schemas.strict_json import too_deep
from infoshare_workflow.storage import nudge
from infoshare_workflow.tasks import runtime_of

log = logging.getLogger(__name__)
PASS_SECONDS = 1.0


@shared_task(
    bind=True, name="infoshare.mis.ingest", autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True, retry_backoff_max=300, max_retries=10,
)
def ingest_event(self: Task, event_id: Any = None, event: Any = None, webhook_timestamp: Any = None,
                 signature: Any = None) -> dict[str, Any]:
    runtime = runtime_of(self.app)
    text = task_text(event) if isinstance(event, dict) and not too_deep(event) else None
    if text is None or not verify(runtime.settings.mis_webhook_secret, event_id, webhook_timestamp, signature, text):
        count_rejection("celery", "signature", None)
        with runtime.engine.begin() as connection:
            rejections.tally(connection, via="celery", reason="signature")
        log.warning("mis event refused via celery: no valid signature")
        return {"status": "unauthorized"}
    outcome = ingest(runtime, event_id, text, event, via="celery")
    if isinstance(outcome, Refusal):
        count_rejection("celery", outcome.reason, outcome.event_type)
        with runtime.transaction() as session:
            rejections.record(session, via="celery", reason=outcome.reason, event_id=event_id,
                              event_type=outcome.event_type, errors=outcome.errors)
        log.info("mis event rejected via celery: type=%s reason=%s", outcome.event_type, outcome.reason)
        return {"status": "invalid", "event_id": event_id, "errors": outcome.errors}
    count_event(str(event["type"]), outcome.status)
    log.info("mis event %s via celery: type=%s case=%s", outcome.status, event["type"], outcome.case_id)
    apply_pending(runtime.sessions)  # already in a worker: apply at once
    return {"status": outcome.status, "event_id": outcome.event_id, "case_id": outcome.case_id}


@shared_task(bind=True, name="infoshare.mis.apply", ignore_result=True)
def apply_accepted(self: Task, outbox_id: str | None = None) -> int:
    """Apply what was accepted (one transaction per event), nudged by the webhook or run by beat.

    The nudge gate is reopened first, before the scan: an event committed after this point is
    either seen by this scan or nudges a task of its own (storage/nudge.py argues the race).
    A pass lasts about PASS_SECONDS at most: during a long burst the consent emails it queued
    wait behind it in the same queue, so it ends, and nudges a pass of its own to carry on.
    `outbox_id` is the nudge's message id, as the runtime's publisher names every message.
    """
    runtime = runtime_of(self.app)
    nudge.reopen(runtime)
    until = time.monotonic() + PASS_SECONDS
    applied = apply_pending(runtime.sessions, until=until)
    if time.monotonic() >= until:  # a burst: let the emails queued meanwhile go first, then carry on
        nudge.nudge_apply(runtime)
    if applied:
        log.info("applied %d accepted mis event(s)", applied)
    return applied
