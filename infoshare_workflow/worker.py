"""The worker's Celery app: `celery -A infoshare_workflow.worker worker -Q infoshare`.

Loading this module reads the settings; a missing one stops start-up with one line.
"""

from __future__ import annotations

import sys

from celery import Celery

from infoshare_workflow.service.celery_app import create_celery
from infoshare_workflow.settings.config import ConfigError, load_settings
from infoshare_workflow.storage.runtime import build_runtime


def _main_celery() -> Celery:
    try:
        return create_celery(build_runtime(load_settings()))
    except ConfigError as exc:
        sys.exit(f"infoshare: {exc}")


app = _main_celery()
