"""`infoshare.dispatch.tick`: beat's one periodic task, every INFOSHARE_DISPATCH_INTERVAL seconds.

It fires due reminders and escalations from the database (review lists' reminders too), makes
one run of every scheduled sweep whose slot has come (`schedules.runs`), relays outbox work
whose message was lost, and writes the last minutes' counts of refused unauthenticated requests
to the audit trail. Two beats running at once are harmless: claims are row locks.
"""

from __future__ import annotations

from celery import Task, shared_task

from infoshare_workflow.cases.rejections import flush_tallies
from infoshare_workflow.review.lists import remind_due_lists
from infoshare_workflow.schedules.runs import run_due_schedules
from infoshare_workflow.sharing.reminders import dispatch_timers
from infoshare_workflow.storage.outbox import relay
from infoshare_workflow.tasks import runtime_of


@shared_task(bind=True, name="infoshare.dispatch.tick", ignore_result=True)
def tick(self: Task) -> dict[str, int]:
    runtime = runtime_of(self.app)
    fired = dispatch_timers(runtime.sessions)
    with runtime.transaction() as session:
        lists = remind_due_lists(session)
    runs = run_due_schedules(runtime.sessions)
    relayed = relay(runtime.sessions, runtime.publish_safely, runtime.lease)
    flush_tallies(runtime.sessions)
    return {"reminders": fired.reminders, "escalations": fired.escalations,
            "review_reminders": lists, "runs": runs,
            "relayed": relayed}
