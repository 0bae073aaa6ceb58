"""Legal hold: an inquiry's request to keep a case's records, whatever their review date.

DOMAIN.md "Retention": a case under legal hold can't be disposed of. A hold is skipped by
sweeps, refuses a proposal or an approval, and cancels a disposal already under way; both
ends of a hold are audited with their reason (kept encrypted, never in the audit details).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.review.disposals import cancel, live_disposal
from infoshare_workflow.storage.locks import lock_case
from infoshare_workflow.storage.models import Case


def set_legal_hold(session: Session, case: Case, *, hold: bool, reason: str, actor: str) -> bool:
    """Place or lift the hold; True when it changed. A hold stops any disposal under way."""
    lock_case(session, case)  # an erasure or a review answer under way finishes first (storage/locks.py)
    if case.status == "disposed":
        raise ValueError("a disposed case has nothing left to hold")
    if case.legal_hold == hold:
        return False
    case.legal_hold, case.legal_hold_reason = hold, reason
    audit.append(session, actor=actor, action="legal_hold.placed" if hold else "legal_hold.lifted",
                 case_id=case.case_id, details={})
    disposal = live_disposal(session, case) if hold else None
    if disposal is not None:
        cancel(session, disposal, actor=actor, reason="legal hold")
    return True
