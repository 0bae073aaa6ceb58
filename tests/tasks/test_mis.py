"""`infoshare.mis.ingest` through a real Celery worker on Redis: the same door as the webhook."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from infoshare_workflow.models import AuditEvent, Case, ReceivedEvent

from .. import factories
from ..conftest import wait_for


def cases(runtime):
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(Case))


def audit_actions(runtime):
    with runtime.transaction() as session:
        return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_an_event_sent_as_a_task_opens_a_case(worker, runtime):
    worker.send("infoshare.mis.ingest", event_id="msg_task_1", event=factories.concern_raised("C-task-1"))

    wait_for(lambda: cases(runtime) == 1)
    with runtime.transaction() as session:
        received = session.get(ReceivedEvent, "msg_task_1")
        assert received.via == "celery" and received.case_id is not None


def test_the_same_event_id_twice_makes_one_case_and_an_audited_duplicate(worker, runtime):
    event = factories.concern_raised("C-task-2")
    worker.send("infoshare.mis.ingest", event_id="msg_task_2", event=event)
    worker.send("infoshare.mis.ingest", event_id="msg_task_2", event=event)

    wait_for(lambda: "event.duplicate" in audit_actions(runtime) and cases(runtime) == 1)
    assert audit_actions(runtime).count("event.accepted") == 1


def test_an_invalid_event_is_recorded_as_rejected_with_its_errors_and_changes_nothing(worker, runtime):
    worker.send("infoshare.mis.ingest", event_id="msg_task_3",
                event=factories.concern_raised("C-task-3", category="gossip"))

    wait_for(lambda: "event.rejected" in audit_actions(runtime))
    with runtime.transaction() as session:
        rejected = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.rejected")).one()
        assert session.scalar(select(func.count()).select_from(ReceivedEvent)) == 0
    details = json.loads(rejected.details)
    assert details["via"] == "celery" and "category" in details["errors"]["data"]
    assert cases(runtime) == 0


def test_a_missing_event_id_is_rejected_not_crashed(worker, runtime):
    worker.send("infoshare.mis.ingest", event=factories.concern_raised("C-task-4"))
    wait_for(lambda: "event.rejected" in audit_actions(runtime))
    assert cases(runtime) == 0
