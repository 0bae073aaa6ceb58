"""The dispatcher: fire due reminders and escalations, each exactly once.

Each batch is claimed in one transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, so
concurrent dispatchers take different rows; SQLite's write lock serialises them), and the
claim commits together with the audit event and the queued email. The email goes out after
commit, through the outbox. A dispatcher killed mid-batch commits nothing of that batch,
so another dispatcher picks the same points up: none missed, none twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.mail.messages import queue_email
from infoshare_workflow.people.staff import active_with_role
from infoshare_workflow.records import audit
from infoshare_workflow.sharing.steps import STEP_LABELS, send_task_email
from infoshare_workflow.storage.models import Case, Step, StepTimer, utcnow
from infoshare_workflow.timeliness import due_dates

BATCH = 200


@dataclass
class DispatchResult:
    reminders: int = 0
    escalations: int = 0
    cancelled: int = 0


def claim_due_timers(session: Session, now: datetime, limit: int = BATCH) -> list[StepTimer]:
    query = (select(StepTimer).where(StepTimer.fired_at.is_(None), StepTimer.due_at <= now)
             .order_by(StepTimer.due_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    timers = list(session.scalars(query))
    if timers:  # load their steps and cases in two queries, not two per point
        steps = session.scalars(select(Step).where(Step.id.in_({t.step_id for t in timers}))).all()
        cases = session.scalars(select(Case).where(Case.id.in_({s.case_pk for s in steps}))).all()
        session.info["dispatch_batch"] = (steps, cases)  # the identity map holds objects weakly
    return timers


def fire(session: Session, timer: StepTimer, now: datetime, result: DispatchResult) -> None:
    step = session.get(Step, timer.step_id)
    assert step is not None
    case = session.get(Case, step.case_pk)
    assert case is not None
    timer.fired_at = now
    if step.status != "open":
        timer.outcome = "cancelled"
        result.cancelled += 1
        return
    timer.outcome = "sent"
    if timer.kind == "reminder":
        step.reminders_sent += 1
        send_task_email(session, case, step, reason="reminder")  # a fresh link each time
        audit.append(session, actor="system", action="step.reminded", case_id=case.case_id,
                     details={"step": step.kind, "step_id": step.id, "reminder": step.reminders_sent})
        due_dates.next_repeat(session, step, case.urgency, timer)
        result.reminders += 1
    else:
        step.escalated = True
        managers = active_with_role(session, "manager")
        for manager in managers:
            if manager.email:
                queue_email(session, template="escalation", to_address=manager.email,
                            to_label=f"staff:{manager.staff_id}", case_id=case.case_id, context={
                                "step": step.kind, "step_label": STEP_LABELS[step.kind], "urgency": case.urgency,
                                "due_at": step.due_at.isoformat() if step.due_at else None,
                                "assignee": step.assignee})
        audit.append(session, actor="system", action="step.escalated", case_id=case.case_id,
                     details={"step": step.kind, "step_id": step.id, "managers": [m.staff_id for m in managers]})
        result.escalations += 1


def dispatch_timers(session_factory: Callable[[], Any], now: datetime | None = None, batch: int = BATCH,
                    on_batch: Callable[[DispatchResult], None] | None = None) -> DispatchResult:
    """Fire every due point, a committed batch at a time, until none is left."""
    result = DispatchResult()
    while True:
        with session_factory() as session, session.begin():
            timers = claim_due_timers(session, now or utcnow(), batch)
            for timer in timers:
                fire(session, timer, now or utcnow(), result)
        if on_batch is not None:
            on_batch(result)
        if len(timers) < batch:
            return result
