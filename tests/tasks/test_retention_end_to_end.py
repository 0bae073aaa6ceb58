"""The retention review end to end: a sweep scheduled through the admin API, run by a real worker
and beat on Redis and PostgreSQL, emails each DSL one list of their cases due for review, with
no personal data in the email; the dispatcher later reminds a DSL whose list is still open."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from infoshare_workflow.storage.models import ReviewList, ScheduleRun, utcnow

from .. import factories
from ..conftest import REDIS_URL, WorkerProcess, wait_for
from ..review.school import DSL, DSL2, due_cases, staff
from ..schedule_jobs import due_in_a_moment
from ..workflow import LINK as REVIEW_LINK
from ..workflow import text_of

PERSONAL = (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.PUPIL_DOB, factories.CONCERN_SUMMARY,
            factories.CONCERN_FACTS, factories.CONCERN_OPINION)


pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(settings, smtp):  # type: ignore[no-untyped-def]
    return replace(settings, broker_url=REDIS_URL, smtp_url=smtp[1], dispatch_interval=1)


def lists_to(inbox, staff_id: str) -> list:  # type: ignore[no-untyped-def]
    """The retention review emails to a DSL (their cases' own task emails left out)."""
    return [m for m in inbox.to(f"{staff_id.lower()}@school.example") if "Retention review" in m["Subject"]]


def test_a_scheduled_sweep_emails_each_dsl_one_list_and_reminds_later(
        mis, runtime, client, admin_token, smtp, settings, tmp_path):  # type: ignore[no-untyped-def]
    inbox = smtp[0]
    staff(mis)
    due_cases(mis, runtime, 3, dsl=DSL, prefix="A")
    due_cases(mis, runtime, 2, dsl=DSL2, prefix="B")
    made = client.post("/api/v1/schedules", json={"job": "retention_sweep", "cron": "* * * * *"},
                       headers={"Authorization": f"Bearer {admin_token}"})
    assert made.status_code == 201
    due_in_a_moment(runtime, made.get_json()["id"])

    worker = WorkerProcess(settings, tmp_path / "worker.log", beat=True)
    worker.start()
    try:
        wait_for(lambda: lists_to(inbox, DSL) and lists_to(inbox, DSL2), timeout=150)
        with runtime.transaction() as session:
            first = session.scalars(select(ScheduleRun).order_by(ScheduleRun.id)).first()
            assert first is not None and first.status == "succeeded"
            assert (first.counts["due"], first.counts["listed"], first.counts["lists"]) == (5, 5, 2)
            # the DSL's list is left unanswered: its reminder falls due
            session.execute(update(ReviewList).where(ReviewList.assignee == DSL)
                            .values(remind_at=utcnow() - timedelta(seconds=1)))
        wait_for(lambda: len(lists_to(inbox, DSL)) == 2, timeout=60)
    finally:
        worker.kill()

    first_mail, reminder = lists_to(inbox, DSL)
    assert first_mail["Subject"] == "Retention review: 3 cases to review"
    assert reminder["Subject"] == "Reminder: Retention review: 3 cases to review"
    [other] = lists_to(inbox, DSL2)  # later runs of the schedule add nothing to an open list
    assert other["Subject"] == "Retention review: 2 cases to review"
    for message in (first_mail, reminder, other):
        raw = message.as_string()
        assert not [secret for secret in PERSONAL if secret in raw]
    # each email has its own link to the list, answered in parts until it is done
    links = {REVIEW_LINK.search(text_of(m)).group(1) for m in (first_mail, reminder)}  # type: ignore[union-attr]
    assert len(links) == 2 and all(client.get(link).status_code == 200 for link in links)
    assert "Traceback" not in worker.log()
