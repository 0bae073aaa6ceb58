"""An open step through the admin API: send its link again, or give it to someone else.

The routes live on `admin_api.bp`, so its bearer-token check and JSON errors apply; the
domain is `sharing.resend`. Golden rule 5 (a task never waits on a lost email or an absent
colleague) and 7 (each is audited with the token's name; a reassignment's reason is kept encrypted
beside its event and erased with the case).

Errors: an unknown case, or a step not of this case → 404; a step that is not open, or
whose assignee cannot be emailed → 409, saying so; for a reassignment, a body that is not
a JSON object → 400, not `application/json` → 415, and field errors (including a
`staff_id` who is not an active holder of the step's role) → 422 by field.
"""

from __future__ import annotations

from flask import Response, jsonify
from marshmallow import ValidationError

from infoshare_workflow.schemas.api import StepReassignSchema, StepSchema
from infoshare_workflow.sharing.resend import (
    InvalidReassignment,
    StepNotFound,
    StepUnavailable,
    find_step,
    reassign_step,
    resend_link,
)
from infoshare_workflow.webhooks import runtime
from infoshare_workflow.webhooks.admin_api import actor, bp, error, json_body, row_id


@bp.post("/cases/<case_id>/steps/<step_id>/resend")
def resend_step_link(case_id: str, step_id: str) -> Response:
    try:
        with runtime().transaction() as session:
            step = find_step(session, case_id, row_id(step_id))
            resend_link(session, step, actor=actor())
            body = StepSchema().dump(step)
    except StepNotFound as exc:
        return error(404, str(exc))
    except StepUnavailable as exc:
        return error(409, str(exc))
    return jsonify(body)


@bp.post("/cases/<case_id>/steps/<step_id>/reassign")
def reassign_open_step(case_id: str, step_id: str) -> Response:
    payload = json_body()
    try:
        data = StepReassignSchema().load(payload)
        with runtime().transaction() as session:
            step = find_step(session, case_id, row_id(step_id))
            reassign_step(session, step, data["staff_id"], reason=data["reason"], actor=actor())
            body = StepSchema().dump(step)
    except ValidationError as exc:
        return error(422, "Invalid reassignment.", errors=exc.messages)
    except InvalidReassignment as exc:
        return error(422, "Invalid reassignment.", errors=exc.errors)
    except StepNotFound as exc:
        return error(404, str(exc))
    except StepUnavailable as exc:
        return error(409, str(exc))
    return jsonify(body)
