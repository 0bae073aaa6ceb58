"""The privacy notice sweep: every family told how the school keeps and uses their information,
once a privacy period, whatever runs overlap or stop halfway (the guidance's "Informs pupils/
students and their families … about how they store & use all their information")."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from infoshare_workflow.notices.privacy import privacy_notices, run_summary
from infoshare_workflow.storage.models import Email, Notice, Pupil, utcnow

from .school import add_pupils, parent


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, dict]] = []

    def __call__(self, session, kind, row) -> None:  # type: ignore[no-untyped-def]
        self.rows.append((kind, row))


def sweep(runtime, run_id=1, report=None, progress=None, now=None):  # type: ignore[no-untyped-def]
    return privacy_notices(runtime, run_id, progress or (lambda done, total: None), report or Report(), now=now)


def queued_to(runtime) -> list[str]:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return sorted(e.to_address for e in session.scalars(select(Email).where(Email.template == "privacy_notice")))


def delivered(runtime) -> None:  # type: ignore[no-untyped-def]
    """The worker sends what was queued (tests/tasks/test_notices_end_to_end.py sends them for real)."""
    with runtime.transaction() as session:
        session.execute(update(Notice).where(Notice.status == "queued").values(status="sent", sent_at=utcnow()))


def test_each_contact_with_parental_responsibility_is_sent_one_notice(runtime):
    add_pupils(runtime, 3, contacts=lambda n: [parent(n), parent(100 + n, responsible=False)])

    counts = sweep(runtime)

    assert counts == {"pupils": 3, "queued": 3, "already_sent": 0, "no_email": 0, "pupils_without_addressee": 0}
    assert queued_to(runtime) == ["parent0@example.org", "parent1@example.org", "parent2@example.org"]
    with runtime.transaction() as session:
        rows = session.scalars(select(Notice).order_by(Notice.id)).all()
        assert {(n.kind, n.status, n.addressee, n.run_id) for n in rows} == {("privacy", "queued", "contact", 1)}
        assert all(n.addressee_key and "@" not in n.addressee_key for n in rows)  # a keyed hash, not the address


def test_a_second_run_in_the_same_period_sends_nothing_and_a_run_after_it_sends_again(runtime):
    add_pupils(runtime, 2)
    sweep(runtime, run_id=1)

    again = sweep(runtime, run_id=2)
    delivered(runtime)
    year_later = sweep(runtime, run_id=3, now=utcnow() + timedelta(days=366))

    assert (again["queued"], again["already_sent"]) == (0, 2)
    assert (year_later["queued"], year_later["already_sent"]) == (2, 0)
    assert len(queued_to(runtime)) == 4


def test_a_parent_of_two_pupils_reads_one_notice_and_a_contact_list_update_changes_nothing(runtime):
    add_pupils(runtime, 2, contacts=lambda n: [parent(7)])
    sweep(runtime, run_id=1)
    add_pupils(runtime, 2, contacts=lambda n: [parent(7), parent(50 + n)])  # the MIS replaces the contacts

    second = sweep(runtime, run_id=2)

    assert queued_to(runtime) == ["parent50@example.org", "parent51@example.org", "parent7@example.org"]
    assert second["already_sent"] == 2


def test_a_contact_without_email_is_listed_for_the_office_once_a_period(runtime):
    add_pupils(runtime, 2, contacts=lambda n: [parent(n, email=n != 1)])
    report = Report()

    first = sweep(runtime, report=report)
    second_report = Report()
    sweep(runtime, run_id=2, report=second_report)

    assert first["no_email"] == 1 and queued_to(runtime) == ["parent0@example.org"]
    assert report.rows == [("contact_without_email", {"pupil": "P-00001", "year_group": "Year 7",
                                                      "contact": "Parent 1", "relationship": "mother"})]
    assert second_report.rows == []


def test_pupils_old_enough_with_an_address_are_written_to_themselves(runtime):
    today = date.today()
    add_pupils(runtime, 1, start=0, born=date(today.year - 13, 1, 1), email="pupil{n}@school.example")  # 13
    add_pupils(runtime, 1, start=1, born=date(today.year - 12, 12, 31), email="pupil{n}@school.example")  # 11
    sweep(runtime)
    assert queued_to(runtime) == ["parent0@example.org", "parent1@example.org", "pupil0@school.example"]
    with runtime.transaction() as session:
        assert session.scalar(select(Notice.addressee).where(Notice.addressee == "pupil")) == "pupil"


class TestWithPupilNoticeMinAge0:
    @pytest.fixture
    def settings(self, settings):  # type: ignore[no-untyped-def]
        return replace(settings, policy=replace(settings.policy, pupil_notice_min_age=0))

    def test_pupils_are_never_written_to(self, runtime):  # type: ignore[no-untyped-def]
        add_pupils(runtime, 1, born=date(2000, 1, 1), email="pupil{n}@school.example")
        sweep(runtime)
        assert queued_to(runtime) == ["parent0@example.org"]


def test_each_language_is_kept_for_the_notice(runtime):
    add_pupils(runtime, 3, contacts=lambda n: [parent(n, language=["cy-GB", "CY", None][n])])
    sweep(runtime)
    with runtime.transaction() as session:
        notices = session.scalars(select(Notice).order_by(Notice.id)).all()
        emails = {e.id: e.context for e in session.scalars(select(Email))}
    assert [n.language for n in notices] == ["cy", "cy", "en"]
    assert [emails[n.email_id]["language"] for n in notices] == ["cy", "cy", "en"]
    assert all(set(emails[n.email_id]) == {"notice_id", "language"} for n in notices)  # nothing personal


def test_a_run_stopped_halfway_is_finished_by_the_next_without_a_second_copy(runtime, monkeypatch):
    monkeypatch.setattr("infoshare_workflow.notices.privacy.BATCH", 4)
    add_pupils(runtime, 10)

    class Stopped(Exception):
        pass

    def stop_after_first_batch(done: int, total: int) -> None:
        if done >= 4:
            raise Stopped  # the worker dies here: the first batch is committed, nothing else

    with pytest.raises(Stopped):
        sweep(runtime, run_id=1, progress=stop_after_first_batch)
    assert len(queued_to(runtime)) == 4
    seen: list[tuple[int, int]] = []
    resumed = sweep(runtime, run_id=1, progress=lambda done, total: seen.append((done, total)))

    assert (resumed["queued"], resumed["already_sent"]) == (6, 4)
    assert queued_to(runtime) == sorted(f"parent{n}@example.org" for n in range(10))
    assert seen == [(0, 10), (4, 10), (8, 10), (10, 10)]


def test_a_failed_notice_is_tried_again_on_the_next_run(runtime):
    add_pupils(runtime, 1)
    sweep(runtime, run_id=1)
    with runtime.transaction() as session:
        session.execute(update(Notice).values(status="failed", error="550"))

    again = sweep(runtime, run_id=2)

    assert again["queued"] == 1
    with runtime.transaction() as session:
        assert run_summary(session, 1) == {"delivered": 0, "waiting": 0, "failed": 1}
        assert run_summary(session, 2) == {"delivered": 0, "waiting": 1, "failed": 0}


def test_two_runs_at_once_send_each_address_one_notice(runtime):
    add_pupils(runtime, 300, contacts=lambda n: [parent(n % 150)])  # pairs of siblings share a parent
    results: list[dict[str, int]] = []
    runs = [threading.Thread(target=lambda i=i: results.append(sweep(runtime, run_id=i))) for i in (1, 2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    assert sum(r["queued"] for r in results) == 150
    with runtime.transaction() as session:
        per_address = session.execute(select(Notice.addressee_key, func.count()).group_by(Notice.addressee_key)).all()
    assert len(per_address) == 150 and {count for _, count in per_address} == {1}


@pytest.mark.postgresql_only
def test_a_pupil_whose_row_is_held_as_the_run_reaches_them_is_waited_for_not_skipped(runtime):
    """An MIS update to the pupil is being applied as the run reaches them: the run waits for it
    and sends the notice, rather than passing over the pupil until next period."""
    add_pupils(runtime, 1)
    holding, release = threading.Event(), threading.Event()

    def apply_an_update() -> None:
        with runtime.transaction() as session:
            session.execute(select(Pupil.id).with_for_update())
            holding.set()
            release.wait(timeout=10)

    updating = threading.Thread(target=apply_an_update)
    updating.start()
    holding.wait(timeout=10)
    threading.Timer(0.5, release.set).start()  # the update commits while the run waits for it
    counts = sweep(runtime)
    updating.join(timeout=30)

    assert counts["queued"] == 1 and queued_to(runtime) == ["parent0@example.org"]
