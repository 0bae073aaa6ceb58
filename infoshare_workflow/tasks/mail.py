"""`infoshare.mail.send`: send one queued email, exactly once.

The claim (a lease on the email row) is committed before the SMTP conversation, and the
"sent" mark right after it, so a re-delivered or retried task never sends a second copy.
SMTP and network errors retry with backoff; the claim is released first.
"""

from __future__ import annotations

import logging
import smtplib

from celery import Task, shared_task

from infoshare_workflow.mail import messages
from infoshare_workflow.mail.rendering import Renderer
from infoshare_workflow.mail.transport import transport_for
from infoshare_workflow.records import audit
from infoshare_workflow.storage import outbox
from infoshare_workflow.tasks import runtime_of

log = logging.getLogger(__name__)


@shared_task(bind=True, name="infoshare.mail.send", max_retries=8)
def send_email(self: Task, email_id: str, outbox_id: str | None = None) -> str:
    runtime = runtime_of(self.app)
    with runtime.transaction() as session:
        email = messages.claim(session, email_id, runtime.lease)
        if email is None:
            if messages.is_sent(session, email_id):
                outbox.mark_done(session, outbox_id)
            return "skipped"
        message = Renderer(runtime.settings).render(email)
        case_id, template, label = email.case_id, email.template, email.to_label
    try:
        transport_for(runtime.settings).send(message)
    except (smtplib.SMTPException, OSError) as exc:
        with runtime.transaction() as session:
            messages.release(session, email_id)
            outbox.record_error(session, outbox_id, f"{type(exc).__name__}")
        log.warning("email %s not sent (%s); retrying", email_id, type(exc).__name__)
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, 300)) from exc
    with runtime.transaction() as session:
        messages.mark_sent(session, email_id)
        outbox.mark_done(session, outbox_id)
        audit.append(session, actor="system", action="email.sent", case_id=case_id,
                     details={"email_id": email_id, "template": template, "to": label})
    log.info("email %s sent: template=%s case=%s", email_id, template, case_id)
    return "sent"

