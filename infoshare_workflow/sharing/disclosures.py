"""Who may open a disclosure, and when: the link, then a one-time code, each reveal on record.

Golden rule 6 ("shared securely", "only with those who need it"): a disclosure link can
travel (forwarded, logged, scanned), so the link alone shows nothing. Pressing its button
emails a six-digit code to the recipient's own address, as secure email portals do; the
code works for 10 minutes and 5 tries, and once. Every code sent, every wrong try and every
reveal is audited (golden rule 7). A disclosure dies when it is revoked, or when its
recipient leaves the directory, whatever its expiry says.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from infoshare_workflow.access.links import one_time_code
from infoshare_workflow.mail.messages import queue_email
from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import Case, Disclosure, utcnow

CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5
# A second press of the button (or a double click) within this time sends no second email.
RESEND_AFTER = timedelta(seconds=30)


class CodeCheck(Enum):
    RIGHT = "right"
    WRONG = "wrong"
    SPENT = "spent"  # none sent, expired, used, or tried too many times: send a new one


@dataclass(frozen=True)
class CodeResult:
    check: CodeCheck
    tries_left: int = 0


def is_live(disclosure: Disclosure, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return disclosure.revoked_at is None and disclosure.recipient.active and disclosure.expires_at > now


def send_code(session: Session, disclosure: Disclosure, case_id: str, now: datetime | None = None) -> bool:
    """Email a fresh code to the recipient's address; False when one went out moments ago.

    The disclosure's row is locked and read again first, so of two presses at once (two tabs,
    a double tap) the second waits and sees the first's code: one email, whose code works.
    """
    now = now or utcnow()
    session.refresh(disclosure, with_for_update=True)
    if disclosure.code_nonce and disclosure.code_sent_at and now - disclosure.code_sent_at < RESEND_AFTER:
        return False
    nonce = secrets.token_urlsafe(16)
    disclosure.code_nonce, disclosure.code_sent_at = nonce, now
    disclosure.code_expires_at, disclosure.code_tries = now + CODE_LIFETIME, 0
    queue_email(session, template="disclosure_code", to_address=disclosure.recipient.email,
                to_label=f"recipient:{disclosure.recipient_id}", case_id=case_id, context={
                    "code_for": disclosure.link_id, "code_nonce": nonce,
                    "code_expires_at": disclosure.code_expires_at.isoformat()})
    audit.append(session, actor=f"recipient:{disclosure.recipient_id}", action="disclosure.code_sent",
                 case_id=case_id, details={"disclosure_id": disclosure.id})
    return True


def check_code(session: Session, disclosure: Disclosure, code: str, secret_key: str, case_id: str,
               now: datetime | None = None) -> CodeResult:
    """Spend one try on `code`; the right one is used up, so each reveal needs a new code.

    The try is claimed with an atomic UPDATE before the comparison, so concurrent guesses
    cannot get more than MAX_TRIES comparisons out of one code.
    """
    now = now or utcnow()
    nonce = disclosure.code_nonce
    claimed = nonce is not None and session.execute(
        update(Disclosure)
        .where(Disclosure.id == disclosure.id, Disclosure.code_nonce == nonce, Disclosure.code_tries < MAX_TRIES,
               Disclosure.code_expires_at > now)
        .values(code_tries=Disclosure.code_tries + 1)
    ).rowcount == 1
    if not claimed or nonce is None:
        return CodeResult(CodeCheck.SPENT)
    if hmac.compare_digest(one_time_code(secret_key, disclosure.link_id, nonce), code):
        used = session.execute(update(Disclosure).where(Disclosure.id == disclosure.id, Disclosure.code_nonce == nonce)
                               .values(code_nonce=None)).rowcount == 1
        return CodeResult(CodeCheck.RIGHT if used else CodeCheck.SPENT)
    session.refresh(disclosure, ["code_tries"])
    audit.append(session, actor=f"recipient:{disclosure.recipient_id}", action="disclosure.code_failed",
                 case_id=case_id, details={"disclosure_id": disclosure.id, "tries": disclosure.code_tries})
    return CodeResult(CodeCheck.WRONG, max(MAX_TRIES - disclosure.code_tries, 0))


def revoke(session: Session, disclosure: Disclosure, *, actor: str, reason: str) -> bool:
    """Kill a disclosure now (it stays on record); False when it was revoked already (its row is
    locked and read again first, so two revocations at once record one)."""
    session.refresh(disclosure, with_for_update=True)
    if disclosure.revoked_at is not None:
        return False
    disclosure.revoked_at, disclosure.revoked_by, disclosure.code_nonce = utcnow(), actor[:64], None
    case_id = session.scalar(select(Case.case_id).where(Case.id == disclosure.case_pk))
    audit.append(session, actor=actor, action="disclosure.revoked", case_id=case_id, details={
        "disclosure_id": disclosure.id, "recipient_id": disclosure.recipient_id, "reason": reason})
    return True


def revoke_for_recipient(session: Session, recipient_id: int, *, actor: str) -> int:
    """A recipient who leaves the directory can open nothing more that was sent to them."""
    live = session.scalars(select(Disclosure).where(Disclosure.recipient_id == recipient_id,
                                                    Disclosure.revoked_at.is_(None),
                                                    Disclosure.expires_at > utcnow()))
    return sum(revoke(session, d, actor=actor, reason="recipient_deactivated") for d in live)


def disclosure_of_case(session: Session, case_id: str, disclosure_id: int | None) -> Disclosure | None:
    if disclosure_id is None:
        return None
    return session.scalars(select(Disclosure).join(Case, Case.id == Disclosure.case_pk)
                           .where(Case.case_id == case_id, Disclosure.id == disclosure_id)).first()
