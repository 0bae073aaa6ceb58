"""Flask blueprints: thin adapters from HTTP to the domain in `infoshare_workflow`."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from infoshare_workflow.storage.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["infoshare"]  # type: ignore[no-any-return]


def json_error(exc: HTTPException) -> Response:
    """An HTTP error as the API's JSON body, keeping its headers (a 405's `Allow`)."""
    response = jsonify({"status": "error", "message": exc.description or exc.name})
    response.status_code = exc.code or 500
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


FORM_LIMIT = 2 * 1024 * 1024  # a task page's every field at its longest, percent-encoded, fits well within
JSON_LIMIT = 256 * 1024  # the admin API's bodies are a few fields; the same limit as the MIS webhook


def limit_body(max_bytes: int) -> Callable[[], None]:
    """A blueprint's before_request hook capping the body it may read.

    Why: Flask reads a urlencoded form or `get_data()` whole, however long the body says it
    is (its MAX_FORM_MEMORY_SIZE covers multipart parts only). With a cap, a declared
    Content-Length over it is a 413 before a byte of the body is read, and a chunked body
    stops being read at the cap: a client cannot make a web process read gigabytes.
    """

    def cap() -> None:
        request.max_content_length = max_bytes

    return cap
