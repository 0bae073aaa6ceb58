"""Answers on a review list, recorded as they come: a list is answered in parts.

A DSL keeps a case (`retain`, with a reason and the next review date) or proposes it for
disposal (`dispose`, with a reason); the proposals of one submission go to a manager as one
approval list (the four-eyes rule). A manager approves (the wait starts) or rejects (with
a reason). During the wait, the proposer and the approver each have a list of what will be
erased, and can stop any of it. Every answer is audited (golden rule 7: record the decision
and the reasons for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.review.disposals import (
    DisposalRefused,
    approve,
    ask_for_approval,
    cancel,
    live_disposal,
    propose,
    reject,
)
from infoshare_workflow.review.lists import complete_if_done, open_cases, open_list, send_list
from infoshare_workflow.storage.locks import lock_cases
from infoshare_workflow.storage.models import Case, Disposal, ReviewItem, ReviewList, utcnow


@dataclass(frozen=True)
class Answer:
    """One case's answer, as the form gives it."""

    decision: str
    reason: str | None = None
    review_on: date | None = None


class AnswerRefused(Exception):
    """Answers that break a rule, by form field; nothing was recorded."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def record(session: Session, review_list: ReviewList, answers: dict[str, Answer], actor: str,
           now: datetime | None = None) -> int:
    """Record the answers (by case reference) given on the list's page; returns how many.

    Raises AnswerRefused (field -> message) when a rule refuses one, and then records none.
    """
    now = now or utcnow()
    lock_cases(session, answers)  # a hold or an erasure under way finishes first (storage/locks.py)
    items = {case.case_id: _item_for(session, review_list, case)
             for case in open_cases(session, review_list, among=set(answers))}
    errors: dict[str, str] = {}
    for case_id in sorted(set(answers) - set(items)):  # held, or answered elsewhere, since the page was shown
        held = session.scalar(select(Case.legal_hold).where(Case.case_id == case_id))
        errors[_field(review_list.kind, case_id)] = ("This case is under legal hold: it cannot be disposed of" if held
                                                     else "This case is no longer on this list")
    proposals: list[Disposal] = []
    approved: list[Disposal] = []
    for case_id, item in items.items():
        answer = answers[case_id]
        try:
            made = _apply(session, review_list.kind, item, answer, actor, now)
        except DisposalRefused as exc:
            errors[_field(review_list.kind, case_id)] = str(exc)
            continue
        if made is not None:
            (proposals if answer.decision == "dispose" else approved).append(made)
        item.decision, item.reason, item.review_on = answer.decision, answer.reason, answer.review_on
        item.decided_by, item.decided_at = actor, now
    if errors:
        raise AnswerRefused(errors)
    session.flush()
    ask_for_approval(session, proposals, proposer=actor)
    _tell_who_may_stop_it(session, [d for d in approved if d.status == "pending"])
    _tell_who_may_stop_it(session, [d for d in proposals if d.status == "pending"])  # second approval off
    complete_if_done(session, review_list)
    return len(items)


def _item_for(session: Session, review_list: ReviewList, case: Case) -> ReviewItem:
    """Where the answer goes: a new row on a review list (its cases are a query), the case's
    row on an approval or pending list."""
    if review_list.kind == "review":
        item = ReviewItem(list_id=review_list.id, case_pk=case.id)
        item.case = case
        session.add(item)
        return item
    return session.scalars(select(ReviewItem).where(ReviewItem.list_id == review_list.id,
                                                    ReviewItem.case_pk == case.id)).one()


def _field(kind: str, case_id: str) -> str:
    return {"review": "decision", "approval": "approval", "pending": "cancel"}[kind] + f"_{case_id}"


def _apply(session: Session, kind: str, item: ReviewItem, answer: Answer, actor: str,
           now: datetime) -> Disposal | None:
    case = item.case
    if kind == "review" and answer.decision == "retain":
        case.review_on = answer.review_on
        audit.append(session, actor=actor, action="review.retained", case_id=case.case_id,
                     details={"review_on": case.review_on.isoformat() if case.review_on else None})
        return None
    if kind == "review":
        return propose(session, case, proposer=actor, reason=answer.reason or "", now=now)
    disposal = live_disposal(session, case)
    if disposal is None:
        raise DisposalRefused("This case's disposal is no longer under way")
    if kind == "approval" and answer.decision == "approve":
        approve(session, disposal, approver=actor, reason=answer.reason, now=now)
        return disposal
    if kind == "approval":
        reject(session, disposal, approver=actor, reason=answer.reason or "", now=now)
        return None
    cancel(session, disposal, actor=actor, reason=answer.reason or "", now=now)
    return None


def _tell_who_may_stop_it(session: Session, disposals: list[Disposal]) -> None:
    """The proposer and the approver each get a list of what will be erased, and when."""
    people = {d.proposed_by for d in disposals} | {d.approved_by for d in disposals if d.approved_by}
    for person in sorted(people):
        staff_id = person.removeprefix("staff:")
        waiting = open_list(session, "pending", staff_id, run_id=None)
        mine = [d for d in disposals if person in (d.proposed_by, d.approved_by)]
        session.add_all(ReviewItem(list_id=waiting.id, case_pk=d.case_pk) for d in mine)
        session.flush()
        waiting.due_at = max(d.erase_at for d in mine if d.erase_at is not None)
        waiting.remind_at = None  # nothing to answer: it is there to be stopped, or left alone
        send_list(session, waiting)


def as_answers(kind: str, data: dict[str, Any], case_ids: list[str]) -> dict[str, Answer]:
    """The validated form (fields `decision_<case_id>` ...) as answers by case reference."""
    key = {"review": "decision", "approval": "approval", "pending": "cancel"}[kind]
    found: dict[str, Answer] = {}
    for case_id in case_ids:
        choice = data.get(f"{key}_{case_id}")
        if kind == "pending":
            choice = "cancel" if choice else None
        if choice:
            found[case_id] = Answer(choice, data.get(f"reason_{case_id}"), data.get(f"review_on_{case_id}"))
    return found
