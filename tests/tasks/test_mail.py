"""`infoshare.mail.send` against a real SMTP server that refuses as it is told: a 5xx reply fails
the email at once, a 4xx reply or a server that is down is tried again with backoff and fails
after the last attempt, a failed email is never sent by a task delivered again, and a notice
follows its email. Tasks run in-process (`apply`), where Celery runs each retry at once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from infoshare_workflow.mail.delivery import MAX_ATTEMPTS
from infoshare_workflow.mail.failures import resend
from infoshare_workflow.mail.messages import queue_email
from infoshare_workflow.mail.notices import queue_notice
from infoshare_workflow.records import audit
from infoshare_workflow.service.app import create_app
from infoshare_workflow.storage.models import AuditEvent, Email, Notice, OutboxMessage
from infoshare_workflow.storage.outbox import claim_due

from ..smtp import RefusingInbox, smtp_server, unreachable_smtp_url

CASE = "IS-ABCDEFGHJK"
ADDRESS = "head@school.example"
PARENT = "ottoline@example.org"


@pytest.fixture
def server() -> Iterator[RefusingInbox]:
    with smtp_server(RefusingInbox()) as (inbox, url):
        inbox.url = url  # type: ignore[attr-defined]
        yield inbox  # type: ignore[misc]


@pytest.fixture
def settings(settings, server):  # type: ignore[no-untyped-def]
    return replace(settings, smtp_url=server.url)


def queued(runtime, template: str = "alert", to: str = ADDRESS) -> str:
    with runtime.transaction() as session:
        return queue_email(session, template=template, to_address=to, to_label="staff:S-09", case_id=CASE,
                           context={}).id


def run_outbox(app) -> list[str]:
    """Run each outbox task due, in-process, as the worker would; their results."""
    runtime, celery = app.extensions["infoshare"], app.extensions["infoshare.celery"]
    celery.loader.import_default_modules()
    with runtime.transaction() as session:
        due = [(m.id, m.task, dict(m.kwargs)) for m in claim_due(session, timedelta(0))]
    results = []
    for message_id, task, kwargs in due:
        result = celery.tasks[task].apply(kwargs={**kwargs, "outbox_id": message_id})
        assert result.successful(), result.traceback
        results.append(result.result)
    return results


def send_again(app, email_id: str) -> str:
    """The same task delivered again (Redis after its visibility timeout, or the relay)."""
    celery = app.extensions["infoshare.celery"]
    return celery.tasks["infoshare.mail.send"].apply(kwargs={"email_id": email_id}).result


def email(runtime, email_id: str) -> Email:
    with runtime.transaction() as session:
        found = session.get(Email, email_id)
        session.expunge(found)
        return found


def ours(caplog) -> str:
    """What the product and Celery logged (the test server's own `mail.log` is not the product's)."""
    return "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))


def events(runtime, action: str, case: str | None = CASE) -> list[dict]:
    """The details of each audit event `action` on the case (or on none)."""
    with runtime.transaction() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.case_id.is_(None)
                                                        if case is None else AuditEvent.case_id == case)
                               .order_by(AuditEvent.seq))
        return [json.loads(e.details) for e in rows]


def test_a_mailbox_refused_for_good_fails_after_one_attempt_and_is_not_retried(app, runtime, server):
    server.refuse("550 5.1.1 mailbox unavailable", at="RCPT")
    email_id = queued(runtime)

    assert run_outbox(app) == ["failed"]

    assert server.refusals == 1 and server.messages == []
    failed = email(runtime, email_id)
    assert (failed.status, failed.error, failed.attempts, failed.claimed_until) == ("failed", "550", 1, None)
    assert failed.failed_at is not None


def test_a_failed_email_is_audited_without_its_address_or_the_servers_words(app, runtime, server):
    server.refuse("550 5.1.1 mailbox unavailable", at="RCPT")
    email_id = queued(runtime)
    run_outbox(app)

    [details] = events(runtime, "email.failed")
    assert details == {"email_id": email_id, "template": "alert", "to": "staff:S-09", "error": "550"}
    with runtime.transaction() as session:
        assert audit.verify(session).ok


def test_a_failure_is_one_warning_line_naming_the_email_and_its_code_only(app, runtime, server, caplog):
    caplog.set_level(logging.INFO)
    server.refuse("550 5.1.1 mailbox unavailable", at="DATA")
    email_id = queued(runtime)
    run_outbox(app)

    warnings = [r.getMessage() for r in caplog.records
                if r.name == "infoshare_workflow.tasks.mail" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert email_id in warnings[0] and "alert" in warnings[0] and CASE in warnings[0] and "550" in warnings[0]
    assert ADDRESS not in ours(caplog) and "mailbox unavailable" not in ours(caplog)


def test_a_failed_email_leaves_the_outbox_so_the_relay_stops_sending_it(app, runtime, server):
    server.refuse("554 5.7.1 message refused", at="DATA")
    queued(runtime)
    run_outbox(app)

    with runtime.transaction() as session:
        [row] = session.scalars(select(OutboxMessage)).all()
        assert row.done_at is not None and row.last_error == "554"
    assert run_outbox(app) == []


def test_a_server_saying_try_later_every_time_fails_the_email_after_the_last_attempt(app, runtime, server, caplog):
    caplog.set_level(logging.INFO)
    server.refuse("451 4.3.0 try later", at="RCPT")
    email_id = queued(runtime)

    assert run_outbox(app) == ["failed"]

    assert server.refusals == MAX_ATTEMPTS and server.messages == []
    failed = email(runtime, email_id)
    assert (failed.status, failed.error, failed.attempts) == ("failed", "451", MAX_ATTEMPTS)
    assert [d["error"] for d in events(runtime, "email.failed")] == ["451"]
    assert ADDRESS not in ours(caplog) and "try later" not in ours(caplog)  # Celery's retry lines included


def test_try_later_twice_then_accepted_is_sent_exactly_once(app, runtime, server):
    server.refuse("451 4.3.0 try later", at="RCPT", times=2)
    email_id = queued(runtime)

    assert run_outbox(app) == ["sent"]

    assert server.refusals == 2 and len(server.to(ADDRESS)) == 1
    sent = email(runtime, email_id)
    assert (sent.status, sent.attempts, sent.error, sent.failed_at) == ("sent", 3, None, None)
    assert events(runtime, "email.failed") == [] and len(events(runtime, "email.sent")) == 1


def test_a_server_that_is_down_fails_the_email_after_the_last_attempt(runtime, settings):
    app = create_app(replace(settings, smtp_url=unreachable_smtp_url()))
    try:
        email_id = queued(runtime)
        assert run_outbox(app) == ["failed"]
    finally:
        app.extensions["infoshare"].engine.dispose()

    failed = email(runtime, email_id)
    assert (failed.status, failed.error, failed.attempts) == ("failed", "ConnectionRefusedError", MAX_ATTEMPTS)


def test_a_task_delivered_again_for_a_failed_email_sends_nothing_and_records_nothing(app, runtime, server):
    server.refuse("550 5.1.1 mailbox unavailable", at="RCPT", times=1)
    email_id = queued(runtime)
    run_outbox(app)

    assert send_again(app, email_id) == "skipped"

    assert server.refusals == 1 and server.messages == []
    assert email(runtime, email_id).attempts == 1
    assert len(events(runtime, "email.failed")) == 1


def test_a_task_delivered_afresh_after_the_last_attempt_gives_up_at_once(app, runtime, server):
    """The relay publishes the task again when a retry message is lost; its retries start at 0,
    but the email's own count of attempts ends it."""
    server.refuse("451 4.3.0 try later", at="RCPT")
    email_id = queued(runtime)
    with runtime.transaction() as session:
        session.get(Email, email_id).attempts = MAX_ATTEMPTS - 1

    assert send_again(app, email_id) == "failed"

    assert server.refusals == 1
    assert (email(runtime, email_id).status, email(runtime, email_id).attempts) == ("failed", MAX_ATTEMPTS)


def privacy_notice(runtime) -> tuple[int, str]:
    with runtime.transaction() as session:
        notice = queue_notice(session, kind="privacy", address=PARENT, addressee="contact", language="en",
                              relationship="mother")
        return notice.id, notice.email_id


def notice_row(runtime, notice_id: int) -> Notice:
    with runtime.transaction() as session:
        found = session.get(Notice, notice_id)
        session.expunge(found)
        return found


def test_a_notice_is_sent_with_its_email_and_audited(app, runtime, server):
    notice_id, email_id = privacy_notice(runtime)

    assert run_outbox(app) == ["sent"]

    assert len(server.to(PARENT)) == 1
    notice = notice_row(runtime, notice_id)
    assert (notice.status, notice.error, notice.failed_at) == ("sent", None, None) and notice.sent_at is not None
    assert events(runtime, "notice.sent", case=None) == [{"notice_id": notice_id, "email_id": email_id}]


def test_a_notice_whose_email_is_refused_fails_with_it_and_is_audited(app, runtime, server):
    server.refuse("550 5.1.1 mailbox unavailable", at="RCPT")
    notice_id, email_id = privacy_notice(runtime)

    assert run_outbox(app) == ["failed"]

    notice = notice_row(runtime, notice_id)
    assert (notice.status, notice.error, notice.sent_at) == ("failed", "550", None) and notice.failed_at is not None
    assert events(runtime, "notice.failed", case=None) == [{"notice_id": notice_id, "email_id": email_id}]
    assert events(runtime, "email.failed", case=None)[0]["to"] == "contact:notice"
    assert PARENT not in json.dumps(events(runtime, "email.failed", case=None))


def test_a_notice_whose_email_keeps_failing_fails_after_the_last_attempt(app, runtime, server):
    server.refuse("451 4.3.0 try later", at="DATA")
    notice_id, _ = privacy_notice(runtime)

    run_outbox(app)

    assert server.refusals == MAX_ATTEMPTS
    assert (notice_row(runtime, notice_id).status, notice_row(runtime, notice_id).error) == ("failed", "451")


def test_a_sharing_notice_is_written_from_its_own_content(app, runtime, server):
    with runtime.transaction() as session:
        notice = queue_notice(session, kind="sharing", address=PARENT, addressee="contact", language="en",
                              case_id=CASE, content={
                                  "case_id": CASE, "shared_at": "2026-11-24T10:00:00+00:00", "items": ["summary"],
                                  "agencies": [{"name": "Northfield Early Help Hub", "kind": "early_help"}],
                                  "purpose": None, "lawful_basis": None, "condition": None})
        notice_id = notice.id

    assert run_outbox(app) == ["sent"]

    [message] = server.to(PARENT)
    assert "Northfield Early Help Hub" in message.get_body(("plain",)).get_content()
    assert notice_row(runtime, notice_id).status == "sent"
    assert [e["notice_id"] for e in events(runtime, "notice.sent")] == [notice_id]


# An email that cannot be written -------------------------------------------------------------

def broken_privacy_notice(tmp_path) -> str:
    """A school's own privacy notice with a mistake in it: a name the notice is never given."""
    folder = tmp_path / "school-templates" / "notices" / "en"
    folder.mkdir(parents=True)
    (folder / "privacy_notice.txt").write_text("Dear {{ parent_first_name }}")
    return str(tmp_path / "school-templates")


def test_a_notice_the_schools_template_cannot_write_fails_at_once_and_leaves_the_outbox(
        runtime, settings, server, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    app = create_app(replace(settings, template_dir=broken_privacy_notice(tmp_path)))
    try:
        notice_id, email_id = privacy_notice(runtime)
        assert run_outbox(app) == ["failed"]
        assert run_outbox(app) == []  # the relay does not publish it again
        assert send_again(app, email_id) == "skipped"
    finally:
        app.extensions["infoshare"].engine.dispose()

    assert server.messages == []
    failed = email(runtime, email_id)
    assert (failed.status, failed.error, failed.attempts, failed.claimed_until) == ("failed", "UndefinedError", 1, None)
    notice = notice_row(runtime, notice_id)
    assert (notice.status, notice.error) == ("failed", "UndefinedError")
    assert events(runtime, "email.failed", case=None) == [
        {"email_id": email_id, "template": "privacy_notice", "to": "contact:notice", "error": "UndefinedError"}]
    assert events(runtime, "notice.failed", case=None) == [{"notice_id": notice_id, "email_id": email_id}]
    assert PARENT not in ours(caplog) and "parent_first_name" not in ours(caplog)


def test_a_sharing_notice_whose_notice_row_is_gone_fails_rather_than_waiting_for_ever(app, runtime, server):
    with runtime.transaction() as session:
        email_id = queue_email(session, template="sharing_notice", to_address=PARENT, to_label="contact:notice",
                               case_id=CASE, context={"notice_id": 987654, "language": "en"}).id

    assert run_outbox(app) == ["failed"]

    assert server.messages == []
    assert (email(runtime, email_id).status, email(runtime, email_id).error) == ("failed", "UndefinedError")
    assert [e["email_id"] for e in events(runtime, "email.failed")] == [email_id]


def scrape(client, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """One metric's samples from the web app's /metrics, by their labels."""
    text = client.get("/metrics").get_data(as_text=True)
    return {tuple(sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples if s.name == name}


def test_failed_emails_show_in_metrics_by_template_read_from_the_database(app, client, runtime, server):
    assert scrape(client, "infoshare_failed_emails")[(("template", "alert"),)] == 0
    counted = scrape(client, "infoshare_emails_failed_total").get((("template", "alert"),), 0.0)
    server.refuse("550 5.1.1 mailbox unavailable", at="RCPT")
    queued(runtime), queued(runtime)

    run_outbox(app)

    failed = scrape(client, "infoshare_failed_emails")
    assert failed[(("template", "alert"),)] == 2 and failed[(("template", "task"),)] == 0
    assert scrape(client, "infoshare_emails_failed_total")[(("template", "alert"),)] == counted + 2


def test_notices_show_in_metrics_by_kind_and_status(app, client, runtime, server):
    server.refuse("550 5.1.1 mailbox unavailable", at="RCPT", times=1)
    privacy_notice(runtime)
    run_outbox(app)
    with runtime.transaction() as session:
        queue_notice(session, kind="privacy", address="pupil@example.org", addressee="pupil", language="cy")
    run_outbox(app)

    notices = scrape(client, "infoshare_notices")
    assert notices[(("kind", "privacy"), ("status", "failed"))] == 1
    assert notices[(("kind", "privacy"), ("status", "sent"))] == 1
    assert notices[(("kind", "sharing"), ("status", "queued"))] == 0
    assert len(notices) == 12  # every kind and status, 0 when none
    assert PARENT not in client.get("/metrics").get_data(as_text=True)


def test_emails_failed_by_a_wrong_smtp_password_are_each_sent_once_when_sent_again_after_the_fix(app, runtime, server):
    server.refuse("535 5.7.8 authentication credentials invalid", at="RCPT")  # the school's fault, not the address's
    email_ids = [queued(runtime), queued(runtime, to="dsl@school.example")]
    assert run_outbox(app) == ["failed", "failed"]

    server.accept()  # the password is put right
    with runtime.transaction() as session:
        assert sorted(resend(session, None, actor="cli:ops")) == sorted(email_ids)
    assert run_outbox(app) == ["sent", "sent"]
    assert run_outbox(app) == [] and send_again(app, email_ids[0]) == "skipped"

    assert len(server.to(ADDRESS)) == len(server.to("dsl@school.example")) == 1
    assert [email(runtime, e).status for e in email_ids] == ["sent", "sent"]
    assert sorted(e["email_id"] for e in events(runtime, "email.resent")) == sorted(email_ids)
