"""The Flask app factory: configuration, blueprints and request metrics, nothing at import."""

from __future__ import annotations

import logging
import sys
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, jsonify, request
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from infoshare_workflow import vocabulary
from infoshare_workflow.mail.rendering import template_loader
from infoshare_workflow.monitoring import log_redaction
from infoshare_workflow.monitoring.metrics import observe_request
from infoshare_workflow.service.celery_app import create_celery
from infoshare_workflow.settings.config import TEMPLATES, ConfigError, Settings, branding, load_settings
from infoshare_workflow.storage.runtime import build_runtime

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    runtime = build_runtime(settings)
    app = Flask("infoshare_workflow", template_folder=str(TEMPLATES), static_folder=str(TEMPLATES / "static"))
    # Pages are built from GOV.UK Frontend's components (govuk-frontend-jinja's macros); the
    # school's own folder (INFOSHARE_TEMPLATE_DIR), when set, comes before the built-in pages.
    app.jinja_loader = ChoiceLoader([template_loader(settings), PrefixLoader(
        {"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})])
    # No SECRET_KEY for Flask: nothing here uses its cookie session (task and disclosure links
    # are signed by access.links), and without a key Flask skips building a signer on every request.
    app.config.update(JSON_SORT_KEYS=False)
    app.extensions["infoshare"] = runtime
    app.extensions["infoshare.celery"] = create_celery(runtime)

    # The composition root is the one place that reaches out to the adapters.
    from infoshare_workflow.webhooks import (  # noqa: F401  (their routes are on admin_api.bp)
        admin_api,
        brand,
        cases_api,
        disclosures,
        health,
        json_error,
        mis,
        pages,
        rate_limits,
        recipients_api,
        reports_api,
        retention_api,
        schedules_api,
        steps_api,
        task_links,
    )

    for blueprint in (mis.bp, admin_api.bp, health.bp, task_links.bp, disclosures.bp, brand.bp):
        app.register_blueprint(blueprint)
    rate_limits.install(app, settings)
    app.jinja_env.filters["local"] = _local_time_filter(settings.timezone)
    app.context_processor(lambda: branding(settings))
    app.jinja_env.globals.update(choices=_choices, labels_of=_labels_of)

    @app.errorhandler(HTTPException)
    def _json_for_api(exc: HTTPException) -> Any:
        """Routing errors under /api answer JSON too ("every response is JSON")."""
        if request.path.startswith("/api/") and exc.response is None:
            return json_error(exc)
        return exc

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(exc: Exception) -> Response:
        """The database is down, or a pooled connection died with it (SQLAlchemy renews the pool
        on this error, so the next request reconnects): "try again shortly", never a 500. The
        MIS webhook answers the same way from its own handler (webhooks/mis.py)."""
        log.warning("%s %s not completed: database unavailable (%s)", request.method,
                    request.url_rule.rule if request.url_rule else "unmatched", type(exc).__name__)
        if request.path.startswith(("/api/", "/webhooks/")):
            response = jsonify({"status": "unavailable", "message": "The database is unavailable: try again."})
            response.status_code = 503
        else:
            response = pages.page("pages/unavailable.html", 503)
        response.headers["Retry-After"] = mis.RETRY_AFTER_SECONDS
        return response

    app.wsgi_app = _stamp_start(app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def _observe(response: Response) -> Response:
        environ = request.environ
        rule = request.url_rule
        latency = time.perf_counter() - environ.get(_STARTED, time.perf_counter())
        observe_request(environ["REQUEST_METHOD"], rule.rule if rule else "unmatched", response.status_code, latency)
        if response.mimetype == "application/json":
            # Case data must not linger in a cache, nor be read as anything but JSON.
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return app


_STARTED = "infoshare.started"


def _stamp_start(wsgi_app: Any) -> Any:
    """Note when a request arrived, for the latency histogram (a WSGI wrapper costs less than a
    Flask before_request hook on every request, the webhook's included)."""

    def stamped(environ: dict[str, Any], start_response: Any) -> Any:
        environ[_STARTED] = time.perf_counter()
        return wsgi_app(environ, start_response)

    return stamped


def _choices(values: Any) -> list[tuple[str, str]]:
    """A vocabulary as (value, words a person reads) pairs, for radios and checkboxes."""
    return [(value, vocabulary.label(value)) for value in values]


def _labels_of(values: Any) -> dict[str, str]:
    return {value: vocabulary.label(value) for value in values}


def _local_time_filter(zone_name: str) -> Any:
    zone = ZoneInfo(zone_name)

    def local(value: Any, fmt: str = "%a %d %b %Y, %H:%M") -> str:
        if value is None:
            return ""
        if isinstance(value, str):  # ISO timestamps kept in snapshots
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            return value.astimezone(zone).strftime(fmt)
        return value.strftime("%d %b %Y") if isinstance(value, date) else str(value)

    return local


def main_app() -> Flask:
    """For gunicorn (`infoshare_workflow.wsgi:app`): a bad setting is one line, then exit."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_redaction.install()  # no token, no field's value in any line (gunicorn's own logs: GunicornLogger)
    try:
        return create_app()
    except ConfigError as exc:
        sys.exit(f"infoshare: {exc}")
