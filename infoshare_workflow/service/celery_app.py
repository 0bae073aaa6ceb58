"""The Celery app factory, shared by the worker and the web app (which enqueues).

Reliability choices (RELIABILITY.md): late acks with reject-on-worker-lost, prefetch of one,
no results backend, and no timers in the broker; tasks are named `infoshare.<area>.<verb>`
and routed to INFOSHARE_QUEUE so a shared broker stays tidy.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from infoshare_workflow import tasks
from infoshare_workflow.monitoring import log_redaction
from infoshare_workflow.storage.runtime import Runtime

DISPATCH_TASK = "infoshare.dispatch.tick"


def create_celery(runtime: Runtime) -> Celery:
    settings = runtime.settings
    celery = Celery("infoshare", broker=settings.broker_url, include=tasks.MODULES)
    celery.conf.update(
        task_default_queue=settings.queue,
        task_routes={"infoshare.*": {"queue": settings.queue}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        worker_hijack_root_logger=False,
        timezone=settings.timezone,
    )
    celery.conf.beat_schedule = {
        # A short, frequent pass; the timers themselves live in the database (RELIABILITY.md).
        # Accepted MIS events are applied as soon as the webhook nudges a worker (storage/nudge.py);
        # this pass, within a second, is the safety net for a nudge that could not be sent.
        "mis-apply": {"task": "infoshare.mis.apply", "schedule": 1.0,
                      "options": {"queue": settings.queue, "expires": 5}},
        "dispatch": {"task": DISPATCH_TASK, "schedule": float(settings.dispatch_interval),
                         "options": {"queue": settings.queue, "expires": settings.dispatch_interval * 2}},
    }
    celery.infoshare = runtime  # type: ignore[attr-defined]

    def publish(message_id: str, task: str, kwargs: dict[str, Any]) -> None:
        celery.send_task(task, kwargs={**kwargs, "outbox_id": message_id}, task_id=message_id,
                         queue=settings.queue)

    if not settings.embedded_broker:
        runtime.publish = publish
    return celery


@signals.after_setup_logger.connect(weak=False, dispatch_uid="infoshare.log_redaction")
def _redact_worker_logs(logger: Any = None, **_: Any) -> None:
    """The worker's and beat's handlers get the redacting filter as Celery sets them up."""
    log_redaction.install(logger)
