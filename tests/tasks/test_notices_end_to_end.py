"""Privacy notices end to end: a sweep over 500 pupils run by a real worker on Redis and
PostgreSQL, its emails read from a real SMTP server. The worker is killed mid-sweep and
restarted; every eligible address still reads exactly one notice, and a second run in the
same period sends none."""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from infoshare_workflow.storage.models import Notice, ScheduleRun, utcnow

from ..conftest import REDIS_URL, WorkerProcess, wait_for
from ..notices.school import add_pupils, parent

PUPILS = 500


pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(settings, smtp):  # type: ignore[no-untyped-def]
    return replace(settings, broker_url=REDIS_URL, smtp_url=smtp[1], dispatch_interval=1, outbox_lease_seconds=6)


def family(n: int) -> list[dict]:
    """Every pupil's mother; every tenth pupil also a father with no email (for the office), and
    pupils 0-49 are the older siblings of 50-99 (one mother, one notice)."""
    contacts = [parent(n - 50 if 50 <= n < 100 else n)]
    if n % 10 == 0:
        contacts.append({**parent(10_000 + n, email=False), "relationship": "father"})
    return contacts


EXPECTED = {f"parent{n}@example.org" for n in range(PUPILS) if not 50 <= n < 100}


def privacy_mail(inbox) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(str(m["To"]) for m in inbox.messages if "privacy" in str(m["Subject"]).lower())


def notices_queued(runtime) -> int:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(Notice)) or 0


def test_a_privacy_sweep_killed_midway_still_sends_each_address_one_notice(
        client, admin_token, runtime, settings, smtp, tmp_path):  # type: ignore[no-untyped-def]
    inbox = smtp[0]
    add_pupils(runtime, PUPILS, contacts=family)
    admin = {"Authorization": f"Bearer {admin_token}"}
    schedule = client.post("/api/v1/schedules", headers=admin, json={
        "job": "privacy_notices", "cron": "0 7 1 9 *", "enabled": False}).get_json()

    first = WorkerProcess(settings, tmp_path / "first.log", beat=True)
    first.start()
    try:
        run_id = client.post(f"/api/v1/schedules/{schedule['id']}/run", headers=admin).get_json()["run_id"]
        wait_for(lambda: notices_queued(runtime) > 0, timeout=60, interval=0.01)  # the first batch committed
    finally:
        first.kill(signal.SIGKILL)
    with runtime.transaction() as session:  # an hour on: the killed run's lease has run out
        session.execute(update(ScheduleRun).where(ScheduleRun.status == "running")
                        .values(claimed_until=utcnow() - timedelta(seconds=1)))

    restarted = WorkerProcess(settings, tmp_path / "restarted.log", beat=True)
    restarted.start()
    try:
        wait_for(lambda: set(privacy_mail(inbox)) == EXPECTED, timeout=240)
        time.sleep(settings.outbox_lease_seconds + 3)  # past another lease: nothing comes twice
        assert privacy_mail(inbox) == Counter({address: 1 for address in EXPECTED})

        again = client.post(f"/api/v1/schedules/{schedule['id']}/run", headers=admin).get_json()["run_id"]
        wait_for(lambda: client.get(f"/api/v1/schedules/{schedule['id']}/runs/{again}",
                                    headers=admin).get_json()["status"] == "succeeded", timeout=60)
        time.sleep(3)
    finally:
        restarted.kill()

    assert privacy_mail(inbox) == Counter({address: 1 for address in EXPECTED})  # the second run sent none
    second = client.get(f"/api/v1/schedules/{schedule['id']}/runs/{again}", headers=admin).get_json()
    assert (second["counts"]["queued"], second["counts"]["already_sent"]) == (0, PUPILS + PUPILS // 10)  # each seen
    first_run = client.get(f"/api/v1/schedules/{schedule['id']}/runs/{run_id}", headers=admin).get_json()
    assert first_run["status"] == "succeeded" and first_run["attempts"] == 2  # taken over after the kill
    assert first_run["counts"]["delivered"] == len(EXPECTED)
    without_email = [row for row in first_run["report_items"] if row["kind"] == "contact_without_email"]
    assert len(without_email) == PUPILS // 10
    with runtime.transaction() as session:
        statuses = Counter(session.scalars(select(Notice.status)))
    assert statuses == Counter({"sent": len(EXPECTED), "no_email": PUPILS // 10})
    assert "Traceback" not in restarted.log()
