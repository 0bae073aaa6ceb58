"""`GET/POST /tasks/{token}`: the emailed task pages (INTERFACES.md §2).

GET only shows (mail scanners fetch every link); POST validates, then uses the link once
and records the answer. Errors come back beside their fields with what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from infoshare_workflow import vocabulary
from infoshare_workflow.access.links import CSRF_SALT, TASK_SALT, LinkState
from infoshare_workflow.cases.context import full_view, pseudonymised_view
from infoshare_workflow.sharing.answers import answer
from infoshare_workflow.sharing.decision import active_recipients, consent_outcome
from infoshare_workflow.sharing.steps import STEP_LABELS, LinkGone, LinkUnknown, resolve_link
from infoshare_workflow.storage.models import Case, Staff, Step, TaskLink
from infoshare_workflow.timeliness.due_dates import signature_max_age
from infoshare_workflow.webhooks import runtime
from infoshare_workflow.webhooks.pages import gone, page, signer, unknown, unsign

bp = Blueprint("task_links", __name__)
MULTI = ("recipients", "items")


def _max_age() -> Any:
    return signature_max_age(runtime().settings.policy.task_link_lifetime)


@bp.errorhandler(LinkUnknown)
def _unknown_link(_: LinkUnknown) -> Response:
    return unknown()


@bp.errorhandler(LinkGone)
def _gone_link(_: LinkGone) -> Response:
    return gone("task")


def _link_id(token: str) -> str:
    """The link id the token signs; LinkUnknown (404) or LinkGone (410) otherwise."""
    state, link_id = unsign(token, TASK_SALT, _max_age())
    if state is LinkState.UNKNOWN:
        raise LinkUnknown(token)
    if state is LinkState.GONE or link_id is None:
        raise LinkGone(token)
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
        values=values, errors=errors, csrf_token=signer().sign(link.id, CSRF_SALT), vocab=vocabulary,
        recipients=active_recipients(session) if step.kind == "share" else [],
        consent_outcome=consent_outcome(case), question=question if step.kind == "information" else None,
    )


@bp.get("/tasks/<token>")
def show(token: str) -> Response:
    link_id = _link_id(token)
    with runtime().transaction() as session:
        link, step, case = resolve_link(session, link_id)
        return _render(session, token, link, step, case, values=dict(step.prefill or {}), errors={}, status=200)


def _form() -> dict[str, Any]:
    return {key: (request.form.getlist(key) if key in MULTI else request.form.get(key, ""))
            for key in request.form if key != "csrf_token"}


@bp.post("/tasks/<token>")
def submit(token: str) -> Response:
    link_id = _link_id(token)
    with runtime().transaction() as session:
        resolve_link(session, link_id)  # a used or closed link is 410 before anything else
    csrf_state, csrf_link = unsign(request.form.get("csrf_token", ""), CSRF_SALT, _max_age())
    if csrf_state is not LinkState.LIVE or csrf_link != link_id:
        return page("pages/form_expired.html", 400, token=token)
    form = _form()
    try:
        with runtime().transaction() as session:
            case, step = answer(session, link_id, form, runtime().settings.timezone)
            case_id, kind = case.case_id, step.kind
    except ValidationError as exc:
        with runtime().transaction() as session:
            link, step, case = resolve_link(session, link_id)
            return _render(session, token, link, step, case, values=form, errors=exc.messages_dict, status=422)
    return redirect(url_for("task_links.recorded", case_id=case_id, step=kind), code=303)


@bp.get("/tasks/recorded")
def recorded() -> Response:
    """The confirmation page; it names the case reference and the step, nothing else."""
    step = request.args.get("step", "")
    return page("pages/recorded.html", case_id=request.args.get("case_id", "")[:32],
                step_label=STEP_LABELS.get(step, "Task"))
