"""`GET/POST /tasks/{token}`: the emailed task pages (INTERFACES.md §2).

GET only shows (mail scanners fetch every link); POST validates, then uses the link once
and records the answer. Errors come back in one round, beside their fields, with what was
typed. A share is checked before it leaves the school: a valid share form answers with a
"check your answers" page whose one form carries the answers back; only its `confirm`
records, claims the link and sends (golden rule 6: share securely, only what is needed).
A dead link whose task is still open offers to email its assignee a fresh one. The
confirmation page is reached only through a signed receipt, never a query string.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow import vocabulary
from infoshare_workflow.access.links import CSRF_SALT, RECEIPT_SALT, TASK_SALT, LinkState
from infoshare_workflow.cases.context import full_view, pseudonymised_view
from infoshare_workflow.review.lists import find_link as find_review_link
from infoshare_workflow.sharing.answers import answer, check
from infoshare_workflow.sharing.decision import active_recipients, consent_outcome
from infoshare_workflow.sharing.family_notice import held_back
from infoshare_workflow.sharing.resend import StepUnavailable, request_fresh_link
from infoshare_workflow.sharing.steps import STEP_LABELS, LinkGone, LinkUnknown, resolve_link
from infoshare_workflow.storage.models import Case, Recipient, Staff, Step, TaskLink
from infoshare_workflow.timeliness.due_dates import signature_max_age
from infoshare_workflow.webhooks import FORM_LIMIT, limit_body, review_pages, runtime
from infoshare_workflow.webhooks.pages import gone, page, signer, unknown, unsign

bp = Blueprint("task_links", __name__)
bp.before_request(limit_body(FORM_LIMIT))
MULTI = ("recipients", "items")
CONTROLS = ("csrf_token", "confirm", "change")
DATE_PARTS = {"sought_at": ("day", "month", "year", "time"), "reconsider_on": ("day", "month", "year")}


def _max_age() -> Any:
    return signature_max_age(runtime().settings.policy.task_link_lifetime)


@bp.errorhandler(LinkUnknown)
def _unknown_link(_: LinkUnknown) -> Response:
    return unknown()


@bp.errorhandler(LinkGone)
def _gone_link(exc: LinkGone) -> Response:
    """410; while the task is still open, a button emails its assignee a fresh link."""
    link_id = exc.args[0] if exc.args else None
    token = (request.view_args or {}).get("token")
    if link_id is None or token is None:
        return gone("task")
    with runtime().transaction() as session:
        link = session.get(TaskLink, link_id)
        step = session.get(Step, link.step_id) if link is not None else None
        still_open = step is not None and step.status == "open"
    if not still_open:
        return gone("task")
    return gone("task", new_link=url_for("task_links.new_link", token=token),
                csrf_token=signer().sign(link_id, CSRF_SALT))


def _link_id(token: str) -> str:
    """The link id the token signs; LinkUnknown (404) or LinkGone (410) otherwise."""
    state, link_id = unsign(token, TASK_SALT, _max_age())
    if state is LinkState.UNKNOWN:
        raise LinkUnknown(token)
    if state is LinkState.GONE or link_id is None:
        raise LinkGone(None)  # the signature itself expired: which task it was is not known
    return link_id


def _render(session: Session, token: str, link: TaskLink, step: Step, case: Case, *, values: dict[str, Any],
            errors: dict[str, Any], status: int) -> Response:
    if step.kind == "consultation":
        view = pseudonymised_view(case)
    else:
        view = full_view(case, session.get(Staff, case.concern.reporter_staff_id))
    question = next((d.payload.get("rationale") for d in reversed(case.decisions)
                     if d.kind == "consultation" and d.payload.get("advice") == "more_information"), None)
    return page(
        "pages/task.html", status, token=token, step=step, step_label=STEP_LABELS[step.kind], view=view,
        # The DSL, who knows the case, sees what the manager will see and can catch a slip (golden rule 3).
        manager_view=pseudonymised_view(case) if step.kind in ("consent", "information") else None,
        values=_shown(values), errors=errors, csrf_token=signer().sign(link.id, CSRF_SALT), vocab=vocabulary,
        recipients=active_recipients(session) if step.kind == "share" else [],
        consent_outcome=consent_outcome(case), question=question if step.kind == "information" else None,
        held=held_back(session, case) if step.kind == "reconsideration" else None,
    )


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """Values as the inputs show them: an ISO date posted directly fills the day, month and year."""
    shown = dict(values)
    for name, parts in DATE_PARTS.items():
        iso = str(shown.get(name) or "")
        if iso and not any(shown.get(f"{name}-{p}") for p in parts):
            day = iso[:10].split("-")
            if len(day) == 3:
                shown.update({f"{name}-day": day[2].lstrip("0"), f"{name}-month": day[1].lstrip("0"),
                              f"{name}-year": day[0]})
            if "time" in parts and len(iso) >= 16:
                shown[f"{name}-time"] = iso[11:16]
    return shown


@bp.get("/tasks/<token>")
def show(token: str) -> Response:
    link_id = _link_id(token)
    with runtime().transaction() as session:
        review_link = find_review_link(session, link_id)
        if review_link is not None:  # a retention review list, not a step
            return review_pages.show(session, token, review_link)
        link, step, case = resolve_link(session, link_id)
        return _render(session, token, link, step, case, values=dict(step.prefill or {}), errors={}, status=200)


def _form() -> dict[str, Any]:
    return {key: (request.form.getlist(key) if key in MULTI else request.form.get(key, ""))
            for key in request.form if key not in CONTROLS}


@bp.post("/tasks/<token>")
def submit(token: str) -> Response:
    link_id = _link_id(token)
    with runtime().transaction() as session:
        is_review = find_review_link(session, link_id) is not None
        if not is_review:
            resolve_link(session, link_id)  # a used or closed link is 410 before anything else
    csrf_state, csrf_link = unsign(request.form.get("csrf_token", ""), CSRF_SALT, _max_age())
    if csrf_state is not LinkState.LIVE or csrf_link != link_id:
        return page("pages/form_expired.html", 400, token=token)
    if is_review:
        return review_pages.submit(runtime(), token, link_id)
    form, zone = _form(), runtime().settings.timezone
    try:
        with runtime().transaction() as session:
            link, step, case = resolve_link(session, link_id)
            if step.kind == "share" and "confirm" not in request.form:
                if "change" in request.form:  # back from checking, with what was entered
                    return _render(session, token, link, step, case, values=form, errors={}, status=200)
                return _check_page(session, token, link, case, form, check(session, link_id, form, zone))
        with runtime().transaction() as session:
            case, step = answer(session, link_id, form, zone)
            receipt = signer().sign(str(step.id), RECEIPT_SALT)
    except ValidationError as exc:
        with runtime().transaction() as session:
            link, step, case = resolve_link(session, link_id)
            return _render(session, token, link, step, case, values=form, errors=exc.messages_dict, status=422)
    return redirect(url_for("task_links.recorded", receipt=receipt), code=303)


def _check_page(session: Session, token: str, link: TaskLink, case: Case, form: dict[str, Any],
                data: dict[str, Any]) -> Response:
    """Check your answers: every answer with a Change button, the answers carried back hidden."""
    names = dict(session.execute(select(Recipient.id, Recipient.name).where(
        Recipient.id.in_(data.get("recipients") or [0]))).all())
    hidden = [(key, item) for key, value in form.items() for item in (value if isinstance(value, list) else [value])]
    return page("pages/check_share.html", token=token, case_id=case.case_id, data=data, hidden=hidden,
                recipient_names=[names[i] for i in data.get("recipients", []) if i in names],
                consent_outcome=consent_outcome(case), vocab=vocabulary,
                csrf_token=signer().sign(link.id, CSRF_SALT))


@bp.post("/tasks/<token>/new-link")
def new_link(token: str) -> Response:
    """The 410 page's button: email the task's assignee (never the person asking) a fresh link,
    at most once per task per 10 minutes. The answer is the same whoever asks."""
    state, link_id = unsign(token, TASK_SALT, _max_age())
    csrf_state, csrf_link = unsign(request.form.get("csrf_token", ""), CSRF_SALT, _max_age())
    if state is LinkState.UNKNOWN or link_id is None or csrf_state is not LinkState.LIVE or csrf_link != link_id:
        return unknown()
    with runtime().transaction() as session:
        link = session.get(TaskLink, link_id)
        step = session.get(Step, link.step_id) if link is not None else None
        if step is None or step.status != "open":
            return gone("task")
        try:
            outcome = "sent" if request_fresh_link(session, step) else "recently"
        except StepUnavailable:  # nobody who can be emailed holds the task: a person must hand it on
            outcome = "unreachable"
    return page("pages/new_link.html", outcome=outcome)


@bp.get("/tasks/recorded/<receipt>")
def recorded(receipt: str) -> Response:
    """What happens next for the case, from the database: the signed receipt names the step
    just answered (a made-up one is a 404 that shows nothing)."""
    state, step_id = signer().unsign(receipt, RECEIPT_SALT, _max_age())
    if state is LinkState.LIVE and step_id is not None and step_id.startswith("list-") and step_id[5:].isdigit():
        with runtime().transaction() as session:
            return review_pages.completed(session, int(step_id[5:]))
    if state is not LinkState.LIVE or step_id is None or not step_id.isdigit():
        return unknown()
    with runtime().transaction() as session:
        answered = session.get(Step, int(step_id))
        if answered is None:
            return unknown()
        case = answered.case
        waiting = next((s for s in reversed(case.steps) if s.status == "open"), None)
        holder = session.get(Staff, waiting.assignee) if waiting is not None and waiting.assignee else None
        share = next((d for d in reversed(case.decisions) if d.kind == "share"), None)
        return page("pages/recorded.html", case_id=case.case_id, step_label=STEP_LABELS[answered.kind],
                    closed=case.status == "closed", outcome=case.outcome,
                    shared_with=(share.payload.get("recipient_names") or []) if share else [],
                    next_label=STEP_LABELS[waiting.kind] if waiting else None,
                    next_holder=(holder.name or holder.staff_id) if holder else None,
                    next_due=waiting.due_at if waiting else None)
