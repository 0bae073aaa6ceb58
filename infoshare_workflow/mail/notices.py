"""Data-subject notices as rows, each queued with its email (golden rule 2, "be open and honest").

A notice goes to one addressee: a contact with parental responsibility, or the pupil. Its
row is written with its email and the email's outbox message in the caller's transaction,
so a notice is never sent without its record, nor recorded without being sent; the email
row's claim makes the sending happen once (RELIABILITY.md). The email itself carries only
the notice's id and language: what a sharing notice says lives encrypted in the notice row
(`content`) and is read when the email is rendered, never copied into the email row.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from infoshare_workflow.mail.messages import queue_email
from infoshare_workflow.storage.models import Email, Notice, utcnow

TEMPLATES = {"privacy": "privacy_notice", "sharing": "sharing_notice"}
NOTICE_TEMPLATES = frozenset(TEMPLATES.values())


def addressee_key(session: Session, address: str) -> str:
    """The same person, whatever their contact row: a keyed hash of the normalised address."""
    key: bytes = session.info["address_key"]
    return hmac.new(key, address.strip().lower().encode(), hashlib.sha256).hexdigest()


def language_of(preferred: str | None) -> str:
    """The language tag a template folder is named after: "cy-GB" and "CY" are "cy"; none is "en"."""
    tag = (preferred or "").strip().lower().replace("_", "-").split("-")[0]
    return tag if tag.isalpha() and 2 <= len(tag) <= 8 else "en"


def queue_notice(session: Session, *, kind: str, address: str, addressee: str, language: str | None,
                 case_pk: int | None = None, case_id: str | None = None, pupil_id: int | None = None,
                 relationship: str | None = None, content: dict[str, Any] | None = None,
                 run_id: int | None = None, decided_by: str | None = None) -> Notice:
    """The notice and its email, in the caller's transaction."""
    language = language_of(language)
    notice = Notice(kind=kind, status="queued", case_pk=case_pk, pupil_id=pupil_id, addressee=addressee,
                    addressee_key=addressee_key(session, address), relationship=relationship, language=language,
                    content=content, run_id=run_id, decided_by=decided_by)
    session.add(notice)
    session.flush()
    email = queue_email(session, template=TEMPLATES[kind], to_address=address, to_label=f"{addressee}:notice",
                        case_id=case_id, context={"notice_id": notice.id, "language": language})
    notice.email_id = email.id
    return notice


def record_unreachable(session: Session, *, kind: str, status: str, case_pk: int | None = None,
                       pupil_id: int | None = None, addressee: str | None = None, key: str | None = None,
                       relationship: str | None = None, run_id: int | None = None,
                       decided_by: str | None = None) -> Notice:
    """A notice that cannot be emailed (`no_email`, `no_contact`): on record, for the office."""
    notice = Notice(kind=kind, status=status, case_pk=case_pk, pupil_id=pupil_id, addressee=addressee,
                    addressee_key=key, relationship=relationship, run_id=run_id, decided_by=decided_by)
    session.add(notice)
    session.flush()
    return notice


def notice_context(session: Session, email: Email) -> dict[str, Any]:
    """What a notice's templates need beyond the email row: the notice's own content, read at
    send time from its encrypted row. Empty for any other email."""
    if email.template not in NOTICE_TEMPLATES:
        return {}
    notice_id = email.context.get("notice_id")
    notice = session.get(Notice, notice_id) if notice_id is not None else None
    if notice is None:
        return {"notice": {}, "addressee": None}
    return {"notice": dict(notice.content or {}), "addressee": notice.addressee}


def mark_notice(session: Session, email_id: str, status: str, at: datetime | None = None,
                error: str | None = None) -> list[int]:
    """Follow the email's outcome (`sent` or `failed`) on its notice; the ids of the notices changed."""
    at = at or utcnow()
    values: dict[str, Any] = {"status": status}
    if status == "sent":
        values["sent_at"] = at
    else:
        values.update(failed_at=at, error=error)
    result = session.execute(update(Notice).where(Notice.email_id == email_id, Notice.status == "queued")
                             .values(**values).returning(Notice.id))
    return [row[0] for row in result]
