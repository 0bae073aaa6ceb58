"""Fresh links and new hands for an open step: resending its link, asking for one, reassigning it.

Golden rule 5 and the Timely principle ("share in a timely fashion"): a task must not stall
because its email was lost, its link expired or the person holding it is away. An admin
sends the link again (`resend_link`) or gives the step to another DSL or manager
(`reassign_step`); whoever holds a dead link can ask for a fresh one (`request_fresh_link`,
the 410 page's button), at most once per step every 10 minutes.

Golden rule 6 ("shared securely"): a link only ever goes to the step's assignee, by email,
never to whoever asked, and each fresh link kills every older link of the step (they then
answer 410). Golden rule 7: each is audited (`step.link_resent`, `step.link_requested`,
`step.reassigned`) by step id and kind, never with personal data: a reassignment's reason
is free text, so it is kept encrypted on its own row and erased with the case.

Lock order: each takes the case's and the step's rows first (`steps.lock_step`,
storage/locks.py), then closes the older links, as an answer does, so a request racing an
answer waits for it rather than deadlocking, and then sees whether the step is still open.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.access.links import close_links
from infoshare_workflow.people.staff import roles_held
from infoshare_workflow.records import audit
from infoshare_workflow.schemas.api import StepReassignSchema
from infoshare_workflow.sharing.steps import ROLE_LABELS, lock_step, reassign, role_for, send_task_email
from infoshare_workflow.storage.models import Case, Staff, Step, utcnow

REQUEST_INTERVAL = timedelta(minutes=10)
REQUESTER = "link-holder"  # who asks from a dead link is not known: only the assignee is ever mailed


class StepNotFound(LookupError):
    """No such step in the case (404)."""


class CaseNotFound(StepNotFound):
    """No such case (404)."""


class StepUnavailable(Exception):
    """The step cannot take a fresh link or a new assignee now (409); the message says why."""


class StepNotOpen(StepUnavailable):
    """The step is pending, done or cancelled: there is no task to send or hand over."""


class StepUnassigned(StepUnavailable):
    """Nobody holds the step (nobody active had the role): reassign it instead."""


class AssigneeUnreachable(StepUnavailable):
    """The assignee is inactive or has no email address: reassign the step instead."""


class InvalidReassignment(ValueError):
    """A reassignment that breaks the rules; `errors` maps each field to its messages (422)."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in errors.items()))
        self.errors = errors


def find_step(session: Session, case_id: str, step_id: int | None) -> Step:
    """The step `step_id` of case `case_id`; StepNotFound for an unknown case, or a step of another."""
    case = session.scalars(select(Case).where(Case.case_id == case_id)).first()
    if case is None:
        raise CaseNotFound("No such case.")
    step = session.get(Step, step_id) if step_id is not None else None
    if step is None or step.case_pk != case.id:
        raise StepNotFound("No such step in this case.")
    return step


def resend_link(session: Session, step: Step, *, actor: str) -> None:
    """Email the assignee a fresh link to the open step; every older link of the step dies."""
    lock_step(session, step)
    _check_sendable(session, step)
    close_links(session, step.id)
    send_task_email(session, step.case, step, reason="resent")
    audit.append(session, actor=actor, action="step.link_resent", case_id=step.case.case_id,
                 details={"step": step.kind, "step_id": step.id, "assignee": step.assignee})


def request_fresh_link(session: Session, step: Step, *, now: datetime | None = None) -> bool:
    """For the holder of a dead link: email the step's assignee (never the requester) a fresh link.

    At most once per step every 10 minutes, counted in the database: the step is read under
    its row lock, so of two concurrent requests, whatever process serves them, the second
    waits and then sees the first's time; False when throttled. Raises StepUnavailable when
    the step is not open or its assignee cannot be emailed.
    """
    now = now or utcnow()
    lock_step(session, step)
    _check_sendable(session, step)
    if step.link_requested_at is not None and now - step.link_requested_at < REQUEST_INTERVAL:
        return False
    step.link_requested_at = now
    close_links(session, step.id)
    send_task_email(session, step.case, step, reason="requested")
    audit.append(session, actor=REQUESTER, action="step.link_requested", case_id=step.case.case_id,
                 details={"step": step.kind, "step_id": step.id, "assignee": step.assignee})
    return True


def reassign_step(session: Session, step: Step, staff_id: str, *, reason: str, actor: str) -> None:
    """Give the open step to `staff_id`, an active member of staff in the step's role (not its
    current assignee), for a reason: the old links die and the new assignee gets a fresh one.
    Audited as `step.reassigned` with the actor; the reason, free text, is kept encrypted beside
    it (`steps.reassign`)."""
    lock_step(session, step)
    if step.status != "open":
        raise StepNotOpen(_not_open(step))
    try:
        data = StepReassignSchema().load({"staff_id": staff_id, "reason": reason})
    except ValidationError as exc:
        raise InvalidReassignment(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}) \
            from None
    problem = _unfit(session, step, data["staff_id"])
    if problem:
        raise InvalidReassignment({"staff_id": [problem]})
    reassign(session, step.case, step, data["staff_id"], reason="admin_request", actor=actor,
             explanation=data["reason"].strip())


def _unfit(session: Session, step: Step, staff_id: str) -> str | None:
    role = role_for(step.kind)
    if staff_id == step.assignee:
        return f"{staff_id} already holds this step."
    if role not in roles_held(session, staff_id):
        return f"{staff_id} is not an active {ROLE_LABELS[role]}, whom the {step.kind} step needs."
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.email:
        return f"{staff_id} has no email address to send the task link to."
    return None


def _check_sendable(session: Session, step: Step) -> None:
    if step.status != "open":
        raise StepNotOpen(_not_open(step))
    if step.assignee is None:
        raise StepUnassigned(f"Nobody holds the {step.kind} step (no active {ROLE_LABELS[role_for(step.kind)]}): "
                             f"reassign it to someone who can answer it.")
    staff = session.get(Staff, step.assignee)
    if staff is None or not staff.active or not staff.email:
        raise AssigneeUnreachable(f"The step's assignee {step.assignee} is inactive or has no email address: "
                                  f"reassign the step instead.")


def _not_open(step: Step) -> str:
    return f"The {step.kind} step is {step.status}, not open: only an open step can be resent or reassigned."

