"""Scheduled sweeps with real workers and beats on Redis and PostgreSQL: a schedule made through
the API runs at its time, once, though two beats dispatch every second; a run asked for by hand
is taken up by a worker; each run's start and finish are recorded with its counts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from infoshare_workflow.storage.models import AuditEvent, Schedule, ScheduleRun

from ..conftest import REDIS_URL, WorkerProcess, wait_for
from ..schedule_jobs import due_in_a_moment

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, broker_url=REDIS_URL, dispatch_interval=1)


@pytest.fixture
def admin(client, admin_token):
    def call(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return client.open(path, method=method, headers={"Authorization": f"Bearer {admin_token}"}, **kwargs)

    return call


def finished_runs(runtime) -> list[ScheduleRun]:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return list(session.scalars(select(ScheduleRun).where(ScheduleRun.finished_at.is_not(None))
                                    .order_by(ScheduleRun.id)))


def run_events(runtime) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return [(e.action, json.loads(e.details)) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("schedule.run_%")).order_by(AuditEvent.seq))]


def test_a_schedule_made_through_the_api_runs_at_its_time_once_under_two_beats(admin, runtime, settings, tmp_path):
    made = admin("POST", "/api/v1/schedules", json={"job": "retention_sweep", "cron": "* * * * *"})
    assert made.status_code == 201
    schedule_id = made.get_json()["id"]
    due = due_in_a_moment(runtime, schedule_id)
    workers = [WorkerProcess(settings, tmp_path / f"worker-{n}.log", beat=True) for n in (1, 2)]
    for worker in workers:
        worker.start()
    try:
        wait_for(lambda: finished_runs(runtime), timeout=150)
        # both beats were sending the dispatcher's tick all along, every second
        wait_for(lambda: all(w.log().count("Sending due task dispatch") >= 5 for w in workers), timeout=30)
    finally:
        for worker in workers:
            worker.kill()

    first, *later = finished_runs(runtime)
    assert (first.schedule_id, first.due_at, first.status, first.attempts, first.error) == (
        schedule_id, due, "succeeded", 1, None)
    assert due <= first.started_at < due + timedelta(seconds=15) and first.finished_at >= first.started_at
    assert first.counts and all(isinstance(v, int) for v in first.counts.values())
    with runtime.transaction() as session:
        runs = session.scalars(select(ScheduleRun)).all()
        assert session.get(Schedule, schedule_id).last_run_at == max(r.started_at for r in runs if r.started_at)
    assert len({r.due_at for r in runs}) == len(runs)  # one run per slot
    started = [d["run_id"] for action, d in run_events(runtime) if action == "schedule.run_started"]
    assert sorted(started) == sorted(r.id for r in runs if r.started_at)  # each run's job ran once
    assert ("schedule.run_finished", {"schedule_id": schedule_id, "run_id": first.id, "job": "retention_sweep",
                                      "counts": first.counts}) in run_events(runtime)
    for worker in workers:
        assert "Traceback" not in worker.log() and "IntegrityError" not in worker.log()


def test_a_run_asked_for_through_the_api_is_taken_up_by_a_worker(admin, runtime, settings, tmp_path):
    made = admin("POST", "/api/v1/schedules", json={"job": "retention_sweep", "cron": "0 2 * * 1",
                                                    "enabled": False}).get_json()
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    worker.start()
    try:
        response = admin("POST", f"/api/v1/schedules/{made['id']}/run")
        assert response.status_code == 202
        run_id = response.get_json()["run_id"]
        wait_for(lambda: finished_runs(runtime), timeout=60)
    finally:
        worker.kill()

    body = admin("GET", f"/api/v1/schedules/{made['id']}/runs/{run_id}").get_json()
    assert body["status"] == "succeeded" and body["started_at"] and body["finished_at"] and body["attempts"] == 1
    assert body["requested_by"].startswith("admin:") and body["report_items"] == []
    assert [a for a, _ in run_events(runtime)] == [
        "schedule.run_requested", "schedule.run_started", "schedule.run_finished", "schedule.run_read"]
    assert f"schedule run {run_id} (retention_sweep, schedule {made['id']}) succeeded" in worker.log()
