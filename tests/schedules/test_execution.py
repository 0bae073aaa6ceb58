"""A run is executed once: claimed before its job starts, its counts or its failure's class
recorded and audited, its lease renewed while its job makes progress, a lost worker's run
taken over only after its lease, and one run of a job at a time."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from infoshare_workflow.schedules.execution import execute_run
from infoshare_workflow.schedules.management import create_schedule
from infoshare_workflow.schedules.runs import RUN_LEASE, RUN_TASK, get_run, list_runs, run_due_schedules, run_now
from infoshare_workflow.storage.models import AuditEvent, OutboxMessage, Schedule, ScheduleRun, utcnow

from ..schedule_jobs import SECRET, RecordingJob, registered_test_jobs


@pytest.fixture
def job() -> Iterator[RecordingJob]:
    with registered_test_jobs() as recording:
        yield recording


def queued_run(runtime, job_name: str = "test_recording") -> tuple[int, int]:
    with runtime.transaction() as session:
        schedule = create_schedule(session, {"job": job_name, "cron": "0 2 * * 1"}, actor="admin:ops")
        return schedule.id, run_now(session, schedule.id, "admin:ops").id


def stored(runtime, run_id: int) -> ScheduleRun:
    with runtime.transaction() as session:
        return session.get(ScheduleRun, run_id)


def run_events(runtime) -> list[tuple[str, str, dict]]:
    with runtime.transaction() as session:
        return [(e.actor, e.action, json.loads(e.details)) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("schedule.run_%")).order_by(AuditEvent.seq))]


def test_a_run_records_when_it_started_and_finished_its_counts_and_its_report(runtime, job, caplog):
    caplog.set_level(logging.INFO, logger="infoshare_workflow.schedules")
    schedule_id, run_id = queued_run(runtime)
    seen: list[tuple[int, int]] = []

    assert execute_run(runtime, run_id, lambda done, total: seen.append((done, total))) == "succeeded"

    run = stored(runtime, run_id)
    assert (run.status, run.attempts, run.counts, run.error) == ("succeeded", 1, {"disposed": 3, "listed": 0}, None)
    assert run.due_at <= run.started_at <= run.finished_at <= utcnow() and run.claimed_until is None
    assert job.calls == [run_id] and seen == [(1, 3), (2, 3), (3, 3)]
    with runtime.transaction() as session:
        assert session.get(Schedule, schedule_id).last_run_at == run.started_at
        view = get_run(session, schedule_id, run_id)
    assert view["counts"] == {"disposed": 3, "listed": 0, "retained": 2}  # the job's summary merged in
    assert [(i["kind"], list(i["item"])) for i in view["report_items"]] == [
        ("disposal", ["case_id", "category", "note"])] * 3
    assert [i["item"]["case_id"] for i in view["report_items"]] == ["IS-T1", "IS-T2", "IS-T3"]
    details = {"schedule_id": schedule_id, "run_id": run_id, "job": "test_recording"}
    assert [(actor, action) for actor, action, _ in run_events(runtime)] == [
        ("admin:ops", "schedule.run_requested"), ("admin:ops", "schedule.run_started"),
        ("admin:ops", "schedule.run_finished")]
    assert run_events(runtime)[2][2] == {**details, "counts": {"disposed": 3, "listed": 0}}
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("infoshare_workflow.schedules")]
    assert len(lines) == 1 and f"schedule run {run_id} (test_recording" in lines[0]
    assert "disposed=3" in lines[0]


def test_a_scheduled_run_is_audited_as_the_system(runtime, job):
    with runtime.transaction() as session:
        schedule = create_schedule(session, {"job": "test_recording", "cron": "0 2 * * 1"}, actor="admin:ops")
        due = schedule.next_run_at
    run_due_schedules(runtime.sessions, now=due)
    [run_id] = [k["run_id"] for k in _queued(runtime)]
    execute_run(runtime, run_id)
    assert [(a, action) for a, action, _ in run_events(runtime)] == [
        ("system", "schedule.run_started"), ("system", "schedule.run_finished")]
    assert run_events(runtime)[0][2]["due_at"] == due.isoformat()


def _queued(runtime) -> list[dict]:
    with runtime.transaction() as session:
        return [m.kwargs for m in session.scalars(select(OutboxMessage).where(OutboxMessage.task == RUN_TASK))]


def test_a_failing_job_records_failed_with_the_error_class_and_never_its_message(runtime, job, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="infoshare_workflow.schedules")
    schedule_id, run_id = queued_run(runtime, "test_failing")

    assert execute_run(runtime, run_id) == "failed"

    run = stored(runtime, run_id)
    assert (run.status, run.error, run.counts) == ("failed", "JobBroke", {})
    assert run.finished_at is not None and run.claimed_until is None
    assert run_events(runtime)[-1] == ("admin:ops", "schedule.run_failed", {
        "schedule_id": schedule_id, "run_id": run_id, "job": "test_failing", "error": "JobBroke"})
    assert SECRET not in caplog.text
    assert "JobBroke" in caplog.text


def test_a_redelivered_task_does_not_run_a_finished_run_again(runtime, job):
    _, run_id = queued_run(runtime)
    execute_run(runtime, run_id)
    assert execute_run(runtime, run_id) == "skipped"
    assert job.calls == [run_id] and stored(runtime, run_id).attempts == 1


def test_a_run_held_by_a_live_worker_is_not_taken_over(runtime, job):
    _, run_id = queued_run(runtime)
    with runtime.transaction() as session:  # another worker took it a minute ago
        session.execute(update(ScheduleRun).where(ScheduleRun.id == run_id).values(
            status="running", attempts=1, started_at=utcnow(), claimed_until=utcnow() + timedelta(minutes=59)))
    assert execute_run(runtime, run_id) == "skipped"
    assert job.calls == [] and stored(runtime, run_id).status == "running"


def test_a_run_left_running_by_a_killed_worker_is_queued_again_after_its_lease_and_finished(runtime, job):
    _, run_id = queued_run(runtime)
    started = utcnow() - timedelta(hours=2)
    with runtime.transaction() as session:  # its worker was killed mid-run an hour after its lease began
        session.execute(update(ScheduleRun).where(ScheduleRun.id == run_id).values(
            status="running", attempts=1, started_at=started, claimed_until=started + timedelta(hours=1)))

    run_due_schedules(runtime.sessions)
    assert stored(runtime, run_id).status == "queued"
    assert _queued(runtime).count({"run_id": run_id}) == 2  # the manual run's message, and the requeue
    assert execute_run(runtime, run_id) == "succeeded"

    run = stored(runtime, run_id)
    assert (run.status, run.attempts, run.started_at) == ("succeeded", 2, started)
    assert [a for _, a, _ in run_events(runtime)] == [
        "schedule.run_requested", "schedule.run_requeued", "schedule.run_started", "schedule.run_finished"]


def test_an_attempt_that_was_taken_over_records_nothing_when_it_ends(runtime, job):
    _, run_id = queued_run(runtime)

    def overtaken(rt, rid, progress, report):  # while this attempt runs, its lease passes and another takes over
        with runtime.transaction() as session:
            session.execute(update(ScheduleRun).where(ScheduleRun.id == rid).values(attempts=2))
        return {"disposed": 99}

    from infoshare_workflow.schedules import jobs

    jobs.JOBS["test_recording"] = jobs.Job(overtaken)
    execute_run(runtime, run_id)
    run = stored(runtime, run_id)
    assert (run.status, run.counts) == ("running", {})


def test_the_runs_of_a_schedule_are_listed_newest_first_a_page_at_a_time(runtime, job):
    schedule_id, first = queued_run(runtime)
    with runtime.transaction() as session:
        later = [run_now(session, schedule_id, "admin:ops").id for _ in range(2)]
    with runtime.transaction() as session:
        page, next_id = list_runs(session, schedule_id, limit=2)
        rest, last = list_runs(session, schedule_id, limit=2, before_id=next_id)
    assert [r["id"] for r in page] == later[::-1] and next_id == later[0]
    assert [r["id"] for r in rest] == [first] and last is None
    assert page[0]["counts"] == {"retained": 2} and page[0]["status"] == "queued"


def test_report_rows_are_encrypted_at_rest(runtime, job):
    _, run_id = queued_run(runtime)
    execute_run(runtime, run_id)
    with runtime.engine.connect() as connection:
        raw = connection.execute(text("SELECT item FROM run_report_items LIMIT 1")).scalar_one()
    assert "IS-T1" not in raw


def running(runtime, run_id: int, lease: timedelta = timedelta(minutes=5)) -> None:
    """As if a worker had taken the run and still held it for `lease` (negative: its lease ran out)."""
    with runtime.transaction() as session:
        session.execute(update(ScheduleRun).where(ScheduleRun.id == run_id).values(
            status="running", attempts=1, started_at=utcnow(), claimed_until=utcnow() + lease))


def test_a_run_whose_turn_comes_while_another_run_of_its_job_is_running_is_skipped_and_names_it(runtime, job):
    schedule_id, first = queued_run(runtime)
    second_schedule, second = queued_run(runtime)  # another schedule of the same job, asked for by hand
    running(runtime, first)

    assert execute_run(runtime, second) == "skipped"

    run = stored(runtime, second)
    assert (run.status, run.overlapping_run_id, run.attempts, run.started_at) == ("skipped", first, 0, None)
    assert run.finished_at is not None and job.calls == []
    assert run_events(runtime)[-1] == ("admin:ops", "schedule.run_skipped", {
        "schedule_id": second_schedule, "run_id": second, "job": "test_recording", "overlapping_run_id": first})
    with runtime.transaction() as session:
        assert get_run(session, second_schedule, second)["overlapping_run_id"] == first
        assert get_run(session, schedule_id, first)["overlapping_run_id"] is None
    assert execute_run(runtime, second) == "skipped" and stored(runtime, second).status == "skipped"  # redelivered


def test_a_run_of_another_job_or_one_whose_lease_ran_out_does_not_hold_a_run_back(runtime, job):
    _, failing = queued_run(runtime, "test_failing")
    _, lost = queued_run(runtime)
    _, waiting = queued_run(runtime)
    running(runtime, failing)
    running(runtime, lost, lease=-timedelta(seconds=1))  # its worker was killed: the dispatcher will requeue it

    assert execute_run(runtime, waiting) == "succeeded"
    assert job.calls == [waiting] and stored(runtime, waiting).overlapping_run_id is None


def test_two_runs_of_one_job_claimed_at_once_are_decided_one_after_the_other(runtime, job):
    """A claim holds the job's schedules while it decides: the second waits, then sees the first running."""
    _, first = queued_run(runtime)
    _, second = queued_run(runtime)
    outcome: list[str] = []
    with runtime.sessions() as deciding, deciding.begin():
        deciding.scalars(select(Schedule.id).where(Schedule.job == "test_recording").with_for_update()).all()
        deciding.execute(update(ScheduleRun).where(ScheduleRun.id == first).values(
            status="running", attempts=1, claimed_until=utcnow() + timedelta(minutes=5)))
        other = threading.Thread(target=lambda: outcome.append(execute_run(runtime, second)))
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive()  # waiting for the first claim's decision, not deciding alongside it
    other.join(timeout=30)

    assert outcome == ["skipped"] and job.calls == []
    assert (stored(runtime, second).status, stored(runtime, second).overlapping_run_id) == ("skipped", first)


def test_a_long_run_renews_its_lease_as_its_job_reports_progress(runtime, job, monkeypatch):
    from infoshare_workflow.schedules import execution, jobs

    monkeypatch.setattr(execution, "RENEW_EVERY", timedelta(0))  # renew at every report
    _, run_id = queued_run(runtime)
    leases: list = []

    def long_job(rt, rid, progress, report):
        for done in range(2):
            with runtime.transaction() as session:  # as if the lease were about to run out
                session.execute(update(ScheduleRun).where(ScheduleRun.id == rid).values(
                    claimed_until=utcnow() + timedelta(seconds=1)))
            progress(done, 2)
            leases.append(stored(runtime, rid).claimed_until - utcnow())
        return {"disposed": 2}

    jobs.JOBS["test_recording"] = jobs.Job(long_job)
    assert execute_run(runtime, run_id) == "succeeded"
    assert len(leases) == 2 and all(timedelta(minutes=9) < lease <= RUN_LEASE for lease in leases)


def test_an_attempt_that_was_taken_over_stops_at_its_next_progress_report(runtime, job, monkeypatch, caplog):
    from infoshare_workflow.schedules import execution, jobs

    monkeypatch.setattr(execution, "RENEW_EVERY", timedelta(0))
    _, run_id = queued_run(runtime)
    reached: list[int] = []

    def overtaken(rt, rid, progress, report):
        progress(0, 2)
        reached.append(0)
        with runtime.transaction() as session:  # its lease ran out and another worker took the run
            session.execute(update(ScheduleRun).where(ScheduleRun.id == rid).values(attempts=2))
        progress(1, 2)
        reached.append(1)
        return {"disposed": 1}

    jobs.JOBS["test_recording"] = jobs.Job(overtaken)
    assert execute_run(runtime, run_id) == "skipped"
    assert reached == [0]
    run = stored(runtime, run_id)
    assert (run.status, run.attempts, run.counts) == ("running", 2, {})
    assert "taken over" in caplog.text
