"""Two of each (docs/scaling.md): two gunicorn webs and two Celery workers on one PostgreSQL and
one Redis, with one beat, and a second beat started by mistake halfway through.

What runs many times is safe only because every piece of work is claimed in the database, not
by the process that happens to see it first: concerns posted to either web, the same event to
both at once, still make one case each; each case's consent email, reminders and escalation
go out once; a scheduled sweep runs once for its due time; the rate limits count across both
webs; the audit chain stays whole. Counts are read from the database and the SMTP server.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import func, select, update

from infoshare_workflow.records import audit
from infoshare_workflow.settings.config import RateLimits
from infoshare_workflow.settings.policy import load_policy
from infoshare_workflow.storage.models import (
    AuditEvent,
    Case,
    Email,
    OutboxMessage,
    ReceivedEvent,
    Schedule,
    ScheduleRun,
    StepTimer,
    utcnow,
)

from .. import factories
from ..conftest import REDIS_URL, WebProcess, WorkerProcess, wait_for, worker_env
from ..tasks.test_dispatch_end_to_end import POLICY  # seconds: reminders at 4 s and 8 s, escalation at 12 s
from ..workflow import DSL_EMAIL, MANAGER_EMAIL, set_up_school

# Posted in a burst, alternately to the two webs: their steps open together, so their reminders
# fall due together and two dispatcher passes (one from each beat) meet over the same rows.
CONCERNS = 32
PAGES_LIMIT = 4  # task-page requests a minute per client, counted in Redis


class BeatProcess(WorkerProcess):
    """`celery beat` on its own, as the compose `beat` service runs it, with a schedule file of its own."""

    def start(self) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        self.process = subprocess.Popen(
            [celery, "-A", "infoshare_workflow.worker", "beat", "--loglevel=INFO",
             f"--schedule={self.log_path.with_suffix('.schedule')}"],
            env=worker_env(self.settings, self.queue), stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)


@dataclass
class Deployment:
    webs: list[WebProcess]
    workers: list[WorkerProcess]
    beats: list[BeatProcess]


pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(settings, smtp, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return replace(settings, broker_url=REDIS_URL, smtp_url=smtp[1], dispatch_interval=1, policy_file=str(path),
                   policy=load_policy(str(path)),
                   rate_limits=replace(RateLimits.off(), pages=f"{PAGES_LIMIT} per minute", storage_url=REDIS_URL))


@pytest.fixture
def deployment(settings, runtime, tmp_path: Path) -> Iterator[Deployment]:  # type: ignore[no-untyped-def]
    """Two webs, two workers on the same queue and one beat; a second beat is made but not started."""
    deployed = Deployment(webs=[WebProcess(settings, tmp_path / f"web-{n}.log") for n in (1, 2)],
                          workers=[WorkerProcess(settings, tmp_path / f"worker-{n}.log") for n in (1, 2)],
                          beats=[BeatProcess(settings, tmp_path / f"beat-{n}.log") for n in (1, 2)])
    with ExitStack() as stack:
        stack.callback(redis.Redis.from_url(REDIS_URL).delete, settings.queue)
        for proc in (*deployed.workers, deployed.beats[0]):
            stack.callback(proc.kill)
            proc.start()
        stack.callback(deployed.beats[1].kill)  # whenever the test starts it
        for web in deployed.webs:
            stack.callback(web.stop)
            web.start()
        yield deployed


def at_once(calls: list[Any]) -> list[requests.Response]:
    """Make the calls together, released by one barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> requests.Response:
        barrier.wait()
        return call()  # type: ignore[no-any-return]

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def concern(n: int) -> dict[str, Any]:
    return factories.concern_raised(f"C-scale-{n}", pupil={"mis_id": f"P-scale-{n}"})


def settled(runtime) -> bool:  # type: ignore[no-untyped-def]
    """Nothing left that could still send an email: every event applied, every timer fired, every
    email sent and every outbox message done, and the sweep's run finished."""
    with runtime.transaction() as session:
        def count(model: Any, *where: Any) -> int:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        return (count(ReceivedEvent, ReceivedEvent.outcome == "accepted", ReceivedEvent.applied_at.is_(None)) == 0
                and count(StepTimer, StepTimer.fired_at.is_(None)) == 0
                and count(Email, Email.status != "sent") == 0
                and count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0
                and count(ScheduleRun, ScheduleRun.finished_at.is_not(None)) >= 1)


def sweep_due_in(runtime, api, seconds: int):  # type: ignore[no-untyped-def]
    """A weekly retention sweep whose next slot is `seconds` away (its cron would put it on Monday)."""
    made = api.post("/api/v1/schedules", json={"job": "retention_sweep", "cron": "0 2 * * 1"})
    assert made.status_code == 201
    slot = (utcnow() + timedelta(seconds=seconds)).replace(microsecond=0)
    with runtime.transaction() as session:
        session.execute(update(Schedule).where(Schedule.id == made.get_json()["id"]).values(next_run_at=slot))
    return made.get_json()["id"], slot


def test_two_webs_two_workers_and_a_second_beat_deliver_every_email_once(
        mis, api, runtime, settings, smtp, deployment):
    inbox, secret = smtp[0], settings.mis_webhook_secret
    first, second = deployment.webs
    set_up_school(mis, runtime)
    schedule_id, slot = sweep_due_in(runtime, api, seconds=10)

    with ThreadPoolExecutor(8) as pool:
        def burst(numbers: range) -> list[requests.Response]:
            return list(pool.map(lambda n: (first, second)[n % 2].post_event(concern(n)), numbers))

        answers = burst(range(CONCERNS // 2))
        deployment.beats[1].start()  # by mistake: from now on every periodic task is sent twice
        answers += burst(range(CONCERNS // 2, CONCERNS))
    same_body = factories.body_of(concern(CONCERNS))
    same_headers = factories.signed_headers(secret, same_body, msg_id="msg_scale_twice")
    same_event = at_once([lambda web=web: requests.post(f"{web.url}/webhooks/mis", data=same_body,
                                                        headers=same_headers, timeout=30) for web in (first, second)])
    same_concern = at_once([lambda web=web, n=n: web.post_event(concern(CONCERNS + 1), msg_id=f"msg_scale_{n}")
                            for n, web in enumerate((first, second))])
    pages = [requests.get(f"{web.url}/tasks/not-a-token", timeout=30).status_code for web in (first, second) * 3]

    assert [r.status_code for r in answers] == [202] * CONCERNS
    for pair in (same_event, same_concern):
        assert sorted(r.status_code for r in pair) == [200, 202]
        assert len({r.json()["case_id"] for r in pair}) == 1
    assert pages[PAGES_LIMIT:] == [429] * (6 - PAGES_LIMIT) and 429 not in pages[:PAGES_LIMIT]
    wait_for(lambda: settled(runtime), timeout=75, interval=0.5)

    cases = CONCERNS + 2
    case_ids = {r.json()["case_id"] for r in [*answers, *same_event, *same_concern]}
    with runtime.transaction() as session:
        assert set(session.scalars(select(Case.case_id))) == case_ids and len(case_ids) == cases
        assert Counter(session.scalars(select(ReceivedEvent.outcome).where(ReceivedEvent.type == "concern.raised"))
                       ) == {"accepted": cases, "duplicate": 1}
        sent = Counter((e.case_id, e.template, e.context.get("reason")) for e in session.scalars(select(Email)))
        assert sent == Counter({**{(c, "task", "opened"): 1 for c in case_ids},
                                **{(c, "task", "reminder"): 2 for c in case_ids},
                                **{(c, "escalation", None): 1 for c in case_ids}})
        fired = Counter((t.kind, t.outcome) for t in session.scalars(select(StepTimer)))
        assert fired == {("reminder", "sent"): 2 * cases, ("escalation", "sent"): cases}
        runs = session.scalars(select(ScheduleRun)).all()
        assert [(r.schedule_id, r.due_at, r.status, r.attempts) for r in runs] == [(schedule_id, slot, "succeeded", 1)]
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "schedule.run_started")) == 1
        assert audit.verify(session).ok  # two webs and two workers appended to one chain

    subjects = Counter((m["X-Infoshare-Case"], "Reminder" if m["Subject"].startswith("Reminder:") else
                        m["Subject"].split()[0]) for m in inbox.to(DSL_EMAIL))
    assert subjects == Counter({**{(c, "Consent"): 1 for c in case_ids}, **{(c, "Reminder"): 2 for c in case_ids}})
    assert Counter(m["X-Infoshare-Case"] for m in inbox.to(MANAGER_EMAIL)) == Counter({c: 1 for c in case_ids})
    assert len(inbox.messages) == 4 * cases
    # the set-up really was two of each: both workers ran tasks, both beats sent the dispatcher's tick
    assert all("succeeded in" in worker.log() for worker in deployment.workers)
    assert all("Sending due task dispatch" in beat.log() for beat in deployment.beats)
