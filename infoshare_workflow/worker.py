"""The worker's Celery app: `celery -A infoshare_workflow.worker worker -Q infoshare`.

Loading this module reads the settings; a missing one stops start-up with one line. With
INFOSHARE_WORKER_METRICS_PORT set, the worker also serves Prometheus metrics on that port
(infoshare_workflow.service.worker_metrics).
"""

from __future__ import annotations

import os
import sys
import tempfile

# The pool's child processes count into files the main process adds up; prometheus_client
# chooses that storage when it is first imported, so the directory is set before anything
# of ours loads it.
if os.environ.get("INFOSHARE_WORKER_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="infoshare-worker-metrics-")

from celery import Celery  # noqa: E402

from infoshare_workflow.service import worker_metrics  # noqa: E402
from infoshare_workflow.service.celery_app import create_celery  # noqa: E402
from infoshare_workflow.settings.config import ConfigError, load_settings  # noqa: E402
from infoshare_workflow.storage.runtime import build_runtime  # noqa: E402


def _main_celery() -> Celery:
    try:
        settings = load_settings()
        runtime = build_runtime(settings)
        celery = create_celery(runtime)
    except ConfigError as exc:
        sys.exit(f"infoshare: {exc}")
    if settings.worker_metrics_port:
        worker_metrics.install(runtime, settings.worker_metrics_port)
    return celery


app = _main_celery()
