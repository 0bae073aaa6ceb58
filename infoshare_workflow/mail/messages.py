"""Emails as rows: queued with the change that causes them, claimed, sent exactly once.

No personal data in any email (DOMAIN.md, INTERFACES.md §2): the row's context holds the
step, the case reference, the due time and the link id, nothing about the pupil or the
concern. Sending claims the row with a lease first, so a re-delivered task cannot send a
second copy while the first attempt may still be running, and a killed worker's email is
taken over later. An email the server refused for good, or that failed every attempt, is
`failed` (with the reply code or error class, never the server's text) and is never claimed
again (mail/delivery.py says which failures are final).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.storage.crypto import encrypt
from infoshare_workflow.storage.models import Email, utcnow
from infoshare_workflow.storage.outbox import enqueue, enqueue_many

SEND_TASK = "infoshare.mail.send"
FINISHED = ("sent", "failed")
# A batch's insert, its `to_address` bound as the token queue_emails encrypted (plain text, not EncryptedText).
_INSERT_ENCRYPTED = insert(Email.__table__).values(to_address=bindparam("to_address", type_=Text()))


def _email_row(*, template: str, to_address: str, to_label: str, case_id: str | None,
               context: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "template": template, "to_address": to_address, "to_label": to_label,
            "case_id": case_id, "context": context, "status": "queued", "attempts": 0,
            "created_at": now or utcnow()}


def queue_email(session: Session, *, template: str, to_address: str, to_label: str, case_id: str | None,
                context: dict[str, Any]) -> Email:
    """Write the email and its outbox row into the caller's transaction."""
    email = Email(**_email_row(template=template, to_address=to_address, to_label=to_label, case_id=case_id,
                               context=context))
    session.add(email)
    enqueue(session, SEND_TASK, email_id=email.id)
    return email


def queue_emails(session: Session, emails: Sequence[dict[str, Any]]) -> list[str]:
    """`queue_email` for a batch (each item holds its keyword arguments): the emails and their
    outbox rows in two multi-row INSERTs, so a dispatcher pass's Python time follows its database
    time instead of one ORM flush per email. The batch is queued in one moment: one `created_at`.

    Each distinct address is encrypted once per batch and its token stored in every row that
    goes to it: a pass's reminders mostly go to a few DSLs and managers, and one Fernet
    encryption per email was a third of the pass's Python time. The repeat tells a reader of
    the table nothing new: `to_label` beside it names the recipient in plain text.
    """
    now = utcnow()
    tokens = {address: encrypt(address) for address in {email["to_address"] for email in emails}}
    rows = [_email_row(**{**email, "to_address": tokens[email["to_address"]]}, now=now) for email in emails]
    if rows:
        session.execute(_INSERT_ENCRYPTED, rows)
        enqueue_many(session, SEND_TASK, [{"email_id": row["id"]} for row in rows])
    return [str(row["id"]) for row in rows]


def claim(session: Session, email_id: str, lease: timedelta) -> Email | None:
    """Take the email for sending, unless it is sent, failed, or another attempt holds a live claim."""
    now = utcnow()
    result = session.execute(
        update(Email)
        .where(Email.id == email_id, Email.status.not_in(FINISHED),
               or_(Email.claimed_until.is_(None), Email.claimed_until < now))
        .values(status="sending", claimed_until=now + lease, attempts=Email.attempts + 1)
    )
    return session.get(Email, email_id) if result.rowcount == 1 else None


def is_sent(session: Session, email_id: str) -> bool:
    found = session.get(Email, email_id)
    return found is not None and found.status == "sent"


def is_finished(session: Session, email_id: str) -> bool:
    """Sent, or failed for good: nothing more to do for it."""
    found = session.get(Email, email_id)
    return found is not None and found.status in FINISHED


def mark_sent(session: Session, email_id: str) -> None:
    session.execute(update(Email).where(Email.id == email_id).values(status="sent", sent_at=utcnow(),
                                                                      claimed_until=None))


def release(session: Session, email_id: str) -> None:
    """Give the claim back after a failed attempt, so the retry can take it at once."""
    session.execute(update(Email).where(Email.id == email_id, Email.status == "sending")
                    .values(status="queued", claimed_until=None))


def mark_failed(session: Session, email_id: str, error: str) -> bool:
    """Give the email up: `failed`, when, and why as a reply code or an error class (`error`,
    cut to its column; never the server's text). False if it was sent or failed already."""
    result = session.execute(update(Email).where(Email.id == email_id, Email.status.not_in(FINISHED))
                             .values(status="failed", failed_at=utcnow(), error=error[:64], claimed_until=None))
    return result.rowcount == 1


def failed_counts(session: Session) -> dict[str, int]:
    """Failed emails by template (a fixed name, never an address), for /metrics."""
    rows = session.execute(select(Email.template, func.count()).where(Email.status == "failed")
                           .group_by(Email.template))
    return {template: count for template, count in rows}
