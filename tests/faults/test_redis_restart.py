"""Redis restarted empty mid-flow: the broker is a courier, never the record.

Every piece of work is committed to PostgreSQL before anything is published (the outbox),
and every timer lives in a database row (the dispatcher), so a Redis that dies with messages
queued and comes back with nothing (no persistence) loses nothing: the relay publishes again
whatever was not done within its lease, the dispatcher fires what fell due meanwhile, and the
idempotent consumers send each email once. Counted from the SMTP server and the database.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from infoshare_workflow.mail.messages import SEND_TASK
from infoshare_workflow.settings.policy import load_policy
from infoshare_workflow.storage.models import (
    AuditEvent,
    Email,
    Notice,
    OutboxMessage,
    ScheduleRun,
    Step,
)

from .. import factories
from ..conftest import WebProcess, wait_for
from ..notices.school import add_pupils, parent
from ..tasks.test_dispatch_end_to_end import POLICY  # reminders at 4 s and 8 s, escalation at 12 s
from ..workflow import DSL_EMAIL, MANAGER_EMAIL, set_up_school
from .private_servers import (  # noqa: F401 (a fixture)
    RedisServer,
    beat_alive,
    make_due,
    post_event,
    private_redis_fixture,
    private_stack,
)

pytestmark = pytest.mark.postgresql_only

LEASE_SECONDS = 5  # the product's minimum: lost messages are published again this long after
CONCERNS = 8
LOST_AT_LEAST = 10  # mail.send messages waiting in the broker when it is killed (the notices come in a batch)
PUPILS = 30  # each with one parent: one privacy notice each


@pytest.fixture
def settings(settings, smtp, private_redis: RedisServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The product on our own Redis (broker and rate-limit counters), seconds-long deadlines."""
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return replace(settings, broker_url=private_redis.url, smtp_url=smtp[1], dispatch_interval=1,
                   outbox_lease_seconds=LEASE_SECONDS, policy_file=str(path), policy=load_policy(str(path)),
                   rate_limits=replace(settings.rate_limits, storage_url=private_redis.url))


def concern(n: int) -> dict:
    """A standard concern about a pupil of its own, with no family contact (so the privacy sweep
    writes to exactly the PUPILS parents, whenever it runs)."""
    return factories.concern_raised(f"C-redis-{n}", pupil={"mis_id": f"P-9{n:03d}", "contacts": []})


def post_concerns(web: WebProcess, numbers: range) -> list[int | None]:
    """Post each concern in turn; their answers' statuses (None: no answer)."""
    answers = [post_event(web, concern(n), f"msg_{uuid.uuid4().hex}") for n in numbers]
    return [a.status_code if a is not None else None for a in answers]


def all_sent(runtime, expected: int) -> bool:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        statuses = Counter(session.scalars(select(Email.status)))
    return statuses == Counter({"sent": expected})


def test_redis_killed_with_messages_queued_and_restarted_empty_loses_and_doubles_nothing(
        runtime, mis, admin_token, settings, smtp, private_redis, tmp_path):  # type: ignore[no-untyped-def]
    inbox = smtp[0]
    set_up_school(mis, runtime)
    add_pupils(runtime, PUPILS)
    expected_emails = CONCERNS * 4 + PUPILS  # per case: consent task, two reminders, one escalation

    with private_stack(settings, private_redis, tmp_path) as (web, worker):
        # Half the concerns first: their reminders fall due around the outage.
        assert post_concerns(web, range(CONCERNS // 2)) == [202] * (CONCERNS // 2)
        wait_for(lambda: len(inbox.to(DSL_EMAIL)) >= CONCERNS // 2, timeout=60)
        # Then the rest, and two sweeps whose slots have come (privacy notices, retention).
        assert post_concerns(web, range(CONCERNS // 2, CONCERNS)) == [202] * (CONCERNS - CONCERNS // 2)
        schedules = [make_due(runtime, web, admin_token, "privacy_notices", "0 7 1 9 *"),
                     make_due(runtime, web, admin_token, "retention_sweep", "0 2 * * 1")]
        # Emails committed and published, waiting in the broker for the worker: kill Redis now.
        wait_for(lambda: private_redis.queued(worker.queue, SEND_TASK) >= LOST_AT_LEAST, timeout=90, interval=0.01)
        private_redis.kill()
        sent_before = len(inbox.messages)
        time.sleep(3)  # the outage: beat's ticks fail, the web's publishes fail, timers fall due
        private_redis.start()  # same port, nothing in it

        wait_for(lambda: len(inbox.messages) >= expected_emails and all_sent(runtime, expected_emails), timeout=150)
        time.sleep(LEASE_SECONDS + 3)  # past another lease: nothing comes twice
        assert beat_alive(worker)  # the worker and its beat rode the outage out
    assert sent_before < expected_emails  # the fault hit work in flight

    with runtime.transaction() as session:
        emails = {e.id: e for e in session.scalars(select(Email))}
        steps = session.execute(select(Step.reminders_sent, Step.escalated).where(Step.kind == "consent")).all()
        notices = Counter(session.scalars(select(Notice.status)))
        runs = session.scalars(select(ScheduleRun)).all()
        started = Counter(json.loads(d)["run_id"] for d in session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "schedule.run_started")))
        outbox_left = session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.done_at.is_(None)))
        republished = session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.task == SEND_TASK, OutboxMessage.attempts > 1))

    # Exactly one message in the SMTP server for every email the database holds, and no other.
    delivered = Counter(str(m["Message-ID"]).strip("<>").split("@")[0] for m in inbox.messages)
    assert delivered == Counter({email_id: 1 for email_id in emails}) and len(emails) == expected_emails
    subjects = Counter(str(m["Subject"]).split(" for case")[0].strip() for m in inbox.to(DSL_EMAIL))
    assert subjects == Counter({"Consent decision": CONCERNS, "Reminder: Consent decision": 2 * CONCERNS}), subjects
    assert len(inbox.to(MANAGER_EMAIL)) == CONCERNS  # one escalation per case
    assert sorted(steps) == [(2, True)] * CONCERNS
    privacy = Counter(str(m["To"]) for m in inbox.messages if "privacy" in str(m["Subject"]).lower())
    assert privacy == Counter({parent(n)["email"]: 1 for n in range(PUPILS)})
    assert notices == Counter({"sent": PUPILS})
    # Each sweep ran once, and its job started once.
    assert sorted((r.schedule_id, r.status, r.attempts) for r in runs) == [(s, "succeeded", 1) for s in schedules]
    assert started == Counter({r.id: 1 for r in runs})
    assert outbox_left == 0 and republished >= LOST_AT_LEAST  # what the broker lost, the relay published again


def test_the_private_redis_comes_back_empty(private_redis: RedisServer) -> None:
    """The premise of the test above: no persistence, so a restart forgets every message."""
    private_redis.client().rpush("some-queue", "a message")
    private_redis.kill()
    private_redis.start()
    assert private_redis.client().dbsize() == 0
    private_redis.kill()
    assert not private_redis.answers()
