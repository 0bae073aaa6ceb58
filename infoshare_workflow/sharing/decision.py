"""The share decision and its execution (golden rules 6 and 7).

"Record your decision and the reasons for it, whether it is to share information or not.
If you decide to share, then record what you have shared, with whom and for what purpose."
A share sends each recipient a link to exactly the chosen items (data minimisation), and
the disclosed content is snapshotted and hashed, so what left the school is on record.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from infoshare_workflow.access.links import new_link_id
from infoshare_workflow.mail.messages import queue_email
from infoshare_workflow.records import audit, retention
from infoshare_workflow.settings.policy import policy_of
from infoshare_workflow.sharing.family_notice import record_family_notice
from infoshare_workflow.sharing.steps import complete_step, latest, record_decision
from infoshare_workflow.storage.models import Case, DecisionRecord, Disclosure, Recipient, Staff, Step, utcnow
from infoshare_workflow.storage.outbox import enqueue
from infoshare_workflow.timeliness import due_dates

EXECUTE_TASK = "infoshare.shares.execute"
ADDENDA = {"facts": "facts_addendum", "opinion": "opinion_addendum"}


def active_recipients(session: Session) -> list[Recipient]:
    return list(session.scalars(select(Recipient).where(Recipient.active.is_(True)).order_by(Recipient.name)))


def consent_outcome(case: Case) -> str | None:
    record = latest(case, "consent")
    return record.payload.get("outcome") if record is not None else None


def record_share_decision(session: Session, case: Case, step: Step, data: dict[str, Any], actor: str) -> None:
    shared = data["decision"] == "share"
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    if shared:
        names = {r.id: r.name for r in session.scalars(select(Recipient).where(Recipient.id.in_(data["recipients"])))}
        payload["recipient_names"] = [names[i] for i in data["recipients"]]
    record = record_decision(session, case, step, "share", payload, actor)
    complete_step(session, step)
    audit.append(session, actor=actor, action="share.decided", case_id=case.case_id, details={
        "decision_id": record.id, "step_id": step.id, "decision": data["decision"],
        "recipients": data.get("recipients", []), "items": data.get("items", []),
        "lawful_basis": data.get("lawful_basis"), "condition": data.get("condition"),
    })
    if shared:
        enqueue(session, EXECUTE_TASK, decision_id=record.id)
        if consent_outcome(case) != "given":
            record_family_notice(session, case, data, actor)  # golden rule 2
    close_case(session, case, "shared" if shared else "not_shared", actor)


def close_case(session: Session, case: Case, outcome: str, actor: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    for step in case.steps:
        if step.status in ("pending", "open"):
            step.status = "cancelled"
    case.status, case.outcome, case.closed_at = "closed", outcome, now
    case.retention_category = retention.category_for(case.threshold, shared=outcome == "shared")
    case.review_on = retention.review_on(case.retention_category, case.concern.pupil.date_of_birth, now.date(),
                                         policy_of(session).retention)
    session.flush()
    audit.append(session, actor=actor, action="case.closed", case_id=case.case_id, details={
        "outcome": outcome, "retention_category": case.retention_category,
        "review_on": case.review_on.isoformat() if case.review_on else None,
    })


def snapshot(case: Case, items: list[str], reporter: Staff | None = None) -> dict[str, Any]:
    """Exactly the chosen items, facts and opinion apart; nothing else leaves the system."""
    concern, pupil = case.concern, case.concern.pupil
    content: dict[str, Any] = {}
    for item in items:
        if item == "summary":
            content["summary"] = concern.summary
        elif item in ADDENDA:
            original = concern.facts if item == "facts" else concern.opinion
            addenda = [e.text for e in case.chronology if e.kind == ADDENDA[item] and e.text]
            content[item] = [t for t in [original, *addenda] if t]
        elif item == "chronology":
            content["chronology"] = [
                {"at": e.at.isoformat(), "kind": e.kind,
                 "text": e.text if e.kind not in ADDENDA.values() else None}
                for e in case.chronology
            ]
        elif item == "pupil_identity":
            content["pupil_identity"] = {"given_name": pupil.given_name, "family_name": pupil.family_name,
                                         "year_group": pupil.year_group}
        elif item == "pupil_date_of_birth":
            content["pupil_date_of_birth"] = pupil.date_of_birth_text
        elif item == "pupil_contacts":
            content["pupil_contacts"] = [
                {"name": c.name, "relationship": c.relationship_to_pupil, "email": c.email,
                 "parental_responsibility": c.parental_responsibility} for c in pupil.contacts
            ]
        elif item == "reporter_identity":
            content["reporter_identity"] = {"staff_id": concern.reporter_staff_id,
                                            "name": reporter.name if reporter else None,
                                            "email": reporter.email if reporter else None}
    return content


def snapshot_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def execute_share(session: Session, decision_id: int) -> int:
    """Create each recipient's disclosure and email once; safe to run again. Returns new ones."""
    record = session.get(DecisionRecord, decision_id)
    if record is None or record.kind != "share" or record.payload.get("decision") != "share":
        return 0
    case = session.get(Case, record.case_pk)
    assert case is not None
    done = set(session.scalars(select(Disclosure.recipient_id).where(Disclosure.decision_id == decision_id)))
    items = record.payload["items"]
    reporter = session.get(Staff, case.concern.reporter_staff_id) if "reporter_identity" in items else None
    content = snapshot(case, items, reporter)  # every recipient is sent the same snapshot
    digest, expires_at = snapshot_hash(content), due_dates.lifetime(session, "disclosure")
    created = 0
    for recipient_id in record.payload["recipients"]:
        if recipient_id in done:
            continue
        recipient = session.get(Recipient, recipient_id)
        disclosure = Disclosure(
            case_pk=case.id, decision_id=decision_id, recipient_id=recipient_id, link_id=new_link_id(),
            items=items, content=content, snapshot_hash=digest, expires_at=expires_at,
        )
        session.add(disclosure)
        session.flush()
        queue_email(session, template="disclosure", to_address=recipient.email, to_label=f"recipient:{recipient_id}",
                    case_id=case.case_id, context={"link_id": disclosure.link_id,
                                                   "expires_at": disclosure.expires_at.isoformat()})
        audit.append(session, actor="system", action="disclosure.sent", case_id=case.case_id, details={
            "disclosure_id": disclosure.id, "recipient_id": recipient_id, "items": items,
            "snapshot_hash": disclosure.snapshot_hash,
        })
        created += 1
    return created


def find_disclosure(session: Session, link_id: str) -> Disclosure | None:
    return session.scalars(select(Disclosure).where(Disclosure.link_id == link_id)).first()


def reveal(session: Session, disclosure: Disclosure) -> bool:
    """Record receipt on the first reveal (atomically); True when this reveal was the first."""
    result = session.execute(update(Disclosure).where(Disclosure.id == disclosure.id, Disclosure.accessed_at.is_(None))
                             .values(accessed_at=utcnow()))
    first = result.rowcount == 1
    case = session.get(Case, disclosure.case_pk)
    audit.append(session, actor=f"recipient:{disclosure.recipient_id}",
                 action="disclosure.received" if first else "disclosure.viewed",
                 case_id=case.case_id if case else None, details={"disclosure_id": disclosure.id})
    return first
