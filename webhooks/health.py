"""Liveness, readiness and metrics for the orchestrator and Prometheus (unauthenticated)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from infoshare_workflow.metrics import exposition

from . import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


def _broker_reachable() -> bool:
    celery = current_app.extensions["infoshare.celery"]
    if runtime().settings.embedded_broker:
        return True
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


@bp.get("/readyz")
def readyz() -> Response:
    checks = {"database": runtime().database_reachable(), "broker": _broker_reachable()}
    response = jsonify({"status": "ready" if all(checks.values()) else "unavailable", "checks": checks})
    response.status_code = 200 if all(checks.values()) else 503
    return response


@bp.get("/metrics")
def metrics() -> Response:
    return Response(exposition(), mimetype="text/plain; version=0.0.4")
