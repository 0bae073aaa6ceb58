"""`POST /webhooks/mis`: the signed MIS receiver of INTERFACES.md §1.

Checks run cheapest first and nothing is stored until the signature holds. The validated
event is committed to the inbox before the 2xx is sent, so an accepted event is never lost,
and a worker applies it right after (intake.accept / intake.apply_pending); a database outage
answers 503 with Retry-After, having stored nothing.
"""

from __future__ import annotations

import binascii
import json
import logging
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.exceptions import RequestEntityTooLarge

from infoshare_workflow.intake import UnknownConcern, record_rejection, take_in
from infoshare_workflow.metrics import count_event
from infoshare_workflow.schemas.mis_events import load_event
from infoshare_workflow.vocabulary import EVENT_TYPES

from . import runtime

bp = Blueprint("mis", __name__)
log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
RETRY_AFTER_SECONDS = "30"


def _answer(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _reject(status: int, reason: str, body: dict[str, Any], event_type: Any = None,
            errors: Any = None) -> Response:
    """Audit the rejection by reason (never the payload) and answer."""
    known_type = event_type if event_type in EVENT_TYPES else None
    count_event(known_type or "unknown", "rejected")
    event_id = request.headers.get("webhook-id")
    log.info("mis event rejected: reason=%s status=%s", reason, status)
    try:
        with runtime().transaction() as session:
            record_rejection(session, via="http", reason=reason, event_id=event_id,
                             event_type=known_type, errors=errors)
    except (OperationalError, InterfaceError):
        log.warning("could not audit a rejected mis event: database unavailable")
    return _answer(status, body)


@lru_cache(maxsize=4)
def _verifier(secret: str) -> Webhook:
    """One verifier per secret (it decodes the secret once), not one per request."""
    return Webhook(secret)


def _unavailable() -> Response:
    response = _answer(503, {"status": "unavailable"})
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _read_body() -> bytes | None:
    """The raw body, or None when it is over the limit (declared, or read from a chunked stream)."""
    request.max_content_length = MAX_BODY
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        return None


@bp.post("/webhooks/mis")
def receive() -> Response:
    body = _read_body()
    if body is None:
        return _reject(413, "too_large", {"status": "invalid", "message": "Body is over 256 KiB."})
    if request.mimetype != "application/json":
        return _reject(415, "content_type",
                       {"status": "invalid", "message": "Content-Type must be application/json."})
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _reject(400, "not_json", {"status": "invalid", "message": "Body is not UTF-8 JSON."})
    settings = runtime().settings
    try:
        signature = {name: request.headers.get(name, "") for name in SIGNATURE_HEADERS}  # empty = missing
        _verifier(settings.mis_webhook_secret).verify(text, signature, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error):
        return _reject(401, "signature", {"status": "unauthorized", "message": "Signature verification failed."})
    try:
        payload = json.loads(text)
    except ValueError:
        return _reject(400, "not_json", {"status": "invalid", "message": "Body is not valid JSON."})
    if not isinstance(payload, dict):
        return _reject(400, "not_json", {"status": "invalid", "message": "Body must be a JSON object."})
    event_id = request.headers["webhook-id"]
    if len(event_id) > 255:
        errors = {"webhook-id": ["Longer than 255 characters."]}
        return _reject(422, "schema", {"status": "invalid", "errors": errors}, payload.get("type"), errors)
    try:
        event = load_event(payload)
    except ValidationError as exc:
        return _reject(422, "schema", {"status": "invalid", "errors": exc.messages}, payload.get("type"),
                       exc.messages)
    try:
        result = take_in(runtime(), event_id, text, event, via="http")
    except UnknownConcern:
        errors = {"data": {"concern_id": ["Unknown concern."]}}
        return _reject(422, "unknown_concern", {"status": "invalid", "errors": errors}, event.type, errors)
    except (OperationalError, InterfaceError) as exc:
        log.error("mis event not stored: database unavailable (%s)", type(exc).__name__)
        return _unavailable()
    count_event(event.type, result.status)
    log.debug("mis event %s: type=%s case=%s", result.status, event.type, result.case_id)
    body_out = {"status": result.status, "event_id": result.event_id, "case_id": result.case_id}
    return _answer(202 if result.status == "accepted" else 200, body_out)
