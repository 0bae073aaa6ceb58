"""Celery tasks: thin adapters that load, call one domain function and commit.

One module per area (`mis`, `mail`, `shares`, `dispatch`, `schedules`), each task named
`infoshare.<area>.<verb>`. The Celery app that runs them is built by
`infoshare_workflow.service.celery_app`, which hands each task the process's runtime.
"""

from __future__ import annotations

from celery import Celery

from infoshare_workflow.storage.runtime import Runtime

MODULES = [f"{__name__}.{area}" for area in ("mis", "mail", "shares", "dispatch", "schedules")]


def runtime_of(celery: Celery) -> Runtime:
    """The runtime the app factory attached to this Celery app."""
    return celery.infoshare  # type: ignore[attr-defined,no-any-return]
