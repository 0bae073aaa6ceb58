"""Flask blueprints: thin adapters from HTTP to the domain in `infoshare_workflow`."""

from __future__ import annotations

from flask import Response, current_app, jsonify
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
