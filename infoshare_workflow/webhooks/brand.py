"""The school's own look for every page: its header colour and logo (no personal data).

The colour reaches the page as a stylesheet (`/brand.css`), not an inline style, so the
content security policy stays strict; the logo is the file INFOSHARE_SCHOOL_LOGO names.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_file

from infoshare_workflow.settings.config import LOGO_TYPES
from infoshare_workflow.webhooks import runtime

bp = Blueprint("brand", __name__)


@bp.get("/brand.css")
def stylesheet() -> Response:
    colour = runtime().settings.school_colour
    body = f":root {{ --app-brand-colour: {colour}; }}\n" if colour else ""
    response = Response(body, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/brand/logo")
def logo() -> Response:
    path = runtime().settings.school_logo
    if path is None:
        abort(404)
    response = send_file(Path(path), mimetype=LOGO_TYPES[Path(path).suffix.lower()], max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"  # an SVG's own styles
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for it on every page: the school's logo, else nothing (never GOV.UK's crown)."""
    if runtime().settings.school_logo is None:
        return Response(status=204)
    return logo()
