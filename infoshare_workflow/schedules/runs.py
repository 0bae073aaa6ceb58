"""Runs of scheduled sweeps: made once per due slot by the dispatcher, or asked for by hand, and shown.

"Review retained information regularly", reliably (RELIABILITY.md): the time a sweep is due
is a row (`schedules.next_run_at`), claimed by the dispatcher's short periodic pass under
FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite serialises writers). Each claimed slot inserts
its run with INSERT … ON CONFLICT DO NOTHING on (schedule, due time), so two beats or two
dispatchers make one run; the schedule then moves to its next slot *after now*, so a slot
missed while everything was down runs once when it comes back, not once per missed slot.
The run's execution is enqueued through the outbox in the same transaction, and a run whose
worker was lost mid-run (still `running` after its lease) is queued again here.
Golden rule 7: manual runs (`schedule.run_requested`) and requeued ones are audited.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.schedules import cron
from infoshare_workflow.schedules.jobs import JOBS
from infoshare_workflow.schedules.management import get_schedule
from infoshare_workflow.storage import outbox
from infoshare_workflow.storage.db import insert
from infoshare_workflow.storage.models import RunReportItem, Schedule, ScheduleRun, utcnow

log = logging.getLogger(__name__)

RUN_TASK = "infoshare.schedules.run"
# A run still `running` this long after its worker last renewed its lease is taken to be lost;
# jobs report progress after every batch, and each report renews the lease at most once a minute.
RUN_LEASE = timedelta(minutes=10)
RENEW_EVERY = timedelta(minutes=1)
BATCH = 100


class RunNotFound(LookupError):
    """No run of that id belongs to the schedule."""


def _skip_locked(session: Session, query: Select[Any]) -> Select[Any]:
    return query.with_for_update(skip_locked=True) if session.get_bind().dialect.name == "postgresql" else query


def run_due_schedules(session_factory: Callable[[], Any], now: datetime | None = None) -> int:
    """One dispatcher pass: a run for every enabled schedule whose slot has come; the number made."""
    now = now or utcnow()
    made = 0
    with session_factory() as session, session.begin():
        due = session.scalars(_skip_locked(session, select(Schedule).where(
            Schedule.enabled.is_(True), Schedule.deleted_at.is_(None), Schedule.next_run_at <= now,
        ).order_by(Schedule.next_run_at, Schedule.id).limit(BATCH))).all()
        for schedule in due:
            slot = schedule.next_run_at
            assert slot is not None
            run_id = session.scalar(
                insert(session, ScheduleRun.__table__)
                .values(schedule_id=schedule.id, due_at=slot, status="queued", attempts=0, counts={},
                        created_at=now)
                .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
                .returning(ScheduleRun.__table__.c.id))
            try:
                schedule.next_run_at = cron.next_after(schedule.cron, schedule.timezone, max(now, slot))
            except (cron.InvalidCron, cron.InvalidTimezone):  # e.g. a time zone gone from the system's data
                _stop_unreadable(session, schedule)
            if run_id is not None:
                outbox.enqueue(session, RUN_TASK, run_id=run_id)
                made += 1
        _requeue_lost(session, now)
    return made


def _stop_unreadable(session: Session, schedule: Schedule) -> None:
    schedule.enabled, schedule.next_run_at = False, None
    log.warning("schedule %s disabled: its cron expression or time zone can no longer be read", schedule.id)
    audit.append(session, actor="system", action="schedule.updated", details={
        "schedule_id": schedule.id, "job": schedule.job, "fields": ["enabled"], "enabled": False,
        "reason": "timing unreadable"})


def _requeue_lost(session: Session, now: datetime) -> int:
    """Queue again the runs still `running` after their lease: their worker was killed mid-run."""
    lost = session.scalars(_skip_locked(session, select(ScheduleRun).where(
        ScheduleRun.status == "running", ScheduleRun.claimed_until < now).order_by(ScheduleRun.id).limit(BATCH))).all()
    for run in lost:
        run.status, run.claimed_until = "queued", None
        outbox.enqueue(session, RUN_TASK, run_id=run.id)
        log.warning("schedule run %s was left running after its lease; queued again", run.id)
        audit.append(session, actor="system", action="schedule.run_requeued", details={
            "schedule_id": run.schedule_id, "run_id": run.id, "attempts": run.attempts})
    return len(lost)


def run_now(session: Session, schedule_id: int | None, actor: str, *, enqueue: bool = True) -> ScheduleRun:
    """A run of the schedule's job now, disabled or not (`due_at` = now), queued for a worker
    unless the caller runs it itself (`enqueue=False`, the command line)."""
    schedule = get_schedule(session, schedule_id)
    run = ScheduleRun(schedule_id=schedule.id, due_at=utcnow(), status="queued", requested_by=actor[:64],
                      attempts=0, counts={})
    session.add(run)
    session.flush()
    audit.append(session, actor=actor, action="schedule.run_requested", details={
        "schedule_id": schedule.id, "run_id": run.id, "job": schedule.job})
    if enqueue:
        outbox.enqueue(session, RUN_TASK, run_id=run.id)
    return run


def list_runs(session: Session, schedule_id: int | None, limit: int = 50,
              before_id: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the schedule's runs, newest first, and the id the next page starts before."""
    schedule = get_schedule(session, schedule_id)
    query = select(ScheduleRun).where(ScheduleRun.schedule_id == schedule.id)
    if before_id is not None:
        query = query.where(ScheduleRun.id < before_id)
    runs = list(session.scalars(query.order_by(ScheduleRun.id.desc()).limit(limit + 1)))
    more = len(runs) > limit
    runs = runs[:limit]
    return [run_view(session, run, schedule.job) for run in runs], (runs[-1].id if more else None)


def get_run(session: Session, schedule_id: int | None, run_id: int | None) -> dict[str, Any]:
    """One run with its report rows, in the order written."""
    schedule = get_schedule(session, schedule_id)
    run = session.get(ScheduleRun, run_id) if isinstance(run_id, int) else None
    if run is None or run.schedule_id != schedule.id:
        raise RunNotFound(run_id)
    rows = session.scalars(select(RunReportItem).where(RunReportItem.run_id == run.id).order_by(RunReportItem.id))
    items = [{"kind": row.kind, "item": json.loads(row.item), "created_at": row.created_at} for row in rows]
    return {**run_view(session, run, schedule.job), "report_items": items}


def run_view(session: Session, run: ScheduleRun, job: str) -> dict[str, Any]:
    """A run as shown: its counts with what has followed from them since (the job's summary)."""
    summary = JOBS[job].summary if job in JOBS else None
    counts = {**(run.counts or {}), **(summary(session, run.id) if summary is not None else {})}
    return {"id": run.id, "schedule_id": run.schedule_id, "job": job, "due_at": run.due_at,
            "requested_by": run.requested_by, "status": run.status, "attempts": run.attempts,
            "started_at": run.started_at, "finished_at": run.finished_at, "counts": counts, "error": run.error,
            "overlapping_run_id": run.overlapping_run_id}


def report_columns(items: list[dict[str, Any]]) -> list[str]:
    """The columns of a report as a table: `kind`, then every key of the rows, in first-seen order."""
    columns = ["kind"]
    for entry in items:
        columns += [key for key in entry["item"] if key not in columns]
    return columns
