"""`infoshare.outbox.relay`: re-publish committed work whose message was lost.

Run by beat every INFOSHARE_DISPATCH_INTERVAL seconds. Rows are claimed with
FOR UPDATE SKIP LOCKED on PostgreSQL, so two beats or relays never publish the same row
in one pass; consumers dedupe anyway.
"""

from __future__ import annotations

from celery import Task, shared_task

from infoshare_workflow.celery_app import runtime_of
from infoshare_workflow.outbox import relay


@shared_task(bind=True, name="infoshare.outbox.relay", ignore_result=True)
def relay_outbox(self: Task) -> int:
    runtime = runtime_of(self.app)
    return relay(runtime.sessions, runtime.publish_safely, runtime.lease)
