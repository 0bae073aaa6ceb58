"""The admin JSON API under /api/v1 (INTERFACES.md §3), behind hashed bearer tokens."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from infoshare_workflow import audit, inbox
from infoshare_workflow.admin_tokens import authenticate
from infoshare_workflow.case_queries import case_view, disclosure_view, get_case, list_cases, received_view
from infoshare_workflow.disclosure_access import disclosure_of_case, revoke
from infoshare_workflow.models import AuditEvent
from infoshare_workflow.openapi import openapi_document
from infoshare_workflow.schemas.api import (
    AuditEventSchema, AuditVerificationSchema, CasePageSchema, CaseQuerySchema, CaseSchema, DisclosureSchema,
)

from . import runtime

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")


def _error(status: int, message: str, **extra: Any) -> Response:
    response = jsonify({"status": "error", "message": message, **extra})
    response.status_code = status
    return response


@bp.before_request
def _require_token() -> Response | None:
    if request.endpoint == "admin_api.openapi":  # the contract holds no data; integrators fetch it first
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return _unauthorized()
    with runtime().transaction() as session:
        token = authenticate(session, presented.strip())
        if token is None:
            return _unauthorized()
        g.admin = token.name
    return None


def _unauthorized() -> Response:
    response = _error(401, "A valid bearer token is required.")
    response.headers["WWW-Authenticate"] = 'Bearer realm="infoshare"'
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return _error(exc.code or 500, exc.description or exc.name)


def _encode_cursor(row_id: int | None) -> str | None:
    return None if row_id is None else base64.urlsafe_b64encode(json.dumps({"before": row_id}).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        before = json.loads(base64.urlsafe_b64decode(cursor.encode()))["before"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValidationError({"cursor": ["Not a valid cursor."]}) from exc
    if not isinstance(before, int):
        raise ValidationError({"cursor": ["Not a valid cursor."]})
    return before


@bp.get("/cases")
def cases() -> Response:
    try:
        args = CaseQuerySchema().load(request.args.to_dict())
        before = _decode_cursor(args["cursor"]) if "cursor" in args else None
    except ValidationError as exc:
        return _error(422, "Invalid query.", errors=exc.messages)
    with runtime().transaction() as session:
        rows, next_id = list_cases(session, status=args.get("status"), overdue=args.get("overdue"),
                                   limit=args["limit"], before_id=before)
        page = CasePageSchema().dump({"items": [case_view(c) for c in rows], "next_cursor": _encode_cursor(next_id)})
    return jsonify(page)


@bp.get("/cases/<case_id>")
def case(case_id: str) -> Response:
    with runtime().transaction() as session:
        found = get_case(session, case_id)
        if found is not None:
            return jsonify(CaseSchema().dump(case_view(found, inbox.received_at(session, case_id))))
        entry = inbox.received_case(session, case_id)
        if entry is None:
            return _error(404, "No such case.")
        return jsonify(CaseSchema().dump(received_view(entry)))


@bp.get("/cases/<case_id>/audit")
def case_audit(case_id: str) -> Response:
    with runtime().transaction() as session:
        if get_case(session, case_id) is None:
            return _error(404, "No such case.")
        events = audit.case_events(session, case_id)
        items = [
            AuditEventSchema().dump({**_audit_row(e), "details": json.loads(e.details)}) for e in events
        ]
    return jsonify({"items": items})


def _audit_row(event: AuditEvent) -> dict[str, Any]:
    return {"seq": event.seq, "at": event.at, "actor": event.actor, "action": event.action,
            "case_id": event.case_id, "hash": event.hash}


@bp.post("/cases/<case_id>/disclosures/<int:disclosure_id>/revoke")
def revoke_disclosure(case_id: str, disclosure_id: int) -> Response:
    """Kill a disclosure's link now (golden rule 6): it stays on record, and opens nothing more."""
    with runtime().transaction() as session:
        found = disclosure_of_case(session, case_id, disclosure_id)
        if found is None:
            return _error(404, "No such disclosure in this case.")
        revoke(session, found, actor=f"admin:{g.admin}"[:64], reason="revoked")
        return jsonify(DisclosureSchema().dump(disclosure_view(found)))


@bp.get("/audit/verify")
def audit_verify() -> Response:
    with runtime().transaction() as session:
        result = audit.verify(session)
    return jsonify(AuditVerificationSchema().dump(result.as_dict()))


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


from . import recipients_api  # noqa: E402,F401  (routes on this blueprint)
