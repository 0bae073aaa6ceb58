"""No step waits on someone who has left: handing open steps over when the MIS says so.

When a `staff.upserted` makes a DSL or manager inactive, or takes the role away, each open
step they hold in that role goes at once to another active person in the role (as routing
chooses: round-robin), their links die and the new assignee gets a fresh one; a case whose
DSL left gets the new DSL for its later steps. With nobody left in the role, the step waits
unassigned and every manager is alerted at once; the next person the MIS makes active in
the role takes it up. Golden rule 5 and the Timely principle: "share in a timely fashion to
reduce missed opportunities to offer support and protection".
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.people.staff import route_to
from infoshare_workflow.sharing.steps import reassign, role_for
from infoshare_workflow.storage.models import Case, Step

ROLES = ("dsl", "manager")


def hand_over(session: Session, staff_id: str, held_before: set[str], held_now: set[str]) -> int:
    """Move the steps of the roles `staff_id` no longer holds, and give unassigned steps to the
    roles they now hold; returns how many steps moved."""
    moved = 0
    for role in ROLES:
        if role in held_before and role not in held_now:
            moved += _move(session, role, _open_steps(session, role, assignee=staff_id), reason="assignee_left")
            if role == "dsl":
                _reroute_cases(session, staff_id)
        if role in held_now and role not in held_before:
            moved += _move(session, role, _open_steps(session, role, assignee=None), reason="role_filled")
            if role == "dsl":
                _reroute_cases(session, None)
    return moved


def _open_steps(session: Session, role: str, assignee: str | None) -> list[Step]:
    held = Step.assignee.is_(None) if assignee is None else Step.assignee == assignee
    # Locked as read, each case before its steps and in id order (storage/locks.py).
    steps = session.scalars(select(Step).join(Case, Case.id == Step.case_pk).where(Step.status == "open", held)
                            .order_by(Case.id, Step.id).with_for_update(of=[Case, Step]))
    return [step for step in steps if role_for(step.kind) == role]


def _move(session: Session, role: str, steps: list[Step], *, reason: str) -> int:
    for step in steps:
        reassign(session, step.case, step, route_to(session, role), reason=reason, actor="mis")
    return len(steps)


def _reroute_cases(session: Session, staff_id: str | None) -> None:
    """Open cases whose DSL left (or that had none), with no open DSL step to carry the change:
    their next steps (consultation under way) go to the DSL that routing chooses now."""
    held = Case.dsl_staff_id.is_(None) if staff_id is None else Case.dsl_staff_id == staff_id
    for case in session.scalars(select(Case).where(Case.status == "open", held).order_by(Case.id).with_for_update()):
        case.dsl_staff_id = route_to(session, "dsl")
