"""The step machine: consent -> consultation (-> information -> consultation)* -> share.

Each transition runs inside one database transaction: the decision record, the step it
closes, the step it opens with its due date, the email to the next person (through the
outbox) and the audit events commit together or not at all (golden rule 7: keep a record).
No Flask or Celery here: views and tasks call these functions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from infoshare_workflow.access.links import LinkState, claim_task_link, close_links, issue_task_link, task_link_state
from infoshare_workflow.mail.messages import queue_email
from infoshare_workflow.people.staff import active_with_role, route_to
from infoshare_workflow.records import audit
from infoshare_workflow.storage.locks import lock_case
from infoshare_workflow.storage.models import Case, DecisionRecord, Reassignment, Staff, Step, TaskLink, utcnow
from infoshare_workflow.timeliness import due_dates

STEP_LABELS = {
    "consent": "Consent decision",
    "consultation": "Manager consultation",
    "information": "More information for the manager",
    "share": "Share decision",
    "reconsideration": "Telling the family: decide again",
}
ROLE_LABELS = {"dsl": "designated safeguarding lead", "manager": "manager"}


def role_for(kind: str) -> str:
    """Who answers a step: a manager is consulted (golden rule 3); the case's DSL does the rest."""
    return "manager" if kind == "consultation" else "dsl"


class LinkGone(Exception):
    """The link expired, was answered, or its task closed (410)."""


class LinkUnknown(Exception):
    """No such link (404)."""


def staff_email(session: Session, staff_id: str | None) -> str | None:
    """Active staff's address, decrypted once a session (a dispatcher pass emails the same DSLs)."""
    cache: dict[str | None, str | None] = session.info.setdefault("staff_email", {})
    if staff_id not in cache:
        staff = session.get(Staff, staff_id) if staff_id else None
        cache[staff_id] = staff.email if staff is not None and staff.active else None
    return cache[staff_id]


def task_email(*, address: str, assignee: str | None, case_id: str, urgency: str, step_kind: str,
               due_at: datetime, link_id: str, reason: str) -> dict[str, Any]:
    """The task email's `queue_email` arguments (one step's or a dispatcher batch's): the step,
    the case reference, the due time and the link id, nothing personal."""
    return {"template": "task", "to_address": address, "to_label": f"staff:{assignee}", "case_id": case_id,
            "context": {"step": step_kind, "step_label": STEP_LABELS[step_kind],
                        "due_at": due_at.isoformat(),
                        "link_id": link_id, "urgency": urgency, "reason": reason}}


def undeliverable(case_id: str, step_kind: str, step_id: int, assignee: str | None) -> dict[str, Any]:
    """The audit event (`audit.append`'s arguments) for an assignee without an address, or who has
    left: the case shows why nobody was emailed."""
    return {"actor": "system", "action": "email.undeliverable", "case_id": case_id,
            "details": {"step": step_kind, "step_id": step_id, "assignee": assignee}}


def send_task_email(session: Session, case: Case, step: Step, *, reason: str = "opened") -> None:
    """A fresh link for the assignee, by email; no personal data in it."""
    address = staff_email(session, step.assignee)
    if address is None:
        audit.append(session, **undeliverable(case.case_id, step.kind, step.id, step.assignee))
        return
    link = issue_task_link(session, step, due_dates.lifetime(session, "task"))
    queue_email(session, **task_email(address=address, assignee=step.assignee, case_id=case.case_id,
                                      urgency=case.urgency, step_kind=step.kind, due_at=step.due_at,
                                      link_id=link.id, reason=reason))


def open_step(session: Session, case: Case, kind: str, *, now: datetime | None = None,
              prefill: dict[str, Any] | None = None) -> Step:
    now = now or utcnow()
    step = session.scalars(
        select(Step).where(Step.case_pk == case.id, Step.kind == kind, Step.status == "pending").order_by(Step.round)
    ).first()
    if step is None:
        last_round = session.scalar(select(func.max(Step.round)).where(Step.case_pk == case.id, Step.kind == kind))
        step = Step(case_pk=case.id, kind=kind, round=(last_round or 0) + 1)
        session.add(step)
    step.assignee = route_to(session, "manager") if role_for(kind) == "manager" else case.dsl_staff_id
    step.status, step.opened_at, step.prefill = "open", now, prefill
    step.due_at = due_dates.due_at(session, kind, case.urgency, now)
    session.flush()
    due_dates.plan_timers(session, step, case.urgency)
    audit.append(session, actor="system", action="step.opened", case_id=case.case_id,
                 details={"step": kind, "step_id": step.id, "round": step.round, "assignee": step.assignee,
                          "due_at": step.due_at})
    _announce(session, case, step, reason="opened")
    return step


def reassign(session: Session, case: Case, step: Step, to: str | None, *, reason: str, actor: str,
             explanation: str | None = None) -> None:
    """Give an open step to `to`: the old links die at once and the new assignee gets a fresh one.

    `reason` is a fixed word for the audit trail (`assignee_left`, `role_filled`, `admin_request`);
    `explanation`, an admin's own words, is kept in a `Reassignment` row, encrypted and erased with
    the case, and the event names that row: the trail is kept for good, so it holds no free text.
    """
    former = step.assignee
    close_links(session, step.id)
    step.assignee = to
    if role_for(step.kind) == "dsl":
        case.dsl_staff_id = to
    note = None if explanation is None else Reassignment(case_pk=case.id, step_id=step.id, actor=actor[:64],
                                                          reason=explanation)
    if note is not None:
        session.add(note)
    session.flush()
    details: dict[str, Any] = {"step": step.kind, "step_id": step.id, "from": former, "to": to, "reason": reason}
    if note is not None:
        details["reassignment_id"] = note.id
    audit.append(session, actor=actor, action="step.reassigned", case_id=case.case_id, details=details)
    _announce(session, case, step, reason="reassigned", former=former)


def _announce(session: Session, case: Case, step: Step, *, reason: str, former: str | None = None) -> None:
    """Email the assignee a fresh link. With nobody to answer the step, every manager is told
    now rather than at the escalation (golden rule 5: the child's safety first)."""
    if step.assignee is not None:
        send_task_email(session, case, step, reason=reason)
        return
    managers = active_with_role(session, "manager")
    for manager in managers:
        if manager.email:
            queue_email(session, template="unassigned", to_address=manager.email,
                        to_label=f"staff:{manager.staff_id}", case_id=case.case_id, context={
                            "step": step.kind, "step_label": STEP_LABELS[step.kind], "urgency": case.urgency,
                            "due_at": step.due_at.isoformat() if step.due_at else None, "former": former,
                            "role_label": ROLE_LABELS[role_for(step.kind)]})
    audit.append(session, actor="system", action="step.unassigned", case_id=case.case_id, details={
        "step": step.kind, "step_id": step.id, "managers": [m.staff_id for m in managers]})


def complete_step(session: Session, step: Step, now: datetime | None = None) -> None:
    step.status, step.completed_at = "done", now or utcnow()
    close_links(session, step.id)
    due_dates.cancel_timers(session, step.id)


def alert_managers(session: Session, case: Case) -> None:
    """An immediate concern reaches every manager at once (the emergency path)."""
    managers = active_with_role(session, "manager")
    for manager in managers:
        if manager.email:
            queue_email(session, template="alert", to_address=manager.email, to_label=f"staff:{manager.staff_id}",
                        case_id=case.case_id, context={"urgency": case.urgency})
    audit.append(session, actor="system", action="case.alerted", case_id=case.case_id,
                 details={"managers": [m.staff_id for m in managers]})


def record_decision(session: Session, case: Case, step: Step, kind: str, payload: dict[str, Any],
                    actor: str) -> DecisionRecord:
    record = DecisionRecord(case_pk=case.id, step_id=step.id, kind=kind, payload=payload, recorded_by=actor)
    session.add(record)
    session.flush()
    return record


def resolve_link(session: Session, link_id: str) -> tuple[TaskLink, Step, Case]:
    """The live link's step and case, or LinkUnknown / LinkGone."""
    link = session.get(TaskLink, link_id)
    step = session.get(Step, link.step_id) if link is not None else None
    state = task_link_state(link, step)
    if state is LinkState.UNKNOWN:
        raise LinkUnknown(link_id)
    if state is LinkState.GONE:
        raise LinkGone(link_id)
    assert link is not None and step is not None
    return link, step, step.case


def lock_step(session: Session, step: Step) -> None:
    """Take the step's case, then the step (storage/locks.py: the order every writer of a case
    keeps), and read both again, before changing the step, its links or its timers."""
    lock_case(session, step.case)
    session.refresh(step, with_for_update=True)


def claim(session: Session, link_id: str) -> tuple[TaskLink, Step, Case]:
    """Resolve and use the link once, inside the caller's transaction.

    The step is locked first (`lock_step`): a step often has two live links (the first email's
    and a reminder's), and each link's own claim cannot see the other. So two answers at once
    take turns, and the second finds the step closed (LinkGone, a 410) instead of recording a
    second decision (golden rule 7: one decision, on the record).
    """
    link, step, case = resolve_link(session, link_id)
    lock_step(session, step)
    if task_link_state(link, step) is not LinkState.LIVE or not claim_task_link(session, link_id):
        raise LinkGone(link_id)
    return link, step, case


def latest(case: Case, kind: str) -> DecisionRecord | None:
    records = [d for d in case.decisions if d.kind == kind]
    return records[-1] if records else None
