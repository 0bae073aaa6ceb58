"""PostgreSQL stopped for a few seconds during a webhook burst.

The receiver's promise to the MIS (INTERFACES.md §1): a 2xx means the event is stored, so the
MIS may forget it; anything else means "send it again". While the database is down the
answer must therefore be 503 with Retry-After, never a 2xx for an event it did not store and
never a 500. The worker and beat must ride out the outage (their passes fail and run again),
and when the MIS retries (same webhook-id) every event is stored once, opens one case and
sends its consent email once. Counted from the database and the SMTP server.

The database is a PostgreSQL cluster of the test's own (tests/faults/private_servers.py),
stopped with `pg_ctl stop -m immediate` while the worker is applying events and sending their
emails: live connections are cut, new ones refused. An email whose SMTP conversation finished
just as the database went is the hard case: it is recorded as sent when the database returns,
within its claim's lease, not sent again after the lease (tasks/mail.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from infoshare_workflow.access.links import TASK_SALT, LinkSigner
from infoshare_workflow.storage.models import Case, ReceivedEvent, ScheduleRun

from .. import factories
from ..conftest import WebProcess, wait_for
from ..workflow import DSL_EMAIL, set_up_school
from .private_servers import (  # noqa: F401 (fixtures)
    PostgresCluster,
    RedisServer,
    beat_alive,
    make_due,
    post_event,
    private_postgres_fixture,
    private_redis_fixture,
    private_stack,
)

pytestmark = pytest.mark.postgresql_only

CLIENTS = 4
PACE_SECONDS = 0.5  # between one client's posts: at most CLIENTS / PACE events a second, which the worker keeps up with
OUTAGE_SECONDS = 3
LEASE_SECONDS = 10  # longer than the outage: a claim outlives it, as the default 120 s does


@pytest.fixture
def database_url(private_postgres: PostgresCluster) -> str:
    return private_postgres.url


@pytest.fixture
def settings(settings, smtp, private_redis: RedisServer):  # type: ignore[no-untyped-def]
    return replace(settings, broker_url=private_redis.url, smtp_url=smtp[1], dispatch_interval=1,
                   outbox_lease_seconds=LEASE_SECONDS,
                   rate_limits=replace(settings.rate_limits, storage_url=private_redis.url))


@dataclass
class Burst:
    """MIS delivery workers posting distinct concern.raised events until told to stop; every
    event and every answer (status and Retry-After, or None for no answer) kept in order."""

    web: WebProcess
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self, client: int) -> None:
        number = 0
        while not self.stopping.is_set():
            msg_id, number = f"msg_{uuid.uuid4().hex}", number + 1
            event = factories.concern_raised(f"C-db-{client}-{number}",
                                             pupil={"mis_id": f"P-{client}{number:04d}", "contacts": []})
            with self.lock:
                self.events[msg_id] = event
            self.record(msg_id, post_event(self.web, event, msg_id))
            self.stopping.wait(PACE_SECONDS)

    def record(self, msg_id: str, response: Any) -> None:
        with self.lock:
            self.answers.append((msg_id, None if response is None else response.status_code,
                                 None if response is None else response.headers.get("Retry-After")))

    def count(self, *statuses: int | None) -> int:
        with self.lock:
            return sum(1 for _, status, _ in self.answers if status in statuses)


def stored(runtime) -> set[str]:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return set(session.scalars(select(ReceivedEvent.event_id).where(ReceivedEvent.type == "concern.raised")))


def finished_runs(runtime) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return [(run.schedule_id, run.status) for run in session.scalars(
            select(ScheduleRun).where(ScheduleRun.finished_at.is_not(None)))]


def dsl_emails_per_case(inbox) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(str(m["X-Infoshare-Case"]) for m in inbox.to(DSL_EMAIL))


def test_a_database_outage_during_a_burst_answers_503_and_every_retry_is_stored_once(
        runtime, mis, admin_token, settings, smtp, private_postgres, private_redis,
        tmp_path: Path):  # type: ignore[no-untyped-def]
    inbox = smtp[0]
    set_up_school(mis, runtime)
    with private_stack(settings, private_redis, tmp_path) as (web, worker):
        burst = Burst(web)
        clients = [threading.Thread(target=burst.run, args=(n,), daemon=True) for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        try:
            # mid-flow: events being accepted, and the worker applying them and sending their emails
            wait_for(lambda: burst.count(202) >= 10 and len(dsl_emails_per_case(inbox)) >= 3, timeout=90)
            private_postgres.stop()
            time.sleep(OUTAGE_SECONDS)  # the outage: the clients keep posting
            # every other door that reads the database is unavailable too, not broken: the API, a task page
            api = requests.get(f"{web.url}/api/v1/schedules", headers={"Authorization": f"Bearer {admin_token}"},
                               timeout=60)
            task_page = requests.get(f"{web.url}/tasks/{LinkSigner(settings.secret_key).sign('L-1', TASK_SALT)}",
                                     timeout=60)
            refused = wait_for(lambda: burst.count(503, None), timeout=60)
            private_postgres.start()
            runtime.engine.dispose()  # the test's own pooled connections died with the server
            accepted_before = burst.count(202)
            wait_for(lambda: burst.count(202) >= accepted_before + 10, timeout=90)  # taking events again
        finally:
            burst.stopping.set()
            for thread in clients:
                thread.join(timeout=90)
        answers = list(burst.answers)

        # Every answer was "stored" or "not stored, come back later"; never a 500, never another 2xx.
        assert Counter(status for _, status, _ in answers).keys() <= {202, 503, None}, Counter(a[1] for a in answers)
        assert refused >= 1 and all(retry_after for _, status, retry_after in answers if status == 503)
        assert (api.status_code, api.headers.get("Retry-After")) == (503, "30")
        assert (task_page.status_code, task_page.headers.get("Retry-After")) == (503, "30")
        assert "service is unavailable" in task_page.text
        accepted = {msg_id for msg_id, status, _ in answers if status == 202}
        assert accepted <= stored(runtime)  # a 202 means stored
        # The MIS sends again everything not acknowledged, with the same webhook-id.
        to_retry = [msg_id for msg_id in burst.events if msg_id not in accepted]
        retried = [post_event(web, burst.events[msg_id], msg_id)
                   for msg_id in to_retry]
        # 202, or 200 "duplicate" for an event whose commit landed though its answer was lost
        assert all(r is not None and r.status_code in (200, 202) for r in retried), [
            r and r.status_code for r in retried]

        # A sweep falling due now runs only if beat still sends the dispatcher's tick.
        schedule_id = make_due(runtime, web, admin_token, "retention_sweep", "0 2 * * 1")

        events = len(burst.events)
        wait_for(lambda: len(dsl_emails_per_case(inbox)) >= events and finished_runs(runtime), timeout=120)
        time.sleep(LEASE_SECONDS + 3)  # past another lease: nothing comes twice
        assert beat_alive(worker)  # the worker and its beat rode the outage out
        assert web.process is not None and web.process.poll() is None

    assert stored(runtime) == set(burst.events)
    with runtime.transaction() as session:
        cases = set(session.scalars(select(Case.case_id)))
        unapplied = session.scalar(select(func.count()).select_from(ReceivedEvent)
                                   .where(ReceivedEvent.applied_at.is_(None)))
    assert len(cases) == events and unapplied == 0
    assert dsl_emails_per_case(inbox) == Counter({case_id: 1 for case_id in cases})
    assert finished_runs(runtime) == [(schedule_id, "succeeded")]
