"""The admin JSON API's blueprint under /api/v1 (INTERFACES.md §3), behind hashed bearer tokens.

This module owns the door: the token check, JSON errors, who the actor is, and the
API-wide routes (audit verification, the OpenAPI document). The case, step and recipient
routes live in `cases_api`, `steps_api` and `recipients_api`, on this same blueprint, so one
rate limit and one token check cover them all.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from infoshare_workflow.access.admin_tokens import authenticate
from infoshare_workflow.records import audit
from infoshare_workflow.schemas import strict_json
from infoshare_workflow.schemas.api import AuditVerificationSchema
from infoshare_workflow.schemas.strict_json import JsonBodyError
from infoshare_workflow.webhooks import JSON_LIMIT, json_error, limit_body, runtime
from infoshare_workflow.webhooks.openapi import openapi_document

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")
bp.before_request(limit_body(JSON_LIMIT))
MAX_ROW_ID = 2**31 - 1  # an INTEGER primary key


class BadBody(Exception):
    """The request body is not a JSON object (400) or not JSON at all (415); `response` says so."""

    def __init__(self, response: Response) -> None:
        self.response = response


@bp.errorhandler(BadBody)
def _bad_body(exc: BadBody) -> Response:
    return exc.response


def json_body() -> dict[str, Any]:
    """The request's JSON object, read strictly (a repeated key is a 400, never "the last wins")."""
    if not request.is_json:
        raise BadBody(error(415, "Content-Type must be application/json."))
    try:
        payload = strict_json.loads(request.get_data())
    except JsonBodyError as exc:
        raise BadBody(error(400, str(exc))) from None
    if not isinstance(payload, dict):
        raise BadBody(error(400, "Body must be a JSON object."))
    return payload


def csv_attachment(text: str, filename: str) -> Response:
    """A CSV download, kept out of caches like every answer of the admin API."""
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def error(status: int, message: str, **extra: Any) -> Response:
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
    response = error(401, "A valid bearer token is required.")
    response.headers["WWW-Authenticate"] = 'Bearer realm="infoshare"'
    return response


@bp.errorhandler(HTTPException)
def _httperror(exc: HTTPException) -> Response:
    """Every error in JSON; one that carries its own response (a 429) keeps it."""
    return exc.response if exc.response is not None else json_error(exc)


def row_id(raw: str) -> int | None:
    """An id from a path, as a number a row can have; None for anything else (a JSON 404 then,
    behind the token check, rather than a routing 404 or a database overflow)."""
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ROW_ID else None


def actor() -> str:
    """Who did it, for the audit trail: the admin token's name (its secret is never recorded)."""
    return f"admin:{g.admin}"[:64]


@bp.get("/audit/verify")
def audit_verify() -> Response:
    with runtime().transaction() as session:
        result = audit.verify(session)
    return jsonify(AuditVerificationSchema().dump(result.as_dict()))


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())

