"""What the running processes write to their logs: no link token, no field's value.

Real gunicorn (as docker-compose runs it: access log on, the redacting logger class) and a
real Celery worker; their output is read back whole.
"""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from infoshare_workflow.mail.rendering import Renderer
from infoshare_workflow.storage.models import Email

from . import factories
from .conftest import apply_accepted, wait_for
from .workflow import DSL, MANAGER


def task_links(runtime, settings) -> list[str]:
    renderer = Renderer(settings)
    with runtime.transaction() as session:
        return [renderer.link(e) or "" for e in session.scalars(select(Email).where(Email.template == "task"))]


def test_gunicorns_access_and_error_logs_carry_no_token(web, settings, runtime):
    for staff_id, role in ((DSL, "dsl"), (MANAGER, "manager")):
        assert web.post_event(factories.staff_upserted(staff_id, [role]), timeout=10).status_code == 202
    assert web.post_event(factories.concern_raised("C-log-1"), timeout=10).status_code == 202
    apply_accepted(runtime)
    links = task_links(runtime, settings)
    assert links
    tokens = [link.rsplit("/", 1)[1] for link in links] + ["not-a-token.at-all", "eyJmb3JnZWQi.xyz"]
    path = links[0].split(settings.base_url, 1)[1]

    assert requests.get(f"{web.url}{path}", timeout=10).status_code == 200
    assert requests.post(f"{web.url}{path}", data={"csrf_token": "stale"}, timeout=10).status_code == 400
    assert requests.get(f"{web.url}/tasks/{tokens[-2]}", timeout=10).status_code == 404
    assert requests.post(f"{web.url}/disclosures/{tokens[-1]}", timeout=10).status_code == 404
    web.stop()

    log = web.log()
    assert re.search(r'"GET /tasks/\[token\] HTTP/1\.1" 200', log), log[-2000:]
    assert '"POST /disclosures/[token] HTTP/1.1" 404' in log
    for token in tokens:
        assert token not in log
    for value in (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.CONCERN_FACTS):
        assert value not in log


def test_a_failing_task_logs_the_exception_class_not_the_value_it_failed_on(worker, runtime):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite accepts any value for an integer key, so nothing fails there")
    worker.send("infoshare.shares.execute", decision_id=factories.PUPIL_GIVEN)

    wait_for(lambda: "raised unexpected" in worker.log(), timeout=30)
    log = worker.log()
    assert factories.PUPIL_GIVEN not in log
    assert "DataError (message withheld" in log
