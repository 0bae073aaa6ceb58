"""Signed, expiring, single-use links for task pages and disclosures.

RELIABILITY.md "Signed links": one salt per purpose so a task token cannot open a
disclosure; the token carries only an opaque random id (nothing personal, golden rule 6);
single use is a server-side claim, never the signature alone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from infoshare_workflow.storage.models import Step, TaskLink, utcnow

TASK_SALT = "infoshare.task-link"
DISCLOSURE_SALT = "infoshare.disclosure-link"
CSRF_SALT = "infoshare.form-csrf"
RECEIPT_SALT = "infoshare.answer-receipt"  # the confirmation page: which step was just answered


class LinkState(Enum):
    UNKNOWN = "unknown"  # forged, mangled or never issued: 404
    GONE = "gone"        # expired, answered, or the task closed: 410
    LIVE = "live"


def new_link_id() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class LinkSigner:
    secret_key: str

    def _serializer(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt=salt)

    def sign(self, link_id: str, salt: str) -> str:
        return self._serializer(salt).dumps(link_id)

    def unsign(self, token: str, salt: str, max_age: timedelta) -> tuple[LinkState, str | None]:
        try:
            return LinkState.LIVE, self._serializer(salt).loads(token, max_age=int(max_age.total_seconds()))
        except SignatureExpired:
            return LinkState.GONE, None
        except BadSignature:
            return LinkState.UNKNOWN, None


def one_time_code(secret_key: str, link_id: str, nonce: str) -> str:
    """The six digits a disclosure's reveal needs, derived from a random nonce with the signing key:
    the database keeps the nonce, never the code."""
    digest = hmac.new(secret_key.encode(), f"disclosure-code.{link_id}.{nonce}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def task_link_row(step_id: int, assignee: str | None, expires_at: datetime) -> dict[str, Any]:
    """One link's row, its id drawn now: a batch can name the link in its email before inserting it."""
    return {"id": new_link_id(), "step_id": step_id, "assignee": assignee or "", "expires_at": expires_at,
            "created_at": utcnow()}


def issue_task_link(session: Session, step: Step, expires_at: datetime) -> TaskLink:
    link = TaskLink(**task_link_row(step.id, step.assignee, expires_at))
    session.add(link)
    return link


def issue_task_links(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many links (rows from `task_link_row`) in one multi-row statement: the dispatcher's
    reminders each carry a fresh link, and one ORM object per link cost more than the database."""
    if rows:
        session.execute(insert(TaskLink.__table__), list(rows))


def task_link_state(link: TaskLink | None, step: Step | None, now: datetime | None = None) -> LinkState:
    if link is None or step is None:
        return LinkState.UNKNOWN
    now = now or utcnow()
    if link.used_at is not None or link.expires_at <= now or step.status != "open" or step.assignee != link.assignee:
        return LinkState.GONE
    return LinkState.LIVE


def claim_task_link(session: Session, link_id: str) -> bool:
    """Use the link once: an atomic UPDATE, so two submissions cannot both win."""
    now = utcnow()
    result = session.execute(
        update(TaskLink)
        .where(TaskLink.id == link_id, TaskLink.used_at.is_(None), TaskLink.expires_at > now)
        .values(used_at=now)
    )
    return result.rowcount == 1


def close_links(session: Session, step_id: int) -> None:
    """A closed task's links stop working at once ("and always when the task closes")."""
    now = utcnow()
    session.execute(update(TaskLink).where(TaskLink.step_id == step_id, TaskLink.expires_at > now)
                    .values(expires_at=now))
