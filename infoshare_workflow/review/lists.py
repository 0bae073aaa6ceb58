"""Review lists: one person's cases to review, proposals to approve, or disposals they may stop.

A DSL has one open review list, not one email per case ("always review retained
information regularly"): the list is emailed as one link, answered in parts, and reminded
on the timeliness policy (`retention.review_within`, reminders at half-time and at due)
until every case on it has an answer. A link works until its list is done or it expires;
a reminder brings a fresh one. Emails carry the list's size and due time, never a case's
details.

A review list is a query, not a copy: its cases are the DSL's closed cases whose review
date has come, not under legal hold and with no disposal under way. So the sweep that
opens it writes one row per DSL, not one per case, and a case answered (kept with a later
review date, or proposed for disposal) leaves the list by itself; each answer is recorded
as a row then. Approval and pending lists hold chosen cases, one row each.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.access.links import LinkState, new_link_id
from infoshare_workflow.mail.messages import queue_email
from infoshare_workflow.people.staff import active_with_role, route_to
from infoshare_workflow.records import audit
from infoshare_workflow.settings.policy import policy_of
from infoshare_workflow.storage.models import Case, Disposal, ReviewItem, ReviewLink, ReviewList, Staff, utcnow
from infoshare_workflow.timeliness.calendar import calendar_for
from infoshare_workflow.timeliness.due_dates import lifetime

TEMPLATES = {"review": "review_list", "approval": "approval_list", "pending": "pending_list"}
ROLES = {"review": "dsl", "approval": "manager", "pending": None}


def open_list(session: Session, kind: str, assignee: str | None, run_id: int | None) -> ReviewList:
    """The person's open list of `kind`, made when they have none: a second sweep, or a second
    batch of proposals, finds it again."""
    found = session.scalars(select(ReviewList).where(
        ReviewList.kind == kind, ReviewList.assignee == assignee, ReviewList.completed_at.is_(None))).first()
    if found is not None:
        return found
    created = ReviewList(kind=kind, assignee=assignee, run_id=run_id)
    session.add(created)
    session.flush()
    return created


def send_list(session: Session, review_list: ReviewList, *, reason: str = "opened", now: datetime | None = None,
              count: int | None = None) -> None:
    """Email the list's assignee a link (a fresh one each time), and plan its reminders.
    `count` is how many cases wait on it, when the caller has just counted them."""
    now = now or utcnow()
    staff = session.get(Staff, review_list.assignee) if review_list.assignee else None
    open_items = count if count is not None else count_open(session, review_list)
    if review_list.due_at is None:
        review_list.due_at = calendar_for(session).add(now, policy_of(session).review_within)
        review_list.remind_at = _halfway(now, review_list.due_at)
    if staff is None or not staff.active or not staff.email:
        audit.append(session, actor="system", action="review.list_undeliverable",
                     details={"list_id": review_list.id, "kind": review_list.kind, "assignee": review_list.assignee})
        return
    link = ReviewLink(id=new_link_id(), list_id=review_list.id, assignee=staff.staff_id,
                      expires_at=max(lifetime(session, "task", now), review_list.due_at))
    session.add(link)
    queue_email(session, template=TEMPLATES[review_list.kind], to_address=staff.email, to_label=staff.staff_id,
                case_id=None, context={"link_id": link.id, "count": open_items, "reason": reason,
                                       "due_at": review_list.due_at.isoformat()})
    audit.append(session, actor="system", action="review.list_sent", details={
        "list_id": review_list.id, "kind": review_list.kind, "assignee": staff.staff_id, "cases": open_items,
        "reason": reason})


def _halfway(start: datetime, due: datetime) -> datetime:
    return start + (due - start) / 2


def due_for_review(assignee: str | None, today: date) -> Any:
    """The cases on a DSL's review list: theirs, closed, due, not held, no disposal under way."""
    under_way = exists().where(Disposal.case_pk == Case.id, Disposal.status.in_(("proposed", "pending")))
    return and_(Case.dsl_staff_id == assignee, Case.status == "closed", Case.review_on <= today,
                Case.legal_hold.is_(False), ~under_way)


def open_cases(session: Session, review_list: ReviewList, limit: int | None = None,
               among: set[str] | None = None) -> list[Case]:
    """The list's cases still to answer (of `among`, by reference, when given), oldest review date first."""
    if review_list.kind == "review":
        query = (select(Case).where(due_for_review(review_list.assignee, utcnow().date()))
                 .order_by(Case.review_on, Case.id))
    else:
        query = (select(Case).join(ReviewItem, ReviewItem.case_pk == Case.id)
                 .where(ReviewItem.list_id == review_list.id, ReviewItem.decision.is_(None)).order_by(ReviewItem.id))
    if among is not None:
        query = query.where(Case.case_id.in_(among))
    return list(session.scalars(query.limit(limit) if limit else query))


def count_open(session: Session, review_list: ReviewList) -> int:
    if review_list.kind == "review":
        where = due_for_review(review_list.assignee, utcnow().date())
        return session.scalar(select(func.count()).select_from(Case).where(where)) or 0
    return session.scalar(select(func.count()).select_from(ReviewItem).where(
        ReviewItem.list_id == review_list.id, ReviewItem.decision.is_(None))) or 0


def find_link(session: Session, link_id: str) -> ReviewLink | None:
    return session.get(ReviewLink, link_id)


def link_state(session: Session, link: ReviewLink, now: datetime | None = None) -> LinkState:
    """Live while the list has cases to answer, it is still the assignee's, and it has not expired."""
    review_list = session.get(ReviewList, link.list_id)
    if review_list is None:
        return LinkState.UNKNOWN
    if (review_list.completed_at is not None or link.expires_at <= (now or utcnow())
            or review_list.assignee != link.assignee):
        return LinkState.GONE
    return LinkState.LIVE


def complete_if_done(session: Session, review_list: ReviewList) -> bool:
    """Close the list when nothing is left to answer: its links die and its reminders stop."""
    if count_open(session, review_list):
        return False
    closed = session.execute(update(ReviewList).where(ReviewList.id == review_list.id,
                                                      ReviewList.completed_at.is_(None))
                             .values(completed_at=utcnow(), remind_at=None))
    session.refresh(review_list)
    return closed.rowcount == 1


def remind_due_lists(session: Session, now: datetime | None = None, batch: int = 100) -> int:
    """The dispatcher's pass: a reminder (with a fresh link) for each list whose time has come,
    at half-time and at due, once each (claimed under SKIP LOCKED, moved on in the same commit)."""
    now = now or utcnow()
    query = (select(ReviewList).where(ReviewList.completed_at.is_(None), ReviewList.remind_at <= now)
             .order_by(ReviewList.remind_at).limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    sent = 0
    for review_list in session.scalars(query).all():
        review_list.reminders_sent += 1
        past_due = review_list.due_at is not None and review_list.due_at <= now
        review_list.remind_at = None if past_due else review_list.due_at
        if review_list.kind == "review" and _gone(session, review_list.assignee, "dsl"):
            hand_over(session, review_list, now)
        else:
            send_list(session, review_list, reason="reminder", now=now)
        sent += 1
    return sent


def hand_over(session: Session, review_list: ReviewList, now: datetime) -> None:
    """The DSL has left: their cases move to an active DSL, whose list (new, or theirs already
    open) is sent; the old list closes, and its links with it."""
    heir = route_to(session, "dsl")
    review_list.completed_at, review_list.remind_at = now, None
    session.flush()
    if heir is None:
        audit.append(session, actor="system", action="review.list_undeliverable",
                     details={"list_id": review_list.id, "kind": "review", "assignee": review_list.assignee})
        return
    session.execute(update(Case).where(Case.dsl_staff_id == review_list.assignee, Case.status == "closed")
                    .values(dsl_staff_id=heir))
    heirs = open_list(session, "review", heir, review_list.run_id)
    send_list(session, heirs, reason="reminder" if heirs.due_at else "opened", now=now)


def _gone(session: Session, staff_id: str | None, role: str) -> bool:
    return staff_id not in {s.staff_id for s in active_with_role(session, role)}
