"""`infoshare.schedules.run`: execute one run of a scheduled sweep, once.

The run row is the truth (`schedules.execution`): a redelivered or retried message finds the
run claimed or finished and does nothing twice ("review retained information regularly",
exactly once per due slot). A database that is unreachable before the job starts retries.
"""

from __future__ import annotations

from celery import Task, shared_task
from sqlalchemy.exc import InterfaceError, OperationalError

from infoshare_workflow.schedules.execution import execute_run
from infoshare_workflow.storage import outbox
from infoshare_workflow.tasks import runtime_of


@shared_task(bind=True, name="infoshare.schedules.run", autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, max_retries=8)
def run(self: Task, run_id: int, outbox_id: str | None = None) -> str:
    runtime = runtime_of(self.app)
    outcome = execute_run(runtime, run_id)
    with runtime.transaction() as session:
        outbox.mark_done(session, outbox_id)
    return outcome
