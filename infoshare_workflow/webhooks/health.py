"""Liveness, readiness and metrics for the orchestrator and Prometheus (unauthenticated)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import InterfaceError, OperationalError

from infoshare_workflow.cases.queries import backlog
from infoshare_workflow.monitoring.metrics import backlog_families, exposition
from infoshare_workflow.webhooks import runtime

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
    """The backlog gauges are read from the database at scrape time: the database is the truth."""
    try:
        with runtime().transaction() as session:
            families = backlog_families(**vars(backlog(session)))
    except (OperationalError, InterfaceError):
        families = []  # still expose the process metrics; /readyz reports the database
    return Response(exposition(families), mimetype="text/plain; version=0.0.4")
