"""The dispatcher's pass makes one run per due slot, whatever runs it at once, and a slot
missed while everything was down runs once; the run is queued through the outbox with it."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from infoshare_workflow.schedules import cron
from infoshare_workflow.schedules.management import ScheduleNotFound, create_schedule, delete_schedule
from infoshare_workflow.schedules.runs import RUN_TASK, run_due_schedules, run_now
from infoshare_workflow.storage.models import AuditEvent, OutboxMessage, Schedule, ScheduleRun

UTC = timezone.utc
MONDAY_0200 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 02:00 in London: GMT in December


def weekly(runtime, due: datetime = MONDAY_0200, **values) -> int:
    """A weekly schedule whose next slot is `due`."""
    with runtime.transaction() as session:
        schedule = create_schedule(session, {"job": "retention_sweep", "cron": "0 2 * * 1", **values}, actor="admin:t")
        if schedule.enabled:
            schedule.next_run_at = due
        return schedule.id


def runs(runtime) -> list[ScheduleRun]:
    with runtime.transaction() as session:
        return list(session.scalars(select(ScheduleRun).order_by(ScheduleRun.id)))


def queued(runtime) -> list[dict]:
    with runtime.transaction() as session:
        return [m.kwargs for m in session.scalars(select(OutboxMessage).where(OutboxMessage.task == RUN_TASK))]


def next_run(runtime, schedule_id: int) -> datetime | None:
    with runtime.transaction() as session:
        return session.get(Schedule, schedule_id).next_run_at


def test_a_due_slot_makes_one_queued_run_and_moves_the_schedule_to_its_next_slot(runtime):
    schedule_id = weekly(runtime)

    assert run_due_schedules(runtime.sessions, now=MONDAY_0200 + timedelta(seconds=3)) == 1

    [run] = runs(runtime)
    assert (run.schedule_id, run.due_at, run.status, run.attempts, run.requested_by) == (
        schedule_id, MONDAY_0200, "queued", 0, None)
    assert queued(runtime) == [{"run_id": run.id}]
    assert next_run(runtime, schedule_id) == MONDAY_0200 + timedelta(days=7)


def test_a_slot_not_yet_due_makes_nothing(runtime):
    weekly(runtime)
    assert run_due_schedules(runtime.sessions, now=MONDAY_0200 - timedelta(seconds=1)) == 0
    assert runs(runtime) == [] and queued(runtime) == []


def test_slots_missed_while_everything_was_down_run_once_and_the_next_is_after_now(runtime):
    schedule_id = weekly(runtime)
    back_up = MONDAY_0200 + timedelta(days=22, hours=5)  # three Mondays missed: Thursday three weeks later

    assert run_due_schedules(runtime.sessions, now=back_up) == 1
    assert run_due_schedules(runtime.sessions, now=back_up + timedelta(minutes=1)) == 0

    assert [r.due_at for r in runs(runtime)] == [MONDAY_0200]
    assert next_run(runtime, schedule_id) == MONDAY_0200 + timedelta(days=28)


def test_the_same_slot_claimed_again_makes_no_second_run(runtime):
    """The backstop behind the row locks: a second claim of a slot inserts nothing and queues nothing."""
    schedule_id = weekly(runtime)
    run_due_schedules(runtime.sessions, now=MONDAY_0200)
    with runtime.transaction() as session:  # as if a second dispatcher had read the schedule before the move
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(next_run_at=MONDAY_0200))

    assert run_due_schedules(runtime.sessions, now=MONDAY_0200) == 0
    assert len(runs(runtime)) == 1 and len(queued(runtime)) == 1
    assert next_run(runtime, schedule_id) == MONDAY_0200 + timedelta(days=7)


def test_two_dispatcher_passes_at_once_make_one_run_per_slot(runtime):
    ids = [weekly(runtime) for _ in range(5)]
    start = threading.Barrier(4)
    made: list[int] = []

    def dispatcher() -> None:
        start.wait()
        made.append(run_due_schedules(runtime.sessions, now=MONDAY_0200 + timedelta(seconds=1)))

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(made) == 5
    assert sorted(r.schedule_id for r in runs(runtime)) == ids
    assert sorted(k["run_id"] for k in queued(runtime)) == [r.id for r in runs(runtime)]


def test_disabled_and_deleted_schedules_do_not_run(runtime):
    disabled = weekly(runtime, enabled=False)
    deleted = weekly(runtime)
    with runtime.transaction() as session:
        session.get(Schedule, disabled).next_run_at = MONDAY_0200  # even with a slot left behind
        delete_schedule(session, deleted, actor="admin:t")
    assert run_due_schedules(runtime.sessions, now=MONDAY_0200 + timedelta(days=1)) == 0
    assert runs(runtime) == []


def test_a_schedule_whose_time_zone_can_no_longer_be_read_is_disabled_not_stuck(runtime, monkeypatch):
    schedule_id = weekly(runtime)
    healthy = weekly(runtime)

    def gone(expression, zone_name, after):
        if zone_name == "Europe/London" and gone.calls == 0:
            gone.calls += 1
            raise cron.InvalidTimezone("gone")
        return real(expression, zone_name, after)

    real, gone.calls = cron.next_after, 0
    monkeypatch.setattr(cron, "next_after", gone)
    assert run_due_schedules(runtime.sessions, now=MONDAY_0200) == 2
    with runtime.transaction() as session:
        stopped, other = session.get(Schedule, schedule_id), session.get(Schedule, healthy)
        assert (stopped.enabled, stopped.next_run_at) == (False, None)
        assert other.enabled and other.next_run_at == MONDAY_0200 + timedelta(days=7)


def test_a_manual_run_is_due_now_queued_and_audited_with_who_asked(runtime):
    schedule_id = weekly(runtime, enabled=False)  # a disabled schedule can still be run by hand
    with runtime.transaction() as session:
        run = run_now(session, schedule_id, "admin:ops")
    [stored] = runs(runtime)
    assert (stored.id, stored.status, stored.requested_by) == (run.id, "queued", "admin:ops")
    assert queued(runtime) == [{"run_id": run.id}]
    with runtime.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "schedule.run_requested")).one()
        assert event.actor == "admin:ops"
        assert json.loads(event.details) == {"schedule_id": schedule_id, "run_id": run.id, "job": "retention_sweep"}
    assert next_run(runtime, schedule_id) is None


def test_a_manual_run_for_the_command_line_is_not_queued(runtime):
    schedule_id = weekly(runtime)
    with runtime.transaction() as session:
        run_now(session, schedule_id, "cli:ops", enqueue=False)
    assert len(runs(runtime)) == 1 and queued(runtime) == []


def test_a_manual_run_of_an_unknown_schedule_makes_nothing(runtime):
    with runtime.transaction() as session, pytest.raises(ScheduleNotFound):
        run_now(session, 42, "admin:ops")
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ScheduleRun)) == 0
