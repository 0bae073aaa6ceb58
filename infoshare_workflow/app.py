"""The Flask app factory: configuration, blueprints and request metrics, nothing at import."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from flask import Flask, Response, g, request

from .config import ConfigError, Settings, load_settings
from .metrics import REQUEST_SECONDS
from .runtime import build_runtime
from .celery_app import create_celery

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    runtime = build_runtime(settings)
    app = Flask("infoshare_workflow", template_folder=str(TEMPLATES))
    app.config.update(SECRET_KEY=settings.secret_key, JSON_SORT_KEYS=False)
    app.extensions["infoshare"] = runtime
    app.extensions["infoshare.celery"] = create_celery(runtime)

    # The composition root is the one place that reaches out to the adapters.
    from webhooks import admin_api, health, mis

    app.register_blueprint(mis.bp)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(health.bp)

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - g.get("started", time.perf_counter())
        )
        return response

    return app


def main_app() -> Flask:
    """For gunicorn (`infoshare_workflow.wsgi:app`): a bad setting is one line, then exit."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return create_app()
    except ConfigError as exc:
        sys.exit(f"infoshare: {exc}")
