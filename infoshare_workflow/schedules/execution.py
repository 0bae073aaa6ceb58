"""Executing one run of a scheduled sweep: claimed once, the job called, the outcome recorded.

"Review retained information regularly", and exactly once per run (RELIABILITY.md): the run
is claimed in a committed transaction before the job starts (`queued` → `running`, with a
lease), so a redelivered or retried task finds it running or finished and does nothing. The
lease is renewed as the job reports progress, so a long sweep keeps its run while one whose
worker was killed, or whose job stopped moving, is taken over minutes after its lease ends
(RELIABILITY.md: work not done "within a short lease" is sent again). The outcome is written
only by the attempt that holds the claim.

One run of a job at a time: two retention sweeps at once would open the same review lists,
and two notice runs would race for the same pupils. A run whose turn comes while another run
of the same job is running is `skipped` and names that run (`overlapping_run_id`): the run in
progress is doing the same work, as cron's "skip if still running" would have it.

Golden rule 7: `schedule.run_started`, `schedule.run_finished` (with the counts),
`schedule.run_failed` (with the error's class, never its message, which may quote personal
data) and `schedule.run_skipped` are audited, and one line is logged.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.schedules.jobs import Progress, job_named
from infoshare_workflow.schedules.runs import RENEW_EVERY, RUN_LEASE
from infoshare_workflow.storage.models import RunReportItem, Schedule, ScheduleRun, utcnow
from infoshare_workflow.storage.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    run_id: int
    schedule_id: int
    job: str
    attempt: int
    actor: str


class RunTakenOver(RuntimeError):
    """This attempt's lease ran out and the run is no longer its own: it stops and records nothing."""


def _quiet(done: int, total: int) -> None:
    pass


def execute_run(runtime: Runtime, run_id: int, progress: Progress = _quiet) -> str:
    """Run the job of run `run_id` unless it is running elsewhere, done, or another run of its
    job is running: `succeeded`, `failed` or `skipped`."""
    claim = claim_run(runtime, run_id)
    if claim is None:
        return "skipped"
    started = time.monotonic()

    def report(session: Session, kind: str, item: dict[str, Any]) -> None:
        pupil = item.get("pupil")
        session.add(RunReportItem(run_id=run_id, kind=kind[:64], item=json.dumps(item, default=str),
                                  pupil_key=pupil if isinstance(pupil, str) else None))

    try:
        raw = job_named(claim.job).run(runtime, run_id, _renewing(runtime, claim, progress), report)
        counts = {str(name): int(value) for name, value in raw.items()}
    except RunTakenOver:
        log.warning("schedule run %s (%s, schedule %s) was taken over after its lease ran out; this attempt "
                    "stopped after %.1fs", run_id, claim.job, claim.schedule_id, time.monotonic() - started)
        return "skipped"
    except BaseException as exc:  # recorded as failed; an interrupt or exit still stops the process
        _finish(runtime, claim, "failed", error=type(exc).__name__)
        log.warning("schedule run %s (%s, schedule %s) failed after %.1fs: %s", run_id, claim.job,
                    claim.schedule_id, time.monotonic() - started, type(exc).__name__)
        if not isinstance(exc, Exception):
            raise
        return "failed"
    _finish(runtime, claim, "succeeded", counts=counts)
    log.info("schedule run %s (%s, schedule %s) succeeded in %.1fs: %s", run_id, claim.job, claim.schedule_id,
             time.monotonic() - started, " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "-")
    return "succeeded"


def _renewing(runtime: Runtime, claim: Claim, progress: Progress) -> Progress:
    """`progress`, renewing the run's lease at most once per RENEW_EVERY as the job reports it."""
    renewed = time.monotonic()

    def report_progress(done: int, total: int) -> None:
        nonlocal renewed
        progress(done, total)
        if time.monotonic() - renewed >= RENEW_EVERY.total_seconds():
            renew_lease(runtime, claim)
            renewed = time.monotonic()

    return report_progress


def renew_lease(runtime: Runtime, claim: Claim) -> None:
    """Extend this attempt's lease; RunTakenOver if the run is no longer its own."""
    with runtime.transaction() as session:
        renewed = session.execute(update(ScheduleRun).where(
            ScheduleRun.id == claim.run_id, ScheduleRun.status == "running", ScheduleRun.attempts == claim.attempt,
        ).values(claimed_until=utcnow() + RUN_LEASE)).rowcount
    if not renewed:
        raise RunTakenOver(claim.run_id)


def claim_run(runtime: Runtime, run_id: int) -> Claim | None:
    """Take a queued run, or one whose lease has run out; None if it is running elsewhere, done or
    unknown, or if another run of its job is running (then it is recorded as skipped)."""
    with runtime.transaction() as session:
        now = utcnow()
        run = session.get(ScheduleRun, run_id, with_for_update=True)
        if run is None or not (run.status == "queued" or (
                run.status == "running" and run.claimed_until is not None and run.claimed_until < now)):
            return None
        schedule = session.get(Schedule, run.schedule_id)
        assert schedule is not None
        overlapping = _running_run_of(session, schedule.job, run.id, now)
        if overlapping is not None:
            _skip(session, run, schedule, overlapping, now)
            return None
        run.status, run.attempts, run.claimed_until = "running", run.attempts + 1, now + RUN_LEASE
        run.started_at = run.started_at or now
        schedule.last_run_at = now
        claim = Claim(run.id, schedule.id, schedule.job, run.attempts, run.requested_by or "system")
        audit.append(session, actor=claim.actor, action="schedule.run_started", details={
            "schedule_id": schedule.id, "run_id": run.id, "job": schedule.job, "due_at": run.due_at.isoformat(),
            "attempt": run.attempts})
    return claim


def _running_run_of(session: Session, job: str, other_than: int, now: datetime) -> int | None:
    """Another run of `job` holding a live lease. The job's schedules are locked first, in id
    order, so two runs of one job claimed at once are decided one after the other."""
    session.scalars(select(Schedule.id).where(Schedule.job == job).order_by(Schedule.id).with_for_update()).all()
    return session.scalar(select(ScheduleRun.id).join(Schedule, Schedule.id == ScheduleRun.schedule_id).where(
        Schedule.job == job, ScheduleRun.id != other_than, ScheduleRun.status == "running",
        ScheduleRun.claimed_until >= now).order_by(ScheduleRun.id).limit(1))


def _skip(session: Session, run: ScheduleRun, schedule: Schedule, overlapping: int, now: datetime) -> None:
    run.status, run.finished_at, run.claimed_until, run.overlapping_run_id = "skipped", now, None, overlapping
    audit.append(session, actor=run.requested_by or "system", action="schedule.run_skipped", details={
        "schedule_id": schedule.id, "run_id": run.id, "job": schedule.job, "overlapping_run_id": overlapping})
    log.info("schedule run %s (%s, schedule %s) skipped: run %s of the same job is running", run.id, schedule.job,
             schedule.id, overlapping)


def _finish(runtime: Runtime, claim: Claim, status: str, counts: dict[str, int] | None = None,
            error: str | None = None) -> None:
    """Record the outcome, if this attempt still holds the run (a taken-over attempt records nothing)."""
    with runtime.transaction() as session:
        run = session.get(ScheduleRun, claim.run_id, with_for_update=True)
        if run is None or run.status != "running" or run.attempts != claim.attempt:
            log.warning("schedule run %s was taken over by another attempt; this attempt's %s is not recorded",
                        claim.run_id, status)
            return
        run.status, run.finished_at, run.claimed_until = status, utcnow(), None
        details: dict[str, Any] = {"schedule_id": claim.schedule_id, "run_id": claim.run_id, "job": claim.job}
        if status == "succeeded":
            run.counts = counts or {}
            audit.append(session, actor=claim.actor, action="schedule.run_finished",
                         details={**details, "counts": run.counts})
        else:
            run.error = (error or "Error")[:128]
            audit.append(session, actor=claim.actor, action="schedule.run_failed",
                         details={**details, "error": run.error})
