"""The admin JSON API under /api/v1 (INTERFACES.md §3), behind hashed bearer tokens."""

from __future__ import annotations

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

from . import json_error, runtime

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")
MAX_ROW_ID = 2**31 - 1  # an INTEGER primary key


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
    """Every error in JSON; one that carries its own response (a 429) keeps it."""
    return exc.response if exc.response is not None else json_error(exc)


def _encode_cursor(row_id: int | None) -> str | None:
    return None if row_id is None else str(row_id)


def row_id(raw: str) -> int | None:
    """An id from a path, as a number a row can have; None for anything else (a JSON 404 then,
    behind the token check, rather than a routing 404 or a database overflow)."""
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ROW_ID else None


def actor() -> str:
    """Who did it, for the audit trail: the admin token's name (its secret is never recorded)."""
    return f"admin:{g.admin}"[:64]


@bp.get("/cases")
def cases() -> Response:
    try:
        args = CaseQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        return _error(422, "Invalid query.", errors=exc.messages)
    before = int(args["cursor"]) if "cursor" in args else None
    with runtime().transaction() as session:
        rows, next_id = list_cases(session, status=args.get("status"), overdue=args.get("overdue"),
                                   limit=args["limit"], before_id=before)
        page = CasePageSchema().dump({"items": [case_view(c) for c in rows], "next_cursor": _encode_cursor(next_id)})
        # Golden rule 7: who looked at which cases is on the record too.
        audit.append(session, actor=actor(), action="cases.listed", details={"case_ids": [c.case_id for c in rows]})
    return jsonify(page)


@bp.get("/cases/<case_id>")
def case(case_id: str) -> Response:
    with runtime().transaction() as session:
        found = get_case(session, case_id)
        if found is not None:
            view = case_view(found, inbox.received_at(session, case_id))
        else:
            entry = inbox.received_case(session, case_id)
            if entry is None:
                return _error(404, "No such case.")
            view = received_view(entry)
        audit.append(session, actor=actor(), action="case.read", case_id=case_id, details={"status": view["status"]})
        return jsonify(CaseSchema().dump(view))


@bp.get("/cases/<case_id>/audit")
def case_audit(case_id: str) -> Response:
    with runtime().transaction() as session:
        if get_case(session, case_id) is None:
            return _error(404, "No such case.")
        events = audit.case_events(session, case_id)
        items = [
            AuditEventSchema().dump({**_audit_row(e), "details": json.loads(e.details)}) for e in events
        ]
        audit.append(session, actor=actor(), action="case.audit_read", case_id=case_id, details={"events": len(items)})
    return jsonify({"items": items})


def _audit_row(event: AuditEvent) -> dict[str, Any]:
    return {"seq": event.seq, "at": event.at, "actor": event.actor, "action": event.action,
            "case_id": event.case_id, "hash": event.hash}


@bp.post("/cases/<case_id>/disclosures/<disclosure_id>/revoke")
def revoke_disclosure(case_id: str, disclosure_id: str) -> Response:
    """Kill a disclosure's link now (golden rule 6): it stays on record, and opens nothing more."""
    with runtime().transaction() as session:
        found = disclosure_of_case(session, case_id, row_id(disclosure_id))
        if found is None:
            return _error(404, "No such disclosure in this case.")
        revoke(session, found, actor=actor(), reason="revoked")
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
