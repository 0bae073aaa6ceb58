"""Answering a task link: validate the form against the step's rules, then use the link once.

Validation runs before the link is claimed, so a form with errors can be corrected and
sent again; a valid answer claims the link and records the decision in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema
from sqlalchemy.orm import Session

from infoshare_workflow.schemas.forms import (
    ConsentFormSchema,
    ConsultationFormSchema,
    InformationFormSchema,
    ReconsiderationFormSchema,
    ShareFormSchema,
)
from infoshare_workflow.sharing.consent import record_consent
from infoshare_workflow.sharing.consultation import record_advice, record_information
from infoshare_workflow.sharing.decision import active_recipients, consent_outcome, record_share_decision
from infoshare_workflow.sharing.family_notice import record_reconsideration
from infoshare_workflow.sharing.steps import claim, resolve_link
from infoshare_workflow.storage.models import Case, Step

RECORDERS: dict[str, Callable[[Session, Case, Step, dict[str, Any], str], None]] = {
    "consent": record_consent,
    "consultation": record_advice,
    "information": record_information,
    "share": record_share_decision,
    "reconsideration": record_reconsideration,
}


def form_for(session: Session, step: Step, case: Case, zone: str) -> Schema:
    if step.kind == "consent":
        return ConsentFormSchema(zone=zone)
    if step.kind == "consultation":
        return ConsultationFormSchema()
    if step.kind == "information":
        return InformationFormSchema()
    if step.kind == "reconsideration":
        return ReconsiderationFormSchema()
    return ShareFormSchema(consent_outcome=consent_outcome(case),
                           recipient_ids={r.id for r in active_recipients(session)})


def check(session: Session, link_id: str, form: dict[str, Any], zone: str) -> dict[str, Any]:
    """Validate an answer without using the link (for "check your answers"); ValidationError if wrong."""
    _, step, case = resolve_link(session, link_id)
    return form_for(session, step, case, zone).load(form)  # type: ignore[no-any-return]


def answer(session: Session, link_id: str, form: dict[str, Any], zone: str) -> tuple[Case, Step]:
    """Raises LinkUnknown, LinkGone, or marshmallow's ValidationError (nothing changed)."""
    _, step, case = resolve_link(session, link_id)
    data = form_for(session, step, case, zone).load(form)
    link, step, case = claim(session, link_id)
    RECORDERS[step.kind](session, case, step, data, f"staff:{link.assignee}")
    return case, step
