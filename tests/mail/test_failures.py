"""Failed emails can be sent again once the cause is fixed: listed without their addresses,
queued with fresh attempts through the outbox, audited; never an email erased with its case or
pupil, nor a privacy notice (the next notices run sends those afresh); an id that names no
such email changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from infoshare_workflow.mail import messages
from infoshare_workflow.mail.failures import UnknownEmails, failed_emails, resend
from infoshare_workflow.mail.notices import queue_notice
from infoshare_workflow.storage.models import AuditEvent, Email, Notice, OutboxMessage

LEASE = timedelta(minutes=5)


def failed(runtime, to: str = "head@school.example", error: str = "535") -> str:
    """An email given up after the server refused it (a wrong SMTP password answers 535)."""
    with runtime.transaction() as session:
        email_id = messages.queue_email(session, template="task", to_address=to, to_label="staff:S-02",
                                        case_id="IS-ABCDEFGHJK", context={}).id
    with runtime.transaction() as session:
        messages.claim(session, email_id, LEASE)
        assert messages.mark_failed(session, email_id, error)
    return email_id


def state(runtime, email_id: str) -> tuple:
    with runtime.transaction() as session:
        email = session.get(Email, email_id)
        return email.status, email.attempts, email.error, email.failed_at is None


def test_a_failed_email_is_listed_by_its_label_and_code_never_its_address(runtime):
    email_id = failed(runtime)

    with runtime.transaction() as session:
        [listed] = [e.as_dict() for e in failed_emails(session)]
    assert {k: listed[k] for k in ("email_id", "template", "to", "case_id", "attempts", "error")} == {
        "email_id": email_id, "template": "task", "to": "staff:S-02", "case_id": "IS-ABCDEFGHJK", "attempts": 1,
        "error": "535"}
    assert "head@" not in json.dumps(listed, default=str)


def test_sending_again_queues_the_email_with_fresh_attempts_through_the_outbox_and_audits_it(runtime):
    email_id = failed(runtime)

    with runtime.transaction() as session:
        assert resend(session, None, actor="cli:ops") == [email_id]

    assert state(runtime, email_id) == ("queued", 0, None, True)
    with runtime.transaction() as session:
        assert [m.kwargs for m in session.scalars(select(OutboxMessage).where(OutboxMessage.done_at.is_(None)))
                if m.task == messages.SEND_TASK][-1] == {"email_id": email_id}
        [(actor, details)] = session.execute(select(AuditEvent.actor, AuditEvent.details)
                                             .where(AuditEvent.action == "email.resent")).all()
        assert failed_emails(session) == []
    assert (actor, json.loads(details)) == ("cli:ops", {"email_id": email_id, "template": "task", "to": "staff:S-02"})


def test_an_id_that_names_no_failed_email_is_refused_and_nothing_changes(runtime):
    email_id = failed(runtime)
    with runtime.transaction() as session:
        sent_id = messages.queue_email(session, template="task", to_address="a@school.example", to_label="staff:S-03",
                                       case_id=None, context={}).id
        messages.mark_sent(session, sent_id)

    with pytest.raises(UnknownEmails) as refused, runtime.transaction() as session:
        resend(session, [email_id, sent_id, "no-such-email"], actor="cli:ops")

    assert refused.value.email_ids == sorted([sent_id, "no-such-email"])
    assert state(runtime, email_id) == ("failed", 1, "535", False)


def test_an_erased_address_and_a_privacy_notice_are_not_sent_again(runtime):
    erased = failed(runtime)
    with runtime.transaction() as session:  # as review.erasure leaves an email of a disposed case
        session.execute(update(Email).where(Email.id == erased).values(to_address=""))
        notice = queue_notice(session, kind="privacy", address="parent@example.org", addressee="contact",
                              language="en", relationship="mother")
        notice_email = notice.email_id
    with runtime.transaction() as session:
        messages.claim(session, notice_email, LEASE)
        messages.mark_failed(session, notice_email, "550")

    with runtime.transaction() as session:
        assert failed_emails(session) == [] and resend(session, None, actor="cli:ops") == []
    with pytest.raises(UnknownEmails), runtime.transaction() as session:
        resend(session, [notice_email], actor="cli:ops")
    assert state(runtime, erased)[0] == state(runtime, notice_email)[0] == "failed"


def test_a_sharing_notice_goes_back_to_queued_with_its_email(runtime):
    with runtime.transaction() as session:
        notice = queue_notice(session, kind="sharing", address="parent@example.org", addressee="contact",
                              language="en", relationship="mother")
        notice_id, email_id = notice.id, notice.email_id
        session.execute(update(Notice).where(Notice.id == notice_id).values(status="failed", error="550"))
        session.execute(update(Email).where(Email.id == email_id).values(status="failed", error="550"))

    with runtime.transaction() as session:
        assert resend(session, [email_id], actor="cli:ops") == [email_id]
        notice_row = session.get(Notice, notice_id)
        assert (notice_row.status, notice_row.error) == ("queued", None)
