"""Prometheus metrics. Labels carry event types, outcomes, URL rules, task and template names,
notice kinds and statuses only: never a token, an address, a case's content or a name
(personal data stays out of metrics)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric

EVENTS = Counter("infoshare_events", "MIS events received, by type and outcome", ["type", "outcome"])
REJECTIONS = Counter("infoshare_mis_rejections", "MIS events and requests refused, by door and reason",
                     ["via", "reason"])
# Celery tasks, counted where they run (a worker's child processes share PROMETHEUS_MULTIPROC_DIR)
# and exported by the worker's own metrics port (service.worker_metrics).
TASKS = Counter("infoshare_tasks", "Celery tasks run, by task name and outcome (succeeded, failed, retried)",
                ["task", "outcome"])
TASK_SECONDS = Histogram("infoshare_task_seconds", "Celery task run time, by task name", ["task"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
# Counted where the failure is recorded (the worker's pool); the gauge `infoshare_failed_emails`
# is the database's count at scrape time, whichever process recorded them.
EMAILS_FAILED = Counter("infoshare_emails_failed", "Emails given up (refused for good, or every attempt failed), "
                        "by template", ["template"])
# Counted in the web process that takes the event in (storage.nudge): "failed" means beat's apply,
# within a second, takes the event instead.
NUDGES = Counter("infoshare_mis_apply_nudges", "Nudges to apply accepted MIS events at once, by outcome "
                 "(published, deduplicated: one was on its way, coalesced: joined the web process's next nudge, "
                 "failed: left to beat's apply)", ["outcome"])
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


def count_task(task: str, outcome: str) -> None:
    _series(TASKS, task, outcome).inc()


def observe_task(task: str, seconds: float) -> None:
    _series(TASK_SECONDS, task).observe(seconds)


def count_nudge(outcome: str) -> None:
    _series(NUDGES, outcome).inc()


def count_failed_email(template: str) -> None:
    _series(EMAILS_FAILED, template).inc()


def backlog_families(*, overdue_steps: dict[str, int], outbox: dict[str, int], inbox_unapplied: int,
                     inbox_parked: int, inbox_oldest_seconds: float, failed_emails: dict[str, int] | None = None,
                     notices: dict[tuple[str, str], int] | None = None) -> list[Metric]:
    """The backlog gauges, built at scrape time from what the database says now: never a value
    stored by whichever process scraped last, so a drained backlog reads 0 at once."""
    overdue = GaugeMetricFamily("infoshare_overdue_steps", "Open steps past their due time, by step kind",
                                labels=["step"])
    for kind, count in overdue_steps.items():
        overdue.add_metric([kind], count)
    work = GaugeMetricFamily("infoshare_outbox_messages",
                             "Outbox work not yet done: pending, or parked after too many tries", labels=["state"])
    for state, count in outbox.items():
        work.add_metric([state], count)
    failed = GaugeMetricFamily("infoshare_failed_emails", "Emails given up and not sent (refused for good, or "
                               "every attempt failed), by template", labels=["template"])
    for template, count in sorted((failed_emails or {}).items()):
        failed.add_metric([template], count)
    by_status = GaugeMetricFamily("infoshare_notices", "Data-subject notices, by kind and status",
                                  labels=["kind", "status"])
    for (kind, status), count in sorted((notices or {}).items()):
        by_status.add_metric([kind, status], count)
    return [
        overdue, work, failed, by_status,
        GaugeMetricFamily("infoshare_inbox_unapplied", "Accepted MIS events not yet applied by a worker "
                          "(parked included)", value=inbox_unapplied),
        GaugeMetricFamily("infoshare_inbox_parked", "Accepted MIS events parked after every attempt to apply "
                          "them failed (infoshare inbox list)", value=inbox_parked),
        GaugeMetricFamily("infoshare_inbox_oldest_unapplied_seconds", "Age of the oldest accepted MIS event "
                          "still waiting to be applied (parked ones are counted apart); 0 when none waits",
                          value=inbox_oldest_seconds),
    ]


class _Exposed:
    """A registry-like view: this process's (or every process's) metrics, plus families built now."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()
        yield from self.families


def exposition(families: list[Metric] | None = None) -> bytes:
    """The text format; aggregated over processes when PROMETHEUS_MULTIPROC_DIR is set."""
    return generate_latest(_Exposed(families or []))  # type: ignore[arg-type]
