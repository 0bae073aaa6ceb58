"""The real stack for fault tests, started as processes: gunicorn (`WebProcess`), a Celery
worker with its beat (`WorkerProcess(beat=True)`) on Redis, PostgreSQL, and an SMTP server
(a `HoldingInbox` behind a `DroppingFront`, so a test can make mail refuse or hang up, or
hold replies while it kills the worker waiting for one).

Everything is counted from the database and the SMTP server: what a fault may not do is lose
or double a concern or an email, or answer 500. The school has one DSL and one manager, so a
standard concern makes exactly one email, the consent task to the DSL.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import func, select

from infoshare_workflow.settings.config import Settings
from infoshare_workflow.storage.models import Case, Email, OutboxMessage, ReceivedEvent, utcnow
from infoshare_workflow.storage.runtime import Runtime

from .. import factories
from ..conftest import REDIS_URL, WebProcess, WorkerProcess, wait_for
from ..smtp import DroppingFront, HoldingInbox, dropping_front, smtp_server
from ..workflow import DSL_EMAIL, set_up_school

LEASE_SECONDS = 6  # the relay re-sends work a killed worker held after this (the product's minimum is 5)


@pytest.fixture
def mail_server() -> Iterator[tuple[HoldingInbox, DroppingFront]]:
    """The school's SMTP server (accepting until told to refuse) and the front the worker talks to."""
    with smtp_server(HoldingInbox()) as (inbox, url), dropping_front(url) as front:
        yield inbox, front  # type: ignore[misc]


@pytest.fixture
def settings(settings: Settings, mail_server: tuple[HoldingInbox, DroppingFront]) -> Settings:
    return replace(settings, broker_url=REDIS_URL, smtp_url=mail_server[1].url, dispatch_interval=1,
                   outbox_lease_seconds=LEASE_SECONDS)


@dataclass
class Stack:
    """The running stack and what a test reads back from it."""

    settings: Settings
    runtime: Runtime
    web: WebProcess
    worker: WorkerProcess
    inbox: HoldingInbox
    front: DroppingFront

    def deliver(self, deliveries: list[tuple[bytes, dict[str, str]]], clients: int) -> list[requests.Response]:
        """POST each (body, headers) to gunicorn from `clients` concurrent clients, each with its
        own connection, as an MIS's delivery workers would; the answers in order."""
        local = threading.local()

        def post(item: tuple[bytes, dict[str, str]]) -> requests.Response:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            return local.session.post(f"{self.web.url}/webhooks/mis", data=item[0], headers=item[1], timeout=120)

        with ThreadPoolExecutor(clients) as pool:
            return list(pool.map(post, deliveries))

    def signed(self, event: dict[str, Any], **kwargs: Any) -> tuple[bytes, dict[str, str]]:
        body = factories.body_of(event)
        return body, factories.signed_headers(self.settings.mis_webhook_secret, body, **kwargs)

    def kill_worker(self) -> int:
        """SIGKILL the worker, its pool and its beat (no chance to ack, roll back or clean up),
        then start a new one. Returns how many emails had arrived at the kill.

        Mail is held first, and the kill waits until every email being sent is held waiting for
        the server's answer to its DATA. A sender killed after the server's 250 and before its
        own commit cannot know the email went, and sends it again after the lease (at least
        once: never lost, at worst doubled); that window is a few milliseconds per email and
        no sender can close it. Any other instant, this latest one included, must lose and
        double nothing, and that is what a kill here proves."""
        self.inbox.hold()
        wait_for(lambda: self.sending_cases() <= self.inbox.held_cases(), timeout=60, interval=0.05)
        arrived = self.emails_sent()
        self.worker.kill(signal.SIGKILL)
        self.inbox.release()
        self.worker.start()
        return arrived

    def sending_cases(self) -> set[str]:
        """The cases whose email a worker holds a live claim on and has not yet marked sent. A
        claim that ran out (its worker killed before) is nobody's until the relay sends it again,
        which a pool whose every process is held cannot take: it is not waited for."""
        with self.runtime.transaction() as session:
            return {str(case) for case in session.scalars(select(Email.case_id).where(
                Email.status == "sending", Email.claimed_until > utcnow()))}

    def emails_sent(self) -> int:
        return sum(self.emails_per_case().values())

    def queue_drained(self) -> bool:
        """No task left in the broker that could still send anything."""
        return int(redis.Redis.from_url(REDIS_URL).llen(self.settings.queue)) == 0

    def emails_per_case(self) -> Counter[str]:
        """Messages the SMTP server holds for the DSL, by the case each is about."""
        with self.inbox.lock:
            return Counter(str(m["X-Infoshare-Case"]) for m in self.inbox.messages if m["To"] == DSL_EMAIL)

    def count(self, model: Any, *where: Any) -> int:
        with self.runtime.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def cases(self) -> int:
        return self.count(Case)

    def raised_events(self) -> int:
        return self.count(ReceivedEvent, ReceivedEvent.type == "concern.raised")

    def email_statuses(self) -> dict[str, int]:
        with self.runtime.transaction() as session:
            return dict(session.execute(select(Email.status, func.count()).group_by(Email.status)).all())  # type: ignore[arg-type]

    def outbox_pending(self) -> int:
        return self.count(OutboxMessage, OutboxMessage.done_at.is_(None))


@pytest.fixture
def stack(settings: Settings, runtime: Runtime, mis: Any, mail_server: tuple[HoldingInbox, DroppingFront],
          tmp_path: Path) -> Iterator[Stack]:
    """A school with a DSL and a manager, gunicorn, and a worker with beat, all running."""
    set_up_school(mis, runtime)
    web = WebProcess(settings, tmp_path / "web.log")
    worker = WorkerProcess(settings, tmp_path / "worker.log", beat=True, pool="prefork")  # as deployed
    web.start()
    worker.start()
    try:
        yield Stack(settings, runtime, web, worker, *mail_server)
    finally:
        worker.kill()
        web.stop()
        redis.Redis.from_url(REDIS_URL).delete(settings.queue)
