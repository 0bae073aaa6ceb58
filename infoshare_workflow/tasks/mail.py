"""`infoshare.mail.send`: send one queued email, exactly once, or give it up on the record.

The claim (a lease on the email row) is committed before the SMTP conversation, and the
"sent" mark right after it, so a re-delivered or retried task never sends a second copy.
A transient failure (a 4xx reply, a dropped or refused connection, a timeout) releases the
claim and retries with backoff; a permanent one (a 5xx reply), or a transient one on the
last attempt, marks the email `failed`, audited, and a failed email is never claimed again
(mail/delivery.py). An email that cannot be written (a school's template that does not
render, a notice row gone) is failed at once too: rendering again gives the same error, and
an email left queued would be re-published by the outbox after every lease, for ever.
A data-subject notice follows its email, in the same transaction.
"""

from __future__ import annotations

import itertools
import logging
import smtplib
import time
from email.message import EmailMessage

from celery import Task, shared_task
from jinja2 import TemplateError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from infoshare_workflow.mail import delivery, messages
from infoshare_workflow.mail.notices import mark_notice, notice_context
from infoshare_workflow.mail.rendering import Renderer
from infoshare_workflow.mail.transport import transport_for
from infoshare_workflow.monitoring.metrics import count_failed_email
from infoshare_workflow.records import audit
from infoshare_workflow.settings.config import Settings
from infoshare_workflow.storage import outbox
from infoshare_workflow.storage.models import Email
from infoshare_workflow.storage.runtime import Runtime
from infoshare_workflow.tasks import runtime_of

log = logging.getLogger(__name__)


@shared_task(bind=True, name="infoshare.mail.send", max_retries=delivery.MAX_ATTEMPTS - 1)
def send_email(self: Task, email_id: str, outbox_id: str | None = None) -> str:
    runtime = runtime_of(self.app)
    claimed = time.monotonic()  # no later than the claim: its lease runs from about now
    with runtime.transaction() as session:
        email = messages.claim(session, email_id, runtime.lease)
        if email is None:
            if messages.is_finished(session, email_id):
                outbox.mark_done(session, outbox_id)
            return "skipped"
        case_id, template, label, attempts = email.case_id, email.template, email.to_label, email.attempts
        message, error = _written(runtime.settings, session, email)
        if message is None:
            failed = _fail(session, email_id, outbox_id, case_id, template, label, error)
    if message is None:
        if failed:
            count_failed_email(template)
            log.error("email %s failed: template=%s case=%s error=%s (cannot be rendered)", email_id, template,
                      case_id, error)
        return "failed"
    try:
        transport_for(runtime.settings).send(message)
    except (smtplib.SMTPException, OSError) as exc:
        failure = delivery.classify(exc)
        if delivery.gives_up(failure, attempts=attempts, retries=self.request.retries or 0):
            with runtime.transaction() as session:
                failed = _fail(session, email_id, outbox_id, case_id, template, label, failure.error)
            if failed:
                count_failed_email(template)
                log.warning("email %s failed: template=%s case=%s error=%s attempts=%d %s", email_id, template,
                            case_id, failure.error, attempts, "permanent" if failure.permanent else "transient")
            return "failed"
        countdown = delivery.backoff(self.request.retries or 0)
        with runtime.transaction() as session:
            messages.release(session, email_id)
            outbox.record_error(session, outbox_id, failure.error)
            outbox.postpone(session, outbox_id, countdown)  # the relay waits for this retry
        log.warning("email %s not sent (%s); retrying", email_id, failure.error)
        raise self.retry(exc=delivery.NotDelivered(failure.error), countdown=countdown) from exc
    _record_sent(runtime, claimed + runtime.lease.total_seconds() * 0.8, email_id, outbox_id, case_id, template,
                 label)
    log.info("email %s sent: template=%s case=%s", email_id, template, case_id)
    return "sent"


def _record_sent(runtime: Runtime, deadline: float, email_id: str, outbox_id: str | None, case_id: str | None,
                 template: str, label: str) -> None:
    """The email is in the recipient's server: record it, retrying a database that went away
    mid-send for as long as our claim holds. Giving up at once would leave the email
    `sending`, and once the claim ran out the relay's next attempt would send a second copy
    (tests/faults/test_database_outage.py). A retry first checks whether the commit landed
    though its answer was lost, so the audit trail says "sent" once."""
    pause = 0.2
    for attempt in itertools.count():
        try:
            with runtime.transaction() as session:
                if attempt and messages.is_sent(session, email_id):
                    return
                messages.mark_sent(session, email_id)
                outbox.mark_done(session, outbox_id)
                audit.append(session, actor="system", action="email.sent", case_id=case_id,
                             details={"email_id": email_id, "template": template, "to": label})
                for notice_id in mark_notice(session, email_id, "sent"):
                    audit.append(session, actor="system", action="notice.sent", case_id=case_id,
                                 details={"notice_id": notice_id, "email_id": email_id})
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause >= deadline:
                raise
            log.warning("email %s sent but not yet recorded: database unavailable; retrying", email_id)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _written(settings: Settings, session: Session, email: Email) -> tuple[EmailMessage | None, str]:
    """The message, or the name of the template error that stops it being written: named by
    its class only, since a template error's text can quote the context it was given."""
    try:
        return Renderer(settings).render(email, extra=notice_context(session, email)), ""
    except TemplateError as exc:
        return None, type(exc).__name__


def _fail(session: Session, email_id: str, outbox_id: str | None, case_id: str | None, template: str, label: str,
          error: str) -> bool:
    """The email, and its notice if it has one, failed on the record: no address, no server text.
    Its outbox message is done either way, so the relay stops publishing it."""
    outbox.record_error(session, outbox_id, error)
    outbox.mark_done(session, outbox_id)
    if not messages.mark_failed(session, email_id, error):
        return False  # sent or failed meanwhile, by an attempt that took over after the lease
    audit.append(session, actor="system", action="email.failed", case_id=case_id,
                 details={"email_id": email_id, "template": template, "to": label, "error": error})
    for notice_id in mark_notice(session, email_id, "failed", error=error):
        audit.append(session, actor="system", action="notice.failed", case_id=case_id,
                     details={"notice_id": notice_id, "email_id": email_id})
    return True
