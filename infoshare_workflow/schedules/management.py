"""Managing schedules: add, change, enable, disable, delete and list the sweeps an admin sets.

"Review retained information regularly" is kept by a schedule, not by memory: each names a
registered job, a cron expression and a time zone, and knows when it next runs
(`next_run_at`, UTC, recomputed from now whenever the timing changes or it is enabled; empty
while disabled). Golden rule 7: every change appends an audit event (`schedule.created`,
`schedule.updated`, `schedule.deleted`) with the actor passed in; the details are the job, the
timing and the fields changed, never personal data.

Values are validated with the schemas of `schemas.schedules` (shape) and here (a registered
job, a cron expression cronsim can step, an IANA time zone), so the admin API and the command
line keep to one set of rules and a refusal names each wrong field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.schedules import cron
from infoshare_workflow.schedules.jobs import JOBS, job_names
from infoshare_workflow.schemas.schedules import ScheduleCreateSchema, SchedulePatchSchema
from infoshare_workflow.storage.models import Schedule, utcnow

DEFAULT_TIMEZONE = "Europe/London"
_MAX_ID = 2**31 - 1  # an INTEGER primary key


class ScheduleNotFound(LookupError):
    """No schedule has that id (or it was deleted)."""


class InvalidSchedule(ValueError):
    """Values that break a schedule's rules; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in errors.items()))
        self.errors = errors


def _validated(schema: Schema, values: Any) -> dict[str, Any]:
    """The values the schema accepts, checked further here; every wrong field named at once."""
    try:
        data: dict[str, Any] = schema.load(values)
        errors: dict[str, Any] = {}
    except ValidationError as exc:
        if not isinstance(exc.messages, dict) or not isinstance(exc.valid_data, dict):
            raise InvalidSchedule({"_schema": exc.messages}) from None
        data, errors = exc.valid_data, dict(exc.messages)
    if "job" in data and data["job"] not in JOBS:
        errors["job"] = [f"Not a job that can be scheduled: choose one of {', '.join(job_names())}."]
    if data.get("cron") is not None:
        try:
            data["cron"] = cron.check(data["cron"])
        except cron.InvalidCron as exc:
            errors["cron"] = [str(exc)]
    if data.get("timezone") is not None:
        try:
            cron.zone(data["timezone"])
        except cron.InvalidTimezone as exc:
            errors["timezone"] = [str(exc)]
    if errors:
        raise InvalidSchedule(errors)
    return data


def _next_run(schedule: Schedule, now: datetime) -> datetime | None:
    return cron.next_after(schedule.cron, schedule.timezone, now) if schedule.enabled else None


def _timing(schedule: Schedule) -> dict[str, Any]:
    return {"schedule_id": schedule.id, "job": schedule.job, "cron": schedule.cron, "timezone": schedule.timezone,
            "enabled": schedule.enabled}


def create_schedule(session: Session, values: Mapping[str, Any], *, actor: str) -> Schedule:
    """Add a schedule from `job`, `cron` and optionally `timezone` (the school's by default) and
    `enabled`; raises InvalidSchedule naming every wrong or unknown field at once."""
    default_zone = session.info.get("timezone", DEFAULT_TIMEZONE)
    data = _validated(ScheduleCreateSchema(), {"timezone": default_zone, **values})
    schedule = Schedule(job=data["job"], cron=data["cron"], timezone=data["timezone"], enabled=data["enabled"],
                        created_by=actor[:64])
    schedule.next_run_at = _next_run(schedule, utcnow())
    session.add(schedule)
    session.flush()
    audit.append(session, actor=actor, action="schedule.created", details=_timing(schedule))
    return schedule


def get_schedule(session: Session, schedule_id: int | None, *, for_update: bool = False) -> Schedule:
    """The schedule, unless there is none or it was deleted (ScheduleNotFound)."""
    if isinstance(schedule_id, bool) or not isinstance(schedule_id, int) or not 0 < schedule_id <= _MAX_ID:
        raise ScheduleNotFound(schedule_id)
    schedule = session.get(Schedule, schedule_id, with_for_update=for_update or None)
    if schedule is None or schedule.deleted_at is not None:
        raise ScheduleNotFound(schedule_id)
    return schedule


def list_schedules(session: Session) -> list[Schedule]:
    """Every schedule not deleted, oldest first."""
    return list(session.scalars(select(Schedule).where(Schedule.deleted_at.is_(None)).order_by(Schedule.id)))


def schedule_view(schedule: Schedule) -> dict[str, Any]:
    """A schedule as shown, with its cron expression in words."""
    return {"id": schedule.id, "job": schedule.job, "cron": schedule.cron, "description": cron.describe(schedule.cron),
            "timezone": schedule.timezone, "enabled": schedule.enabled, "last_run_at": schedule.last_run_at,
            "next_run_at": schedule.next_run_at}


def update_schedule(session: Session, schedule_id: int | None, changes: Mapping[str, Any], *, actor: str) -> Schedule:
    """Change any of `cron`, `timezone`, `enabled`; `next_run_at` is worked out again from now.

    Audited only when something changed. The job is the schedule's identity: a different job
    is a new schedule."""
    schedule = get_schedule(session, schedule_id, for_update=True)
    data = _validated(SchedulePatchSchema(), changes)
    changed = sorted(field for field, value in data.items() if getattr(schedule, field) != value)
    if not changed:
        return schedule
    for field in changed:
        setattr(schedule, field, data[field])
    schedule.next_run_at = _next_run(schedule, utcnow())
    audit.append(session, actor=actor, action="schedule.updated", details={**_timing(schedule), "fields": changed})
    return schedule


def enable_schedule(session: Session, schedule_id: int | None, *, actor: str) -> Schedule:
    return update_schedule(session, schedule_id, {"enabled": True}, actor=actor)


def disable_schedule(session: Session, schedule_id: int | None, *, actor: str) -> Schedule:
    return update_schedule(session, schedule_id, {"enabled": False}, actor=actor)


def delete_schedule(session: Session, schedule_id: int | None, *, actor: str) -> Schedule:
    """Stop and remove a schedule. Its row and its runs, with their reports, are kept for the
    record (golden rule 7); a deleted schedule never runs again and is not found any more."""
    schedule = get_schedule(session, schedule_id, for_update=True)
    schedule.deleted_at = utcnow()
    schedule.enabled = False
    schedule.next_run_at = None
    audit.append(session, actor=actor, action="schedule.deleted", details=_timing(schedule))
    return schedule
