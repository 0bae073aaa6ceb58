"""A review list's page behind `/tasks/{token}`: the DSL's review, a manager's approvals, or the
disposals one may still stop (INTERFACES.md §2).

GET shows the cases still to answer (at most PAGE_SIZE at a time), each on a summary card;
POST records the cases answered and comes back for the rest, so a list is answered in parts.
When the last case is answered the link dies and the confirmation page says what follows.
"""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow import vocabulary
from infoshare_workflow.access.links import CSRF_SALT, RECEIPT_SALT, LinkState
from infoshare_workflow.review.answers import AnswerRefused, as_answers, record
from infoshare_workflow.review.disposals import live_disposal
from infoshare_workflow.review.lists import count_open, link_state, open_cases
from infoshare_workflow.schemas.review_forms import review_form
from infoshare_workflow.settings.policy import policy_of
from infoshare_workflow.storage.models import Case, Disposal, ReviewLink, ReviewList, Staff
from infoshare_workflow.webhooks.pages import gone, page, signer

PAGE_SIZE = 25
TITLES = {"review": "Retention review", "approval": "Approve disposals", "pending": "Disposals waiting to be erased"}


def show(session: Session, token: str, link: ReviewLink, *, values: dict[str, Any] | None = None,
         errors: dict[str, str] | None = None, status: int = 200) -> Response:
    if link_state(session, link) is not LinkState.LIVE:
        return gone("task")
    review_list = session.get_one(ReviewList, link.list_id)
    cases = open_cases(session, review_list, PAGE_SIZE)
    remaining = count_open(session, review_list)
    return page("pages/review_list.html", status, token=token, kind=review_list.kind, title=TITLES[review_list.kind],
                cards=[_card(session, case) for case in cases], remaining=remaining, due_at=review_list.due_at,
                values=values or {}, errors=errors or {}, recorded=request.args.get("recorded", type=int),
                second_approval_off=not policy_of(session).second_approval,
                csrf_token=signer().sign(link.id, CSRF_SALT), vocab=vocabulary)


def _card(session: Session, case: Case) -> dict[str, Any]:
    disposal = live_disposal(session, case)
    proposer = _name(session, disposal.proposed_by) if disposal else None
    return {"case_id": case.case_id, "summary": case.concern.summary, "category": case.retention_category,
            "threshold": case.threshold, "outcome": case.outcome, "opened_at": case.opened_at,
            "closed_at": case.closed_at, "review_on": case.review_on, "legal_hold": case.legal_hold,
            "history": [(d.kind, d.recorded_at) for d in case.decisions],
            "proposed_by": proposer, "proposal_reason": disposal.proposal_reason if disposal else None,
            "erase_at": disposal.erase_at if disposal else None}


def _name(session: Session, actor: str) -> str:
    staff = session.get(Staff, actor.removeprefix("staff:"))
    return (staff.name if staff and staff.name else None) or actor.removeprefix("staff:")


def submit(runtime: Any, token: str, link_id: str) -> Response:
    """Record what was answered; the rest stays on the list for later. A refused answer rolls
    back the whole submission (nothing half-recorded) and the page comes back with the reasons."""
    form = {key: value for key, value in request.form.items() if key != "csrf_token"}
    try:
        with runtime.transaction() as session:
            link = session.get_one(ReviewLink, link_id)
            if link_state(session, link) is not LinkState.LIVE:
                return gone("task")
            review_list = session.get_one(ReviewList, link.list_id)
            case_ids = [case.case_id for case in open_cases(session, review_list, PAGE_SIZE)]
            data = review_form(review_list.kind, case_ids).load(form)
            done = record(session, review_list, as_answers(review_list.kind, data, case_ids),
                          f"staff:{link.assignee}")
            finished = review_list.id if review_list.completed_at is not None else None
    except (ValidationError, AnswerRefused) as exc:
        errors = exc.messages_dict if isinstance(exc, ValidationError) else exc.errors
        with runtime.transaction() as session:
            return show(session, token, session.get_one(ReviewLink, link_id), values=form, errors=errors, status=422)
    if finished is not None:
        receipt = signer().sign(f"list-{finished}", RECEIPT_SALT)
        return redirect(url_for("task_links.recorded", receipt=receipt), code=303)
    return redirect(url_for("task_links.show", token=token, recorded=done), code=303)


def completed(session: Session, list_id: int) -> Response:
    """The confirmation page of a finished list: what its answers lead to."""
    review_list = session.get(ReviewList, list_id)
    if review_list is None or review_list.completed_at is None:
        return page("pages/not_found.html", 404)
    decisions = [item.decision for item in review_list.items]
    waiting = session.scalars(select(Disposal.erase_at).where(
        Disposal.case_pk.in_([i.case_pk for i in review_list.items]), Disposal.status == "pending")).all()
    return page("pages/review_done.html", kind=review_list.kind, kept=decisions.count("retain"),
                proposed=decisions.count("dispose"), approved=decisions.count("approve"),
                rejected=decisions.count("reject"), stopped=decisions.count("cancel"),
                erase_at=min(waiting) if waiting else None)
