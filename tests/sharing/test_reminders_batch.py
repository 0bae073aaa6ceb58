"""The dispatcher writes each batch in a few multi-row statements: the bulk helpers behind it
write and publish exactly what the single-row ones do, and a point that cannot be fired holds
back none of the others, and fires once when its row is mended."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from infoshare_workflow.mail import messages
from infoshare_workflow.records import audit
from infoshare_workflow.sharing.reminders import DispatchResult, dispatch_timers
from infoshare_workflow.storage.models import AuditEvent, Case, Email, OutboxMessage, Step, StepTimer, TaskLink, utcnow

from ..storage.test_runtime import recording
from .test_reminders_concurrency import due_reminders

CASE = "IS-ABCDEFGHJK"


def bulk(count: int) -> list[dict[str, Any]]:
    return [{"template": "alert", "to_address": f"manager-{i}@school.example", "to_label": f"staff:S-1{i}",
             "case_id": CASE, "context": {"urgency": "immediate"}} for i in range(count)]


def test_emails_queued_in_bulk_are_rows_whose_sending_is_published_only_after_commit(runtime):
    published = recording(runtime)
    with runtime.sessions() as session, session.begin():
        ids = messages.queue_emails(session, bulk(3))
        assert published == []  # nothing leaves before the commit
    with pytest.raises(LookupError), runtime.transaction() as session:
        messages.queue_emails(session, bulk(2))
        raise LookupError  # rolled back: neither rows nor messages

    assert len(published) == 3 and all(committed for _, _, committed in published)
    with runtime.transaction() as session:
        emails = session.scalars(select(Email).order_by(Email.to_label)).all()
        assert [e.id for e in emails] == ids
        assert [(e.to_address, e.status, e.template, e.context) for e in emails] == [
            (f"manager-{i}@school.example", "queued", "alert", {"urgency": "immediate"}) for i in range(3)]
        outbox = {m.id: m for m in session.scalars(select(OutboxMessage))}
        assert sorted(outbox) == sorted(message_id for message_id, _, _ in published)
        assert sorted(m.kwargs["email_id"] for m in outbox.values()) == sorted(ids)
        assert {m.task for m in outbox.values()} == {messages.SEND_TASK}


def test_a_batch_encrypts_each_address_once_and_every_row_reads_back_its_own(runtime):
    batch = bulk(2) + bulk(2)  # two emails to each of two managers
    with runtime.transaction() as session:
        messages.queue_emails(session, batch)

    with runtime.transaction() as session:
        stored = session.execute(text("SELECT to_label, to_address FROM emails ORDER BY to_label")).all()
        read = session.execute(select(Email.to_label, Email.to_address).order_by(Email.to_label)).all()
    tokens = {label: {token for lbl, token in stored if lbl == label} for label, _ in stored}
    assert {label: len(found) for label, found in tokens.items()} == {"staff:S-10": 1, "staff:S-11": 1}
    assert tokens["staff:S-10"] != tokens["staff:S-11"]
    assert all("@" not in token for _, token in stored)  # encrypted at rest
    assert sorted(read) == sorted((e["to_label"], e["to_address"]) for e in batch)


def one_pass(runtime) -> DispatchResult:  # type: ignore[no-untyped-def]
    """A whole pass in small batches; it must end even when a batch is all bad points."""
    results: list[DispatchResult] = []
    thread = threading.Thread(target=lambda: results.append(dispatch_timers(runtime.sessions, batch=10)), daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert results, "the pass did not end: points that failed are claimed again and again"
    return results[0]


def fired_state(runtime) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What the database holds of the reminders: pending points, and per step the count sent,
    emails (each with a live link to that step), and audit events."""
    with runtime.transaction() as session:
        step_of_case = dict(session.execute(select(Case.case_id, Step.id).join(Step, Step.case_pk == Case.id)).all())
        links = dict(session.execute(select(TaskLink.id, TaskLink.step_id)).all())
        emails = session.scalars(select(Email)).all()
        assert all(links[e.context["link_id"]] == step_of_case[e.case_id] for e in emails)
        reminded = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "step.reminded")).all()
        return {
            "pending": set(session.scalars(select(StepTimer.step_id).where(StepTimer.fired_at.is_(None)))),
            "sent": dict(session.execute(select(Step.id, Step.reminders_sent)).all()),
            "emails": Counter(step_of_case[e.case_id] for e in emails),
            "links": len(links),
            "audited": Counter(json.loads(d)["step_id"] for d in reminded),
            "chain_ok": audit.verify(session).ok,
        }


def test_a_point_that_cannot_be_fired_holds_back_none_of_its_batch_and_fires_once_when_mended(runtime):
    due_reminders(runtime, n=30)
    with runtime.transaction() as session:
        steps = session.scalars(select(Step.id).order_by(Step.id)).all()
        bad, good = set(steps[:10]), set(steps[10:])
        # An open step without a due time cannot be announced; its points are the first due, so
        # they fill the whole first batch of 10.
        session.execute(update(Step).where(Step.id.in_(bad)).values(due_at=None))
        session.execute(update(StepTimer).where(StepTimer.step_id.in_(bad))
                        .values(due_at=utcnow() - timedelta(hours=1)))

    assert one_pass(runtime).reminders == 20
    state = fired_state(runtime)
    assert state["pending"] == bad
    assert state["sent"] == {**{s: 1 for s in good}, **{s: 0 for s in bad}}
    assert state["emails"] == state["audited"] == Counter(good) and state["links"] == 20
    assert state["chain_ok"]

    assert one_pass(runtime).reminders == 0  # the next pass doubles nothing, and the bad points still wait
    assert fired_state(runtime) == state

    with runtime.transaction() as session:
        session.execute(update(Step).where(Step.id.in_(bad)).values(due_at=utcnow() + timedelta(days=3)))
    assert one_pass(runtime).reminders == 10
    mended = fired_state(runtime)
    assert mended["pending"] == set()
    assert mended["sent"] == {s: 1 for s in steps}
    assert mended["emails"] == mended["audited"] == Counter(steps) and mended["links"] == 30
    assert mended["chain_ok"]
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StepTimer).where(StepTimer.outcome == "sent")) == 30
