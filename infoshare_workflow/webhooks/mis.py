"""`POST /webhooks/mis`: the signed MIS receiver of INTERFACES.md §1.

Checks run cheapest first and nothing is stored until the signature holds. The validated
event is committed to the inbox before the 2xx is sent, so an accepted event is never lost,
and once it has committed a worker is nudged to apply it at once (storage/nudge.py: by a
thread of this process, so the 202 never waits on Redis; beat's apply every second is the
safety net, and a nudge that cannot be sent never fails the 202);
a database outage answers 503 with Retry-After, having stored nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError

from infoshare_workflow.access.mis_signature import HEADERS, verify
from infoshare_workflow.cases import rejections
from infoshare_workflow.cases.intake import Refusal, ingest
from infoshare_workflow.monitoring.metrics import count_event, count_rejection
from infoshare_workflow.schemas import strict_json
from infoshare_workflow.schemas.strict_json import JsonBodyError
from infoshare_workflow.storage.nudge import request_nudge
from infoshare_workflow.webhooks import runtime

bp = Blueprint("mis", __name__)
log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
RETRY_AFTER_SECONDS = "30"
NOT_JSON = Refusal("not_json", {}, None)


def _answer(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _unauthenticated(status: int, reason: str, body: dict[str, Any]) -> Response:
    """Refused before anyone proved who sent it: counted per reason and minute, not audited one by one."""
    count_rejection("http", reason, None)
    try:
        with runtime().engine.begin() as connection:
            rejections.tally(connection, via="http", reason=reason)
    except (OperationalError, InterfaceError):
        log.warning("could not count a refused mis request: database unavailable")
    return _answer(status, body)


def _refused(status: int, refusal: Refusal, message: str | None = None) -> Response:
    """A signed event refused whole: audited with its field errors, never its payload."""
    count_rejection("http", refusal.reason, refusal.event_type)
    log.info("mis event rejected: reason=%s status=%s", refusal.reason, status)
    try:
        with runtime().transaction() as session:
            rejections.record(session, via="http", reason=refusal.reason, event_id=request.headers.get("webhook-id"),
                              event_type=refusal.event_type, errors=refusal.errors)
    except (OperationalError, InterfaceError):
        log.warning("could not audit a rejected mis event: database unavailable")
    return _answer(status, {"status": "invalid", "errors": refusal.errors} if refusal.errors
                   else {"status": "invalid", "message": message})


def _unavailable() -> Response:
    response = _answer(503, {"status": "unavailable"})
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _read_body() -> bytes | None:
    """The raw body, or None when it is over the limit, declared or not.

    A chunked body declares no length, and Werkzeug's limit then stops reading at the limit
    without telling a body of exactly 256 KiB from a longer one. So an undeclared body is
    read from the server's terminated stream as at most one byte more than the limit: a
    large chunked body is a 413 (and never all in memory), not a 401 for a truncated body.
    """
    declared = request.content_length
    if declared is not None:
        return None if declared > MAX_BODY else request.get_data(cache=False)
    if "wsgi.input_terminated" not in request.environ:
        return b""  # no length, and a server that does not end the stream: nothing is safe to read
    body = request.environ["wsgi.input"].read(MAX_BODY + 1)
    return None if len(body) > MAX_BODY else body


@bp.post("/webhooks/mis")
def receive() -> Response:
    body = _read_body()
    if body is None:
        return _unauthenticated(413, "too_large", {"status": "invalid", "message": "Body is over 256 KiB."})
    if request.mimetype != "application/json":
        return _unauthenticated(415, "content_type",
                                {"status": "invalid", "message": "Content-Type must be application/json."})
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _unauthenticated(400, "not_utf8", {"status": "invalid", "message": "Body is not UTF-8 JSON."})
    event_id, timestamp, signature = (request.headers.get(name, "") for name in HEADERS)  # empty = missing
    if not verify(runtime().settings.mis_webhook_secret, event_id, timestamp, signature, text):
        return _unauthenticated(401, "signature",
                                {"status": "unauthorized", "message": "Signature verification failed."})
    try:
        payload = strict_json.loads(text)
    except JsonBodyError as exc:
        return _refused(400, NOT_JSON, str(exc))
    if not isinstance(payload, dict):
        return _refused(400, NOT_JSON, "Body must be a JSON object.")
    try:
        outcome = ingest(runtime(), event_id, text, payload, via="http")
    except (OperationalError, InterfaceError) as exc:
        log.error("mis event not stored: database unavailable (%s)", type(exc).__name__)
        return _unavailable()
    if isinstance(outcome, Refusal):
        return _refused(422, outcome)
    count_event(str(payload["type"]), outcome.status)
    if outcome.status == "accepted":  # committed by ingest: a worker may now read it
        request_nudge(runtime())
    log.debug("mis event %s: type=%s case=%s", outcome.status, payload["type"], outcome.case_id)
    body_out = {"status": outcome.status, "event_id": outcome.event_id, "case_id": outcome.case_id}
    return _answer(202 if outcome.status == "accepted" else 200, body_out)

