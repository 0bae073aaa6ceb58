"""The worker's own Prometheus endpoint: what the tasks did, and what still waits.

`INFOSHARE_WORKER_METRICS_PORT` set, the worker's main process serves `/metrics` on that
port once its pool is ready: task counts by name and outcome (`infoshare_tasks_total`),
task run time (`infoshare_task_seconds`), emails given up (`infoshare_emails_failed_total`),
and the backlog read from the database at scrape time (outbox work pending and parked,
accepted MIS events waiting and parked, the age of the oldest one waiting, overdue steps,
failed emails by template, notices by kind and status). Tasks run in the pool's child
processes, so their counts go through PROMETHEUS_MULTIPROC_DIR, which
`infoshare_workflow.worker` provides when none is set. A port of our own rather than an external Celery exporter: it needs no task
events on the broker, and it can read the database, which is where the backlog is.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from typing import Any

from celery import signals
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server
from prometheus_client.core import Metric

from infoshare_workflow.cases.queries import backlog
from infoshare_workflow.monitoring.metrics import backlog_families, count_task, observe_task
from infoshare_workflow.storage.runtime import Runtime

log = logging.getLogger(__name__)
_STARTED: dict[str, float] = {}


class BacklogCollector:
    """Reads the backlog from the database on each scrape (nothing stored between scrapes)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterable[Metric]:
        try:
            with self.runtime.transaction() as session:
                yield from backlog_families(**vars(backlog(session)))
        except Exception:  # noqa: BLE001 - a scrape must still show the task counts
            log.warning("worker metrics: the database could not be read for the backlog gauges")


def _registry(runtime: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Everything())
    registry.register(BacklogCollector(runtime))
    return registry


class _Everything:
    """This process's own metrics (a solo or threads pool runs its tasks here)."""

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


def install(runtime: Runtime, port: int) -> None:
    """Count every task, and serve the endpoint from the worker's main process when it is ready."""

    @signals.task_prerun.connect(weak=False, dispatch_uid="infoshare.metrics.prerun")
    def _started(task_id: str | None = None, **_: Any) -> None:
        if task_id:
            _STARTED[task_id] = time.perf_counter()

    @signals.task_postrun.connect(weak=False, dispatch_uid="infoshare.metrics.postrun")
    def _finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
        started = _STARTED.pop(task_id or "", None)
        if task is None:
            return
        if started is not None:
            observe_task(task.name, time.perf_counter() - started)
        outcome = {"SUCCESS": "succeeded", "RETRY": "retried", "FAILURE": "failed"}.get(state or "",
                                                                                     (state or "unknown").lower())
        count_task(task.name, outcome)

    @signals.worker_ready.connect(weak=False, dispatch_uid="infoshare.metrics.serve")
    def _serve(**_: Any) -> None:
        start_http_server(port, registry=_registry(runtime))
        log.info("worker metrics on port %d", port)
