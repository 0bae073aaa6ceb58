"""Telling the family about a share made without their consent (golden rule 2).

"Be open and honest with the individual (and/or their family) from the outset about why,
what, how and with whom information will, or could be shared … unless it is unsafe or
inappropriate to do so." After a share without consent the DSL chooses: `send`, and each
contact with parental responsibility is emailed a sharing notice at once (through the
outbox), saying what kinds of information went to which agency, when, why and on what
basis, never the content; or `suppress`, with the reason and a date, on which the
`notice_reconsideration` job asks the DSL again through a task (`reconsideration` step).
A contact without an email address, or a pupil with no contact with parental
responsibility, is recorded too (`no_email`, `no_contact`), so the school can tell them
another way: every notice sent, failed, unreachable or suppressed is a row and an audit
event (golden rule 7).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.mail.notices import queue_notice, record_unreachable
from infoshare_workflow.records import audit
from infoshare_workflow.sharing.steps import complete_step, record_decision
from infoshare_workflow.storage.models import Case, Notice, Recipient, Step, utcnow


def notice_content(session: Session, case: Case, data: dict[str, Any], shared_at: datetime) -> dict[str, Any]:
    """What a sharing notice says: kinds of information, agencies, when, why, on what basis.
    The items are keys the templates put in plain words; no content of the concern."""
    recipients = session.scalars(select(Recipient).where(Recipient.id.in_(data.get("recipients") or [0]))
                                 .order_by(Recipient.name)).all()
    return {
        "case_id": case.case_id, "shared_at": shared_at.isoformat(), "items": list(data.get("items") or []),
        "agencies": [{"name": r.name, "kind": r.kind} for r in recipients], "purpose": data.get("purpose"),
        "lawful_basis": data.get("lawful_basis"), "condition": data.get("condition"),
    }


def record_family_notice(session: Session, case: Case, data: dict[str, Any], actor: str,
                         now: datetime | None = None) -> list[Notice]:
    """The share decision's `family_notice`: tell the family now, or hold it back for a time."""
    content = notice_content(session, case, data, now or utcnow())
    if data["family_notice"] == "suppress":
        return [suppress(session, case, content, reason=data["suppress_reason"],
                         reconsider_on=data["reconsider_on"], actor=actor)]
    return notify_family(session, case, content, actor)


def notify_family(session: Session, case: Case, content: dict[str, Any], actor: str) -> list[Notice]:
    """One notice per contact with parental responsibility, emailed through the outbox."""
    pupil = case.concern.pupil
    contacts = [c for c in (pupil.contacts if pupil is not None else []) if c.parental_responsibility]
    notices: list[Notice] = []
    for contact in contacts:
        if contact.email:
            notice = queue_notice(session, kind="sharing", address=contact.email, addressee="contact",
                                  language=contact.preferred_language, case_pk=case.id, case_id=case.case_id,
                                  pupil_id=pupil.id if pupil else None, relationship=contact.relationship_to_pupil,
                                  content=content, decided_by=actor)
        else:
            notice = record_unreachable(session, kind="sharing", status="no_email", case_pk=case.id,
                                        pupil_id=pupil.id if pupil else None, addressee="contact",
                                        relationship=contact.relationship_to_pupil, decided_by=actor)
            notice.content = content
        notices.append(notice)
    if not contacts:
        notices.append(record_unreachable(session, kind="sharing", status="no_contact", case_pk=case.id,
                                          pupil_id=pupil.id if pupil else None, decided_by=actor))
        notices[-1].content = content
    for notice in notices:
        audit.append(session, actor=actor, action=f"notice.{notice.status}", case_id=case.case_id,
                     details={"notice_id": notice.id, "kind": "sharing", "addressee": notice.addressee})
    return notices


def suppress(session: Session, case: Case, content: dict[str, Any], *, reason: str, reconsider_on: date,
             actor: str) -> Notice:
    notice = Notice(case_pk=case.id, pupil_id=case.concern.pupil_id, kind="sharing", status="suppressed",
                    reason=reason, reconsider_on=reconsider_on, content=content, decided_by=actor)
    session.add(notice)
    session.flush()
    audit.append(session, actor=actor, action="notice.suppressed", case_id=case.case_id,
                 details={"notice_id": notice.id, "kind": "sharing", "reconsider_on": reconsider_on.isoformat()})
    return notice


def held_back(session: Session, case: Case) -> Notice | None:
    """The case's sharing notice still held back and not yet decided on again."""
    return session.scalars(select(Notice).where(
        Notice.case_pk == case.id, Notice.kind == "sharing", Notice.status == "suppressed",
        Notice.reconsidered_at.is_(None)).order_by(Notice.id.desc())).first()


def record_reconsideration(session: Session, case: Case, step: Step, data: dict[str, Any], actor: str) -> None:
    """The `reconsideration` step's answer: tell the family now, or hold the notice back again
    with a new reason and date. The old suppression stays on record, marked as decided on."""
    now = utcnow()
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    record = record_decision(session, case, step, "reconsideration", payload, actor)
    complete_step(session, step, now)
    notice = held_back(session, case)
    audit.append(session, actor=actor, action="notice.reconsidered", case_id=case.case_id, details={
        "decision_id": record.id, "step_id": step.id, "notice_id": notice.id if notice else None,
        "reconsider": data["reconsider"]})
    if notice is None:  # erased or decided on meanwhile: nothing is held back any more
        return
    notice.reconsidered_at = now
    content = dict(notice.content or {})
    if data["reconsider"] == "send_now":
        notify_family(session, case, content, actor)
    else:
        suppress(session, case, content, reason=data["suppress_reason"], reconsider_on=data["reconsider_on"],
                 actor=actor)
