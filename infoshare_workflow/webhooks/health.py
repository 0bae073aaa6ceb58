"""Liveness, readiness and metrics for the orchestrator and Prometheus (unauthenticated)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import InterfaceError, OperationalError

from infoshare_workflow.cases import inbox
from infoshare_workflow.cases.queries import overdue_counts
from infoshare_workflow.monitoring.metrics import INBOX_PARKED, INBOX_WAITING, OUTBOX, OVERDUE_STEPS, exposition
from infoshare_workflow.storage.outbox import backlog
from infoshare_workflow.vocabulary import STEP_KINDS
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
    """The overdue gauge is read from the database at scrape time: the database is the truth."""
    try:
        with runtime().transaction() as session:
            counts, outbox, events = overdue_counts(session), backlog(session), inbox.backlog(session)
        INBOX_WAITING.set(events["unapplied"])
        INBOX_PARKED.set(events["parked"])
        for kind in STEP_KINDS:
            OVERDUE_STEPS.labels(kind).set(counts.get(kind, 0))
        for state, count in outbox.items():
            OUTBOX.labels(state).set(count)
    except (OperationalError, InterfaceError):
        pass  # still expose the process metrics; /readyz reports the database
    return Response(exposition(), mimetype="text/plain; version=0.0.4")
