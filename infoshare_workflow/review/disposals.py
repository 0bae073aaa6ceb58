"""Disposal, from the DSL's proposal to the end of the wait: four eyes, then time to stop it.

DOMAIN.md "Retention": a `dispose` decision takes effect only when a manager approves it
(`retention.second_approval`, on by default: the four-eyes rule of record-keeping systems;
never the proposer), and then only after `retention.disposal_wait` (default 7 days), in
which a DSL, a manager or an admin can cancel it. A case under legal hold can be neither
proposed nor approved, and a hold cancels a disposal under way. A proposal rejected or a
disposal cancelled sends the case back to be reviewed again in a year.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.people.staff import route_to
from infoshare_workflow.records import audit
from infoshare_workflow.review.lists import open_list, send_list
from infoshare_workflow.settings.policy import policy_of
from infoshare_workflow.storage.locks import lock_case
from infoshare_workflow.storage.models import Case, Disposal, ReviewItem, utcnow
from infoshare_workflow.timeliness.calendar import calendar_for

LIVE = ("proposed", "pending")


class DisposalRefused(Exception):
    """The disposal cannot go ahead; the message says why, in words for the person."""


def live_disposal(session: Session, case: Case) -> Disposal | None:
    return session.scalars(select(Disposal).where(Disposal.case_pk == case.id, Disposal.status.in_(LIVE))).first()


def propose(session: Session, case: Case, *, proposer: str, reason: str, now: datetime | None = None) -> Disposal:
    """The DSL's `dispose`: a proposal for a manager, or (second approval off) the wait at once."""
    if case.legal_hold:
        raise DisposalRefused("This case is under legal hold: it cannot be disposed of")
    if live_disposal(session, case) is not None:
        raise DisposalRefused("This case's disposal is already under way")
    disposal = Disposal(case_pk=case.id, status="proposed", proposed_by=proposer, proposal_reason=reason,
                        proposed_at=now or utcnow())
    session.add(disposal)
    session.flush()
    audit.append(session, actor=proposer, action="disposal.proposed", case_id=case.case_id,
                 details={"disposal_id": disposal.id, "category": case.retention_category})
    if not policy_of(session).second_approval:
        _start_wait(session, disposal, approver=None, reason=None, now=now)
    return disposal


def ask_for_approval(session: Session, disposals: list[Disposal], proposer: str) -> None:
    """One approval list, one link, for a batch of proposals: to a manager who did not propose them."""
    waiting = [d for d in disposals if d.status == "proposed"]
    if not waiting:
        return
    approver = route_to(session, "manager", excluding=proposer.removeprefix("staff:"))
    approvals = open_list(session, "approval", approver, run_id=None)
    session.add_all(ReviewItem(list_id=approvals.id, case_pk=d.case_pk) for d in waiting)
    session.flush()
    send_list(session, approvals)


def approve(session: Session, disposal: Disposal, *, approver: str, reason: str | None,
            now: datetime | None = None) -> None:
    if disposal.status != "proposed":
        raise DisposalRefused("This proposal has already been decided")
    if approver == disposal.proposed_by:
        raise DisposalRefused("You proposed this disposal: a second person must approve it")
    if disposal.case.legal_hold:
        raise DisposalRefused("This case is under legal hold: it cannot be disposed of")
    _start_wait(session, disposal, approver=approver, reason=reason, now=now)


def _start_wait(session: Session, disposal: Disposal, *, approver: str | None, reason: str | None,
                now: datetime | None) -> None:
    now = now or utcnow()
    disposal.status, disposal.approved_by, disposal.approved_at = "pending", approver, now
    disposal.approval_reason = reason
    disposal.erase_at = calendar_for(session).add(now, policy_of(session).disposal_wait)
    disposal.case.status = "disposal_pending"
    audit.append(session, actor=approver or disposal.proposed_by, action="disposal.approved",
                 case_id=disposal.case.case_id, details={
                     "disposal_id": disposal.id, "second_approval": approver is not None,
                     "erase_at": disposal.erase_at.isoformat()})


def reject(session: Session, disposal: Disposal, *, approver: str, reason: str, now: datetime | None = None) -> None:
    if disposal.status != "proposed":
        raise DisposalRefused("This proposal has already been decided")
    _end(session, disposal, "rejected", actor=approver, reason=reason, now=now)


def cancel(session: Session, disposal: Disposal, *, actor: str, reason: str, now: datetime | None = None) -> None:
    """Stop a disposal that is proposed or waiting: nothing is erased.

    The case is taken first and the disposal read again (storage/locks.py): a sweep erasing the
    case right now finishes first, and the cancellation is then refused, never recorded over
    an erasure that went ahead.
    """
    lock_case(session, disposal.case)
    session.refresh(disposal)
    if disposal.status not in LIVE:
        raise DisposalRefused("This disposal is no longer under way")
    _end(session, disposal, "cancelled", actor=actor, reason=reason, now=now)


def _end(session: Session, disposal: Disposal, status: str, *, actor: str, reason: str, now: datetime | None) -> None:
    now = now or utcnow()
    disposal.status, disposal.ended_by, disposal.ended_at, disposal.end_reason = status, actor, now, reason
    disposal.erase_at = None
    case = disposal.case
    case.status = "closed"
    case.review_on = _a_year_after(now.date())  # reviewed again, not forgotten
    audit.append(session, actor=actor, action=f"disposal.{status}", case_id=case.case_id,
                 details={"disposal_id": disposal.id, "review_on": case.review_on.isoformat()})


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
