"""Prometheus metrics. Labels carry event types, outcomes and URL rules only: never a token,
a case's content or a name (personal data stays out of metrics)."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

EVENTS = Counter("infoshare_events", "MIS events received, by type and outcome", ["type", "outcome"])
REJECTIONS = Counter("infoshare_mis_rejections", "MIS events and requests refused, by door and reason",
                     ["via", "reason"])
# The gauges are read from the database by whichever gunicorn worker answers a scrape, so with
# PROMETHEUS_MULTIPROC_DIR the latest value written is the truth ("max" would keep showing a
# backlog that has drained, until every worker had scraped again).
OVERDUE_STEPS = Gauge("infoshare_overdue_steps", "Open steps past their due time, by step kind", ["step"],
                      multiprocess_mode="mostrecent")
OUTBOX = Gauge("infoshare_outbox_messages", "Outbox work not yet done: pending, or parked after too many tries",
               ["state"], multiprocess_mode="mostrecent")
INBOX_WAITING = Gauge("infoshare_inbox_unapplied", "Accepted MIS events not yet applied by a worker (parked included)",
                      multiprocess_mode="mostrecent")
INBOX_PARKED = Gauge("infoshare_inbox_parked",
                     "Accepted MIS events parked after every attempt to apply them failed (infoshare inbox list)",
                     multiprocess_mode="mostrecent")
REQUEST_SECONDS = Histogram(
    "infoshare_request_seconds", "HTTP request latency by route", ["method", "route", "status"]
)


_SERIES: dict[tuple[Any, ...], Any] = {}


def _series(metric: Any, *labels: str) -> Any:
    """One label set's series, looked up in prometheus_client once per process (it locks)."""
    key = (metric, *labels)
    series = _SERIES.get(key)
    if series is None:
        series = _SERIES.setdefault(key, metric.labels(*labels))
    return series


def count_event(event_type: str, outcome: str) -> None:
    _series(EVENTS, event_type, outcome).inc()


def count_rejection(via: str, reason: str, event_type: str | None) -> None:
    """A refusal, by door and reason, and among the events of its type (`unknown` when unproven)."""
    _series(REJECTIONS, via, reason).inc()
    count_event(event_type or "unknown", "rejected")


# Any other verb is `other`: a client must not be able to grow /metrics with made-up methods.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    _series(REQUEST_SECONDS, method if method in KNOWN_METHODS else "other", route, str(status)).observe(seconds)


def exposition() -> bytes:
    """The text format; aggregated over gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
