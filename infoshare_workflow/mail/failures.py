"""Failed emails seen from outside: listed, and sent again once whatever stopped them is fixed.

An email fails for good after a 5xx reply or after every retry of a transient failure,
about four minutes (mail/delivery.py). Both can be the school's own fault rather than the
address's: a wrong SMTP password (535) or a relay down for an hour fails every email at
once, and a DSL would never hear of a child's concern (golden rule 5). So failed emails are
counted in /metrics, listed by `infoshare mail list`, and queued again by `infoshare mail
retry` with fresh attempts, each audited (golden rule 7). Only the template, the label and
the failure's code are shown, never the address.

Not sent again: an email whose address was erased with its case or pupil (there is nobody
to send it to), and a privacy notice, which the next `privacy_notices` run sends afresh
(notices/privacy.py). A sharing notice follows its email back to `queued`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.mail.messages import SEND_TASK
from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import Email, Notice
from infoshare_workflow.storage.outbox import enqueue


@dataclass(frozen=True)
class FailedEmail:
    id: str
    template: str
    to: str  # the label (`staff:S-02`, `recipient:3`, `contact`), never the address
    case_id: str | None
    attempts: int
    failed_at: datetime | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"email_id": self.id, "template": self.template, "to": self.to, "case_id": self.case_id,
                "attempts": self.attempts, "failed_at": self.failed_at, "error": self.error}


class UnknownEmails(LookupError):
    """Some ids name no email that can be sent again."""

    def __init__(self, email_ids: Sequence[str]) -> None:
        super().__init__(", ".join(email_ids))
        self.email_ids = list(email_ids)


def _resendable(session: Session, email_ids: Sequence[str] | None = None) -> list[Email]:
    """Failed emails (of `email_ids`, if given), oldest failure first, except a privacy notice (the
    next notices run sends those afresh) and one whose address was erased."""
    privacy = exists().where(Notice.email_id == Email.id, Notice.kind == "privacy")
    query = select(Email).where(Email.status == "failed", ~privacy)
    if email_ids is not None:
        query = query.where(Email.id.in_(set(email_ids)))
    return [email for email in session.scalars(query.order_by(Email.failed_at, Email.id)) if email.to_address]


def failed_emails(session: Session) -> list[FailedEmail]:
    """The emails that can be sent again, oldest failure first."""
    return [FailedEmail(e.id, e.template, e.to_label, e.case_id, e.attempts, e.failed_at, e.error)
            for e in _resendable(session)]


def resend(session: Session, email_ids: Sequence[str] | None, *, actor: str) -> list[str]:
    """Queue failed emails again with fresh attempts (every one `failed_emails` lists when
    `email_ids` is None); a worker sends each through the outbox as it sent the first time.
    Raises UnknownEmails, changing nothing, for an id that names no such email."""
    found = _resendable(session, email_ids)
    missing = sorted(set(email_ids or ()) - {email.id for email in found})
    if missing:
        raise UnknownEmails(missing)
    for email in found:
        email.status, email.attempts, email.claimed_until, email.failed_at, email.error = "queued", 0, None, None, None
        session.execute(update(Notice).where(Notice.email_id == email.id, Notice.status == "failed")
                        .values(status="queued", failed_at=None, error=None))
        enqueue(session, SEND_TASK, email_id=email.id)
        audit.append(session, actor=actor, action="email.resent", case_id=email.case_id,
                     details={"email_id": email.id, "template": email.template, "to": email.to_label})
    return [email.id for email in found]
