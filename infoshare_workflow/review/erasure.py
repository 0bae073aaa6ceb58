"""Erasure: a disposal whose wait has ended removes the case's personal data for good.

DOMAIN.md "Retention": disposal erases the personal data (pupil, contacts, concern text,
disclosures' content, reasons given in free text, and what names the pupil elsewhere: the
addresses of their privacy notices, report rows, an event parked in the inbox) and keeps a
tombstone: the case's reference, category and dates, who proposed and who approved the
disposal and why (the `disposals` row), and the audit chain, which holds no personal data
and still verifies. Erasing is deleting or overwriting rows,
never setting a flag: encrypted text is removed too, not merely left unreadable.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.access.links import close_links
from infoshare_workflow.cases.intake import ACCEPTED, ERASED
from infoshare_workflow.records import audit
from infoshare_workflow.storage.locks import lock_case, lock_pupil
from infoshare_workflow.storage.models import (
    Case,
    ChronologyEntry,
    Concern,
    Contact,
    DecisionRecord,
    Disclosure,
    Disposal,
    Email,
    Notice,
    Pupil,
    Reassignment,
    ReceivedEvent,
    ReviewItem,
    RunReportItem,
    Step,
    utcnow,
)
from infoshare_workflow.timeliness.due_dates import cancel_timers
from infoshare_workflow.vocabulary import NO_EMAIL_REPORT

# What a decision record keeps: the choices made (vocabulary), none of the free text.
KEPT_CHOICES = ("outcome", "party", "not_sought_reason", "advice", "decision", "lawful_basis", "condition",
                "items", "recipients", "family_notice")


def erase_case(session: Session, disposal: Disposal, *, run_id: int | None, now: datetime | None = None) -> dict[str, Any]:
    """Erase the case of a disposal whose wait is over; returns the tombstone's report row."""
    now = now or utcnow()
    case = disposal.case
    lock_case(session, case)  # before anything under it: storage/locks.py
    concern = session.get(Concern, case.concern_pk)
    assert concern is not None
    pupil_id = concern.pupil_id
    session.execute(update(Concern).where(Concern.id == concern.id)
                    .values(summary="", facts="", opinion=None, pupil_id=None))
    session.execute(delete(ChronologyEntry).where(ChronologyEntry.case_pk == case.id))
    for record in session.scalars(select(DecisionRecord).where(DecisionRecord.case_pk == case.id)):
        record.payload = {k: v for k, v in record.payload.items() if k in KEPT_CHOICES} | {"erased": True}
    session.execute(update(Disclosure).where(Disclosure.case_pk == case.id).values(content=None, code_nonce=None))
    session.execute(update(Notice).where(Notice.case_pk == case.id).values(
        reason=None, content=None, relationship=None, addressee_key=None))
    for step in session.scalars(select(Step).where(Step.case_pk == case.id, Step.status.in_(("open", "pending")))):
        step.status = "cancelled"  # e.g. a reconsideration of a notice held back: nothing is left to tell
        close_links(session, step.id)
        cancel_timers(session, step.id)
    session.execute(update(Step).where(Step.case_pk == case.id).values(prefill=None))
    session.execute(update(Email).where(Email.case_id == case.case_id).values(to_address=""))
    _erase_events(session, (ReceivedEvent.case_id == case.case_id) | (ReceivedEvent.concern_key == concern.concern_id))
    session.execute(delete(Reassignment).where(Reassignment.case_pk == case.id))
    session.execute(update(ReviewItem).where(ReviewItem.case_pk == case.id).values(reason=None))
    # Take the pupil's row before asking whether they go too (storage/locks.py): a new concern
    # about them, or a privacy notice queued to their family, has then committed and is seen.
    if pupil_id is not None and lock_pupil(session, pupil_id) and not _has_other_cases(session, pupil_id, concern.id):
        _erase_kept_elsewhere(session, session.scalars(select(Pupil.mis_id).where(Pupil.id == pupil_id)).one())
        notices = Notice.pupil_id == pupil_id
        session.execute(update(Email).where(Email.id.in_(select(Notice.email_id).where(notices))).values(to_address=""))
        session.execute(update(Notice).where(notices).values(relationship=None))
        session.execute(delete(Contact).where(Contact.pupil_id == pupil_id))
        session.execute(delete(Pupil).where(Pupil.id == pupil_id))
    case.legal_hold_reason = None
    case.status = "disposed"
    disposal.status, disposal.disposed_at, disposal.run_id = "done", now, run_id
    session.flush()
    audit.append(session, actor="system", action="case.disposed", case_id=case.case_id, details={
        "disposal_id": disposal.id, "category": case.retention_category, "proposed_by": disposal.proposed_by,
        "approved_by": disposal.approved_by, "run_id": run_id})
    return tombstone(case, disposal)


def _erase_events(session: Session, which: ColumnElement[bool]) -> None:
    """Empty the inbox rows `which` names; one never applied (parked, say) is marked `erased`,
    so neither a pass nor a retry tries to apply the emptiness."""
    session.execute(update(ReceivedEvent).where(which).values(payload=None))
    session.execute(update(ReceivedEvent).where(which, ReceivedEvent.outcome == ACCEPTED,
                                                ReceivedEvent.applied_at.is_(None)).values(outcome=ERASED))


def _erase_kept_elsewhere(session: Session, mis_id: str) -> None:
    """What names the pupil outside their case: the rows of runs' reports (a contact without an
    email address), and a `pupil.updated` parked in the inbox (one still on its way is the
    MIS's current record, applied in a moment like any other).

    Report rows written before migration 0014 name the pupil only inside their encrypted text:
    each is read once, here, and given its `pupil_key`, so the next erasure finds it by index.
    """
    session.execute(delete(RunReportItem).where(RunReportItem.pupil_key == mis_id))
    for row in session.scalars(select(RunReportItem).where(RunReportItem.pupil_key.is_(None),
                                                           RunReportItem.kind == NO_EMAIL_REPORT)):
        named = json.loads(row.item).get("pupil")
        if named == mis_id:
            session.delete(row)
        elif isinstance(named, str):
            row.pupil_key = named
    parked = session.execute(select(ReceivedEvent.event_id, ReceivedEvent.payload).where(
        ReceivedEvent.type == "pupil.updated", ReceivedEvent.outcome == ACCEPTED,
        ReceivedEvent.applied_at.is_(None), ReceivedEvent.parked_at.is_not(None)))
    erased = [event_id for event_id, payload in parked if _pupil_named(payload) in (mis_id, None)]
    if erased:
        _erase_events(session, ReceivedEvent.event_id.in_(erased))


def _pupil_named(payload: str | None) -> str | None:
    """The MIS id a parked `pupil.updated` is about; None when it cannot be read (it may be why
    it was parked), and then it is erased with any pupil: nobody can say it is not this one."""
    try:
        named = json.loads(payload or "")["data"]["pupil"]["mis_id"]
    except (ValueError, KeyError, TypeError):
        return None
    return named if isinstance(named, str) else None


def _has_other_cases(session: Session, pupil_id: int, concern_pk: int) -> bool:
    """Whether the pupil still has a concern (a case not disposed of) besides this one."""
    return bool(session.scalar(select(exists().where(Concern.pupil_id == pupil_id, Concern.id != concern_pk))))


def tombstone(case: Case, disposal: Disposal) -> dict[str, Any]:
    """What is kept of a disposed case, as a report row: no personal data."""
    def iso(moment: Any) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {"case_id": case.case_id, "category": case.retention_category, "opened_at": iso(case.opened_at),
            "closed_at": iso(case.closed_at), "review_on": iso(case.review_on), "proposed_by": disposal.proposed_by,
            "proposed_at": iso(disposal.proposed_at), "approved_by": disposal.approved_by,
            "approved_at": iso(disposal.approved_at), "disposed_at": iso(disposal.disposed_at)}
