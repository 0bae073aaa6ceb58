"""`infoshare.shares.execute`: create each recipient's disclosure and its email, once."""

from __future__ import annotations

from celery import Task, shared_task
from sqlalchemy.exc import InterfaceError, OperationalError

from infoshare_workflow.sharing.decision import execute_share
from infoshare_workflow.storage import outbox
from infoshare_workflow.tasks import runtime_of


@shared_task(bind=True, name="infoshare.shares.execute", autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, max_retries=8)
def execute(self: Task, decision_id: int, outbox_id: str | None = None) -> int:
    runtime = runtime_of(self.app)
    with runtime.transaction() as session:
        created = execute_share(session, decision_id)
        outbox.mark_done(session, outbox_id)
    return created
