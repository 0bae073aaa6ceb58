"""A concern posted to the webhook reaches its DSL's inbox without waiting for beat: once the
event has committed, the receiver nudges a worker to apply it, and a burst makes few nudges.

The real stack as processes (gunicorn web, a Celery worker on Redis with no beat, PostgreSQL,
an SMTP server): with no beat running, nothing but the nudge could apply an event.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from infoshare_workflow.storage.models import Case, Email, ReceivedEvent

from .. import factories
from ..conftest import REDIS_URL, WebProcess, WorkerProcess, wait_for
from ..workflow import DSL, DSL_EMAIL

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(settings, smtp):  # type: ignore[no-untyped-def]
    return replace(settings, broker_url=REDIS_URL, smtp_url=smtp[1])


def post(web: WebProcess, secret: str, event: dict[str, Any]) -> requests.Response:
    body = factories.body_of(event)
    return requests.post(f"{web.url}/webhooks/mis", data=body, headers=factories.signed_headers(secret, body),
                         timeout=30)


def nudges(web: WebProcess) -> dict[str, float]:
    """The web process's nudge counts by outcome, as Prometheus scrapes them."""
    text = requests.get(f"{web.url}/metrics", timeout=30).text
    return {sample.labels["outcome"]: sample.value for family in text_string_to_metric_families(text)
            if family.name == "infoshare_mis_apply_nudges" for sample in family.samples
            if sample.name.endswith("_total")}


def sent_task_emails(runtime: Any) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(Email)
                              .where(Email.to_label == f"staff:{DSL}", Email.status == "sent")) or 0


def test_a_concern_reaches_its_dsls_inbox_with_a_worker_and_no_beat(web, worker, settings, runtime, smtp):
    inbox, secret = smtp[0], settings.mis_webhook_secret
    assert post(web, secret, factories.staff_upserted(DSL, ["dsl"])).status_code == 202

    accepted = post(web, secret, factories.concern_raised())

    assert accepted.status_code == 202
    case_id = accepted.json()["case_id"]
    wait_for(lambda: sent_task_emails(runtime) == 1, timeout=60)
    assert [m["X-Infoshare-Case"] for m in inbox.to(DSL_EMAIL)] == [case_id]
    with runtime.transaction() as session:
        assert session.scalars(select(Case.case_id)).all() == [case_id]
        assert session.scalar(select(func.count()).select_from(ReceivedEvent)
                              .where(ReceivedEvent.applied_at.is_(None))) == 0


def test_a_burst_makes_few_nudges_and_the_worker_they_wake_applies_every_concern(web, settings, runtime, smtp,
                                                                                 tmp_path: Path):
    """Posted while no worker runs, the gate is never reopened: the burst's nudges wait in the
    queue, counted there; then one worker, still without beat, applies every concern."""
    inbox, secret, burst = smtp[0], settings.mis_webhook_secret, 30
    assert post(web, secret, factories.staff_upserted(DSL, ["dsl"])).status_code == 202
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: post(web, secret, factories.concern_raised()).status_code,
                                 range(burst)))
    assert statuses == [202] * burst

    # Every accepted event is counted once, when the web process's nudging thread has dealt with it.
    counted = wait_for(lambda: counts if sum((counts := nudges(web)).values()) == burst + 1 else None, timeout=10)
    queued = redis.Redis.from_url(REDIS_URL).llen(settings.queue)  # the nudges waiting for a worker
    assert 1 <= queued <= burst // 5
    assert counted.get("published") == queued
    assert set(counted) <= {"published", "deduplicated", "coalesced"}

    worker = WorkerProcess(settings, tmp_path / "worker.log")
    worker.start()
    try:
        wait_for(lambda: sent_task_emails(runtime) == burst, timeout=75)
        assert len(inbox.to(DSL_EMAIL)) == burst
        with runtime.transaction() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == burst
    finally:
        worker.kill()
        redis.Redis.from_url(REDIS_URL).delete(settings.queue)
