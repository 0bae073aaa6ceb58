"""Opening a case from a concern, and changes the MIS makes to it afterwards.

One concern opens one case, ever (the concern id is unique in the database). The case
starts at the consent step ("where possible, share information with consent", golden
rule 4), with consultation and share waiting behind it.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.people.staff import route_to
from infoshare_workflow.records import audit, retention
from infoshare_workflow.settings.policy import policy_of
from infoshare_workflow.sharing.steps import alert_managers, open_step
from infoshare_workflow.storage.db import insert
from infoshare_workflow.storage.models import Case, ChronologyEntry, Concern, Step, utcnow
from infoshare_workflow.timeliness import due_dates

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_case_id() -> str:
    """Ten Crockford base32 characters (50 random bits) from one read of the system's CSPRNG.

    Drawn once per accepted webhook: one `randbits` call instead of a `choice` per character
    (each a getrandom syscall) keeps the receiver's hot path short.
    """
    bits = secrets.randbits(50)
    return "IS-" + "".join(_ALPHABET[(bits >> shift) & 31] for shift in range(45, -5, -5))


def insert_concern(session: Session, data: dict[str, Any], pupil_id: int) -> int | None:
    """Insert the concern, or return None when its concern_id is already known."""
    stmt = insert(session, Concern.__table__).values(
        concern_id=data["concern_id"],
        pupil_id=pupil_id,
        raised_at=data["raised_at"],
        category=data["category"],
        summary=data["summary"],
        facts=data["facts"],
        opinion=data.get("opinion"),
        reporter_staff_id=data["reported_by"]["staff_id"],
    )
    stmt = stmt.on_conflict_do_nothing(index_elements=["concern_id"]).returning(Concern.__table__.c.id)
    return session.execute(stmt).scalar_one_or_none()


def case_for_concern(session: Session, concern_id: str) -> Case | None:
    return session.scalars(select(Case).join(Concern).where(Concern.concern_id == concern_id)).first()


def open_case(session: Session, concern_pk: int, data: dict[str, Any], event_id: str,
              case_id: str | None = None) -> Case:
    now = utcnow()
    category = retention.category_for(data.get("threshold"))
    case = Case(
        case_id=case_id or new_case_id(),
        concern_pk=concern_pk,
        dsl_staff_id=route_to(session, "dsl", data.get("assigned_dsl")),
        status="open",
        urgency=data["urgency"],
        threshold=data.get("threshold"),
        retention_category=category,
        review_on=retention.review_on(category, data["pupil"]["date_of_birth"], None, policy_of(session).retention),
        opened_at=now,
    )
    session.add(case)
    session.flush()
    session.add_all([
        Step(case_pk=case.id, kind="consent", status="pending"),
        Step(case_pk=case.id, kind="consultation", status="pending"),
        Step(case_pk=case.id, kind="share", status="pending"),
        ChronologyEntry(case_pk=case.id, at=data["raised_at"], kind="concern_raised", event_id=event_id),
    ])
    session.flush()
    audit.append(session, actor="mis", action="case.opened", case_id=case.case_id,
                 details={"concern_id": data["concern_id"], "urgency": case.urgency,
                          "threshold": case.threshold, "dsl": case.dsl_staff_id})
    immediate = case.urgency == "immediate"
    # "In emergencies you might not seek consent if it causes delays": pre-filled, the DSL confirms.
    open_step(session, case, "consent", now=now,
              prefill={"outcome": "not_sought", "not_sought_reason": "undue_delay"} if immediate else None)
    if immediate:
        alert_managers(session, case)
    return case


def apply_update(session: Session, case: Case, data: dict[str, Any], event_id: str, at: datetime) -> Case:
    """Append addenda to the chronology of `case` (the concern's, found by the caller); a raised
    urgency brings open due dates forward."""
    for field in ("facts_addendum", "opinion_addendum"):
        if field in data:
            session.add(ChronologyEntry(case_pk=case.id, at=at, kind=field, text=data[field], event_id=event_id))
    changes: dict[str, Any] = {}
    if "threshold" in data and data["threshold"] != case.threshold:
        changes["threshold"] = [case.threshold, data["threshold"]]
        case.threshold = data["threshold"]
        if case.status in ("open", "closed"):  # the category follows the threshold; a shared case stays child protection
            case.retention_category = retention.category_for(case.threshold, shared=case.outcome == "shared")
            pupil = case.concern.pupil
            assert pupil is not None  # only a disposed case has lost its pupil
            case.review_on = retention.review_on(case.retention_category, pupil.date_of_birth,
                                                 case.closed_at.date() if case.closed_at else None,
                                                 policy_of(session).retention)
    if "urgency" in data and data["urgency"] != case.urgency:
        changes["urgency"] = [case.urgency, data["urgency"]]
        raised = due_dates.is_raise(case.urgency, data["urgency"])
        case.urgency = data["urgency"]
        if raised:
            for step in case.steps:
                if step.status == "open" and step.opened_at is not None:
                    replanned = due_dates.due_at(session, step.kind, case.urgency, step.opened_at)
                    if step.due_at is None or replanned < step.due_at:
                        step.due_at = replanned
                        due_dates.plan_timers(session, step, case.urgency)
    for field, (old, new) in changes.items():
        session.add(ChronologyEntry(case_pk=case.id, at=at, kind=f"{field}_changed", text=f"{old} -> {new}",
                                    event_id=event_id))
    session.flush()
    audit.append(session, actor="mis", action="case.updated", case_id=case.case_id,
                 details={"fields": sorted(k for k in data if k != "concern_id"), "changes": changes})
    return case
