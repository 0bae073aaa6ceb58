"""Jobs registered for a test only (one line each in the registry, as a real job's is): one that
reports rows and says how far it has got, one that fails with personal data in its message; and
a schedule's next slot brought forward, for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from infoshare_workflow.schedules import jobs
from infoshare_workflow.storage.models import Schedule, utcnow

SECRET = "Sam Taylor"


class RecordingJob:
    """Reports three rows in its own transaction, says how far it got, returns its counts."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, runtime: Any, run_id: int, progress: Any, report: Any) -> dict[str, int]:
        self.calls.append(run_id)
        with runtime.transaction() as session:
            for i in range(1, 4):
                report(session, "disposal", {"case_id": f"IS-T{i}", "category": "low_level", "note": "=SUM(A1)"})
        for i in range(1, 4):
            progress(i, 3)
        return {"disposed": 3, "listed": 0}


class JobBroke(RuntimeError):
    pass


def failing(runtime: Any, run_id: int, progress: Any, report: Any) -> dict[str, int]:
    progress(0, 10)
    raise JobBroke(f"{SECRET}'s record could not be read")  # the message must never be recorded


@contextmanager
def registered_test_jobs() -> Iterator[RecordingJob]:
    recording = RecordingJob()
    jobs.JOBS["test_recording"] = jobs.Job(recording, lambda session, run_id: {"retained": 2})
    jobs.JOBS["test_failing"] = jobs.Job(failing)
    try:
        yield recording
    finally:
        del jobs.JOBS["test_recording"], jobs.JOBS["test_failing"]


def due_in_a_moment(runtime: Any, schedule_id: int, seconds: float = 2.0) -> datetime:
    """Bring a schedule's next slot forward to a moment from now, as if its minute were about to
    turn: an end-to-end test then waits seconds, not up to a minute, for beat to run it."""
    due = utcnow() + timedelta(seconds=seconds)
    with runtime.transaction() as session:
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(next_run_at=due))
    return due
