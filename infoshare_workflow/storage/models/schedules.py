"""Admin-scheduled sweeps as rows: the schedules, each run of one, and what a run reported.

"Review retained information regularly": a sweep is due at a time worked out from its cron
expression, and that time lives here (`next_run_at`), never as a countdown in the broker
(RELIABILITY.md, "timers as rows"). A run is one row per (schedule, due time), unique, so two
beats or two dispatchers claiming the same slot make one run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infoshare_workflow.storage.crypto import EncryptedText
from infoshare_workflow.storage.models.base import Base, UTCDateTime, utcnow


class Schedule(Base):
    """A job run at the times a cron expression names, in the schedule's own time zone.

    `next_run_at` (UTC) is the slot the dispatcher claims next; it is empty while the schedule
    is disabled. A deleted schedule is kept, marked `deleted_at`, so its runs still say which
    job they were (golden rule 7: keep a record); it never runs again and the API no longer
    shows it."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScheduleRun(Base):
    """One run of a schedule's job: for a due slot (`due_at` = the slot claimed), or asked for
    by hand (`requested_by`, `due_at` = when it was asked).

    `status`: `queued` (waiting for a worker), `running`, `succeeded`, `failed`, or `skipped`
    (its turn came while another run of the same job was running: `overlapping_run_id`). A
    worker claims a run for a lease (`claimed_until`), renewed as the job reports progress, and
    counts its `attempts`; a run still `running` after its lease (its worker was killed or its
    job stopped moving) is queued again by the dispatcher. `error` holds a failure's class,
    never its message (which may quote personal data)."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "due_at", name="uq_schedule_runs_schedule_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    requested_by: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(128))
    overlapping_run_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RunReportItem(Base):
    """One row of a run's report (a disposal, a contact without an email address …).

    `item` is the row's JSON text, encrypted at rest: a report may name people. The text keeps
    the job's own key order, which becomes the CSV's column order. A row about a pupil (a contact
    without an email address) names them as `pupil`, their MIS id, which is copied to `pupil_key`
    so that erasing the pupil finds and deletes the row (review.erasure)."""

    __tablename__ = "run_report_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("schedule_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(EncryptedText)
    pupil_key: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
