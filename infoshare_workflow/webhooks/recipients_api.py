"""The recipient directory in the admin API (INTERFACES.md §3), on the admin blueprint.

The routes live on `admin_api.bp`, so its bearer-token check and JSON errors apply.
`DELETE /api/v1/recipients/{id}` deactivates the entry and answers 204: disclosures point
at their recipient, and the record of who received what is kept (golden rule 7).

Errors: body not parseable JSON, or not an object → 400; `Content-Type` not
`application/json` → 415 (as on the MIS webhook); schema errors → 422 with `errors` by
field; an unknown id → 404; a change to a deactivated entry → 409, saying so: it is
brought back first, knowingly, with `POST /api/v1/recipients/{id}/reactivate`.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from marshmallow import ValidationError

from infoshare_workflow.schemas.recipients import RecipientCreateSchema, RecipientSchema
from infoshare_workflow.sharing.recipients import (
    InvalidRecipient,
    RecipientInactive,
    RecipientNotFound,
    add_recipient,
    deactivate_recipient,
    list_recipients,
    reactivate_recipient,
    update_recipient,
)
from infoshare_workflow.webhooks import runtime
from infoshare_workflow.webhooks.admin_api import actor, bp, error, json_body, row_id

NOT_FOUND = "No such recipient."


def _invalid(errors: Any) -> Response:
    return error(422, "Invalid recipient.", errors=errors)


@bp.get("/recipients")
def recipients() -> Response:
    with runtime().transaction() as session:
        items = RecipientSchema(many=True).dump(list_recipients(session))
    return jsonify({"items": items})


@bp.post("/recipients")
def create_recipient() -> Response:
    try:
        data = RecipientCreateSchema().load(json_body())
        with runtime().transaction() as session:
            body = RecipientSchema().dump(add_recipient(session, **data, actor=actor()))
    except ValidationError as exc:
        return _invalid(exc.messages)
    except InvalidRecipient as exc:
        return _invalid(exc.errors)
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.patch("/recipients/<recipient_id>")
def patch_recipient(recipient_id: str) -> Response:
    found = row_id(recipient_id)
    try:
        if found is None:
            raise RecipientNotFound(recipient_id)
        changes = json_body()
        with runtime().transaction() as session:  # the domain looks the entry up, then validates
            body = RecipientSchema().dump(update_recipient(session, found, changes, actor=actor()))
    except RecipientNotFound:
        return error(404, NOT_FOUND)
    except RecipientInactive:
        return error(409, f"This recipient is deactivated. To change it, first bring it back: "
                           f"POST /api/v1/recipients/{found}/reactivate.")
    except InvalidRecipient as exc:
        return _invalid(exc.errors)
    return jsonify(body)


@bp.post("/recipients/<recipient_id>/reactivate")
def reactivate(recipient_id: str) -> Response:
    """Bring a deactivated entry back onto the share list; repeating it is harmless."""
    found = row_id(recipient_id)
    try:
        if found is None:
            raise RecipientNotFound(recipient_id)
        with runtime().transaction() as session:
            body = RecipientSchema().dump(reactivate_recipient(session, found, actor=actor()))
    except RecipientNotFound:
        return error(404, NOT_FOUND)
    return jsonify(body)


@bp.delete("/recipients/<recipient_id>")
def delete_recipient(recipient_id: str) -> Response:
    """Deactivates, never deletes (see the module docstring); repeating it is harmless."""
    found = row_id(recipient_id)
    try:
        if found is None:
            raise RecipientNotFound(recipient_id)
        with runtime().transaction() as session:
            deactivate_recipient(session, found, actor=actor())
    except RecipientNotFound:
        return error(404, NOT_FOUND)
    return Response(status=204)
