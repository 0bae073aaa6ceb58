"""What every HTML page behind a token shares: security headers and the gone/unknown pages.

INTERFACES.md §2: pages behind a token send `Referrer-Policy: no-referrer` and
`Cache-Control: no-store`; a content security policy allows only our own stylesheet.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, make_response, render_template

from infoshare_workflow.access.links import LinkSigner, LinkState
from infoshare_workflow.webhooks import runtime

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    return response


def page(template: str, status: int = 200, **context: Any) -> Response:
    return secure(make_response(render_template(template, **context), status))


def gone(what: str, **context: Any) -> Response:
    """410: no case data, who to contact, and (for a task still open) a way to a fresh link."""
    return page("pages/gone.html", 410, what=what, **context)


def unknown() -> Response:
    return page("pages/not_found.html", 404)


def signer() -> LinkSigner:
    return LinkSigner(runtime().settings.secret_key)


def unsign(token: str, salt: str, lifetime: timedelta) -> tuple[LinkState, str | None]:
    return signer().unsign(token, salt, lifetime)
