"""`infoshare.mis.ingest` through a real Celery worker on Redis: the same door as the webhook,
signed as the webhook is, so writing to the broker is not enough to inject an event."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from infoshare_workflow.storage.models import AuditEvent, Case, ReceivedEvent, RejectionTally, Staff

from .. import factories
from ..audit_trail import actions
from ..conftest import wait_for


def cases(runtime):
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(Case))


def refused_unsigned(runtime):
    with runtime.transaction() as session:
        return session.scalar(select(func.sum(RejectionTally.count)).where(RejectionTally.via == "celery")) or 0


def send_signed(worker, settings, event, **kwargs):
    worker.send("infoshare.mis.ingest", **factories.signed_task(settings.mis_webhook_secret, event, **kwargs))


def test_a_signed_event_sent_as_a_task_opens_a_case(worker, settings, runtime):
    send_signed(worker, settings, factories.concern_raised("C-task-1"), event_id="msg_task_1")

    wait_for(lambda: cases(runtime) == 1)
    with runtime.transaction() as session:
        received = session.get(ReceivedEvent, "msg_task_1")
        assert received.via == "celery" and received.case_id is not None


def test_the_same_event_id_twice_makes_one_case_and_an_audited_duplicate(worker, settings, runtime):
    event = factories.concern_raised("C-task-2")
    send_signed(worker, settings, event, event_id="msg_task_2")
    send_signed(worker, settings, event, event_id="msg_task_2")

    wait_for(lambda: "event.duplicate" in actions(runtime) and cases(runtime) == 1)
    assert actions(runtime).count("event.accepted") == 1


def test_an_invalid_signed_event_is_recorded_as_rejected_with_its_errors_and_changes_nothing(worker, settings,
                                                                                              runtime):
    send_signed(worker, settings, factories.concern_raised("C-task-3", category="gossip"), event_id="msg_task_3")

    wait_for(lambda: "event.rejected" in actions(runtime))
    with runtime.transaction() as session:
        rejected = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.rejected")).one()
        assert session.scalar(select(func.count()).select_from(ReceivedEvent)) == 0
    details = json.loads(rejected.details)
    assert details["via"] == "celery" and "category" in details["errors"]["data"]
    assert cases(runtime) == 0


def test_a_forged_staff_update_does_not_make_anyone_a_dsl(worker, settings, runtime):
    forged = factories.staff_upserted("S-666", ["dsl"], email="attacker@evil.example")
    worker.send("infoshare.mis.ingest", event_id="msg_forged_1", event=forged)  # unsigned, as before the fix
    worker.send("infoshare.mis.ingest", **factories.signed_task("whsec_" + "QUJD" * 8, forged,
                                                                 event_id="msg_forged_2"))  # another secret
    bad_signature = factories.signed_task(settings.mis_webhook_secret, forged, event_id="msg_forged_3")
    bad_signature["event"] = factories.staff_upserted("S-666", ["dsl", "manager"])  # signed one thing, sent another
    worker.send("infoshare.mis.ingest", **bad_signature)

    wait_for(lambda: refused_unsigned(runtime) == 3)
    with runtime.transaction() as session:
        assert session.get(Staff, "S-666") is None
        assert session.scalar(select(func.count()).select_from(ReceivedEvent)) == 0


def test_a_signature_older_than_five_minutes_is_refused(worker, settings, runtime):
    send_signed(worker, settings, factories.concern_raised("C-task-old"), timestamp=int(time.time()) - 6 * 60)
    wait_for(lambda: refused_unsigned(runtime) == 1)
    assert cases(runtime) == 0


def test_a_missing_event_id_is_refused_not_crashed(worker, settings, runtime):
    kwargs = factories.signed_task(settings.mis_webhook_secret, factories.concern_raised("C-task-4"))
    del kwargs["event_id"]
    worker.send("infoshare.mis.ingest", **kwargs)
    wait_for(lambda: refused_unsigned(runtime) == 1)
    assert cases(runtime) == 0
