"""Email rows: claimed once at a time, marked sent, or given up as `failed` with a reply code or an
error class, and never claimed again once sent or failed."""

from __future__ import annotations

from datetime import timedelta

from infoshare_workflow.mail import messages
from infoshare_workflow.storage.models import Email

LEASE = timedelta(minutes=5)


def queued(runtime, template: str = "alert") -> str:
    with runtime.transaction() as session:
        return messages.queue_email(session, template=template, to_address="head@school.example",
                                    to_label="staff:S-09", case_id="IS-ABCDEFGHJK", context={}).id


def test_a_failed_email_records_when_and_the_code_and_lets_its_claim_go(runtime):
    email_id = queued(runtime)
    with runtime.transaction() as session:
        assert messages.claim(session, email_id, LEASE) is not None
        assert messages.mark_failed(session, email_id, "550") is True
    with runtime.transaction() as session:
        email = session.get(Email, email_id)
        assert (email.status, email.error, email.claimed_until, email.sent_at) == ("failed", "550", None, None)
        assert email.failed_at is not None


def test_a_failed_email_is_never_claimed_again(runtime):
    email_id = queued(runtime)
    with runtime.transaction() as session:
        messages.claim(session, email_id, LEASE)
        messages.mark_failed(session, email_id, "ConnectionRefusedError")
    with runtime.transaction() as session:
        assert messages.claim(session, email_id, LEASE) is None
        assert messages.is_finished(session, email_id) and not messages.is_sent(session, email_id)
        assert session.get(Email, email_id).attempts == 1


def test_a_sent_email_is_not_marked_failed(runtime):
    email_id = queued(runtime)
    with runtime.transaction() as session:
        messages.claim(session, email_id, LEASE)
        messages.mark_sent(session, email_id)
    with runtime.transaction() as session:
        assert messages.mark_failed(session, email_id, "451") is False
    with runtime.transaction() as session:
        email = session.get(Email, email_id)
        assert (email.status, email.error, email.failed_at) == ("sent", None, None)


def test_a_released_email_is_claimed_again_by_the_next_attempt(runtime):
    email_id = queued(runtime)
    with runtime.transaction() as session:
        messages.claim(session, email_id, LEASE)
        messages.release(session, email_id)
    with runtime.transaction() as session:
        assert messages.claim(session, email_id, LEASE).attempts == 2


def test_failed_emails_are_counted_by_template(runtime):
    ids = [queued(runtime, "alert"), queued(runtime, "alert"), queued(runtime, "task"), queued(runtime, "task")]
    with runtime.transaction() as session:
        for email_id in ids[:3]:
            messages.mark_failed(session, email_id, "550")
    with runtime.transaction() as session:
        assert messages.failed_counts(session) == {"alert": 2, "task": 1}
