"""A case's retention through the admin API: legal hold, and stopping a disposal under way.

`PUT /api/v1/cases/{case_id}/legal-hold` (`{"legal_hold": true, "reason": "…"}`) places or
lifts a hold (DOMAIN.md "Retention": a held case can't be disposed of; a hold stops a
disposal under way); `POST /api/v1/cases/{case_id}/disposal/cancel` (`{"reason": "…"}`)
stops a proposed or waiting disposal. Both are audited with the token's name and answer
the case as `GET /api/v1/cases/{case_id}` does. Errors: unknown case → 404; a disposed
case, or no disposal under way to cancel → 409; field errors → 422 by field.
"""

from __future__ import annotations

from flask import Response, jsonify
from marshmallow import ValidationError

from infoshare_workflow.cases import inbox
from infoshare_workflow.cases.queries import case_view, get_case
from infoshare_workflow.review.disposals import DisposalRefused, cancel, live_disposal
from infoshare_workflow.review.holds import set_legal_hold
from infoshare_workflow.schemas.api import CaseSchema, DisposalCancelSchema, LegalHoldSchema
from infoshare_workflow.webhooks import runtime
from infoshare_workflow.webhooks.admin_api import actor, bp, error, json_body


@bp.put("/cases/<case_id>/legal-hold")
def legal_hold(case_id: str) -> Response:
    payload = json_body()
    try:
        data = LegalHoldSchema().load(payload)
    except ValidationError as exc:
        return error(422, "Invalid legal hold.", errors=exc.messages)
    with runtime().transaction() as session:
        case = get_case(session, case_id)
        if case is None:
            return error(404, "No such case.")
        if case.status == "disposed":
            return error(409, "This case has been disposed of: there is nothing left to hold.")
        set_legal_hold(session, case, hold=data["legal_hold"], reason=data["reason"], actor=actor())
        session.flush()
        return jsonify(CaseSchema().dump(case_view(case, inbox.received_at(session, case_id))))


@bp.post("/cases/<case_id>/disposal/cancel")
def cancel_disposal(case_id: str) -> Response:
    payload = json_body()
    try:
        data = DisposalCancelSchema().load(payload)
    except ValidationError as exc:
        return error(422, "Invalid cancellation.", errors=exc.messages)
    with runtime().transaction() as session:
        case = get_case(session, case_id)
        if case is None:
            return error(404, "No such case.")
        disposal = live_disposal(session, case)
        try:
            if disposal is None:
                raise DisposalRefused("No disposal of this case is under way.")
            cancel(session, disposal, actor=actor(), reason=data["reason"])
        except DisposalRefused as exc:
            return error(409, str(exc))
        session.flush()
        return jsonify(CaseSchema().dump(case_view(case, inbox.received_at(session, case_id))))
