"""Schemas of admin-scheduled sweeps (INTERFACES.md §3): schedules in and out, runs and their reports out.

"Review retained information regularly": a schedule names a job, a five-field cron
expression and a time zone. These schemas check the shape of a body (types, lengths, no
unknown keys: a misspelt field is refused, never dropped); whether the job is registered,
the cron expression steps and the time zone exists is checked by `infoshare_workflow.schedules`,
which loads these same schemas, so the API and the command line share one set of rules.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from infoshare_workflow.schemas.fields import StrictBoolean, Text

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "skipped")
CURSOR = r"^[1-9][0-9]{0,8}$"
FIELDS = ("cron", "timezone", "enabled")


def _cron(**kwargs: Any) -> Text:
    return Text(validate=validate.Length(min=1, max=100), metadata={
        "description": "Five fields: minute, hour, day of month, month, day of week (`0 2 * * 1`: 02:00 every "
                       "Monday), on the wall clock of `timezone`. Names (`MON`, `JAN`) and `L`, `#` as cronsim "
                       "reads them; an expression it cannot read is a 422 naming `cron`.",
        "examples": ["0 2 * * 1", "30 1 1 * *"]}, **kwargs)


def _timezone(**kwargs: Any) -> Text:
    return Text(validate=validate.Length(min=1, max=64), metadata={
        "description": "An IANA time zone name, such as `Europe/London` (the school's own by default); "
                       "one that does not exist is a 422 naming `timezone`.",
        "examples": ["Europe/London", "UTC"]}, **kwargs)


class ScheduleCreateSchema(Schema):
    """A new schedule: `job` and `cron` required; `timezone` defaults to the school's, `enabled` to true."""

    class Meta:
        unknown = RAISE

    job = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "The sweep to run; only registered jobs are accepted."})
    cron = _cron(required=True)
    timezone = _timezone()
    enabled = StrictBoolean(load_default=True)


class SchedulePatchSchema(Schema):
    """Changes to a schedule: any of `cron`, `timezone`, `enabled`, at least one (the job is fixed)."""

    class Meta:
        unknown = RAISE

    cron = _cron()
    timezone = _timezone()
    enabled = StrictBoolean()

    @validates_schema
    def _at_least_one(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError(f"Give at least one of {', '.join(FIELDS)}.")


class ScheduleSchema(Schema):
    """A schedule as the API shows it."""

    id = fields.Integer()
    job = fields.String()
    cron = fields.String()
    description = fields.String(metadata={"description": "The cron expression in words (24-hour clock)."})
    timezone = fields.String()
    enabled = fields.Boolean()
    last_run_at = fields.AwareDateTime(allow_none=True, metadata={"description": "When its latest run started."})
    next_run_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "The next slot it runs at (UTC); null while disabled."})


class ScheduleListSchema(Schema):
    items = fields.List(fields.Nested(ScheduleSchema))


class RunSchema(Schema):
    """One run of a schedule's job."""

    id = fields.Integer()
    schedule_id = fields.Integer()
    job = fields.String()
    due_at = fields.AwareDateTime(metadata={"description": "The slot it ran for; for a run asked for by hand, "
                                                            "when it was asked."})
    requested_by = fields.String(allow_none=True, metadata={"description": "Who asked for a run by hand; null "
                                                                           "for a scheduled run."})
    status = fields.String(validate=validate.OneOf(RUN_STATUSES), metadata={
        "description": "`queued`, `running`, `succeeded`, `failed`, or `skipped`: its turn came while another run "
                       "of the same job was running (`overlapping_run_id`), which does the same work."})
    attempts = fields.Integer(metadata={"description": "Workers that took it up (more than one after a worker "
                                                       "was lost mid-run)."})
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "What the job counted, with what followed from it since (e.g. reviews answered)."})
    error = fields.String(allow_none=True, metadata={"description": "A failed run's error class (never its "
                                                                    "message, which may quote personal data)."})
    overlapping_run_id = fields.Integer(allow_none=True, metadata={
        "description": "A skipped run's reason: the run of the same job that was still running when this "
                       "one's turn came (one run of a job at a time). Null otherwise."})


class RunPageSchema(Schema):
    items = fields.List(fields.Nested(RunSchema))
    next_cursor = fields.String(allow_none=True, metadata={
        "pattern": CURSOR, "description": "Pass it as `cursor` for older runs; null on the last page."})


class RunQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Regexp(CURSOR, error="Not a valid cursor."), metadata={
        "description": "Where the page starts: the `next_cursor` of the page before, as it came. Newest first."})


class ReportItemSchema(Schema):
    kind = fields.String(metadata={"description": "What the row is, e.g. `disposal`."})
    item = fields.Dict(keys=fields.String(), metadata={"description": "The row, as the job wrote it."})
    created_at = fields.AwareDateTime()


class RunDetailSchema(RunSchema):
    report_items = fields.List(fields.Nested(ReportItemSchema), metadata={
        "description": "The run's report, in the order written (as CSV with `Accept: text/csv`)."})


class RunRequestedSchema(Schema):
    run_id = fields.Integer(metadata={"description": "The run: follow it at `/schedules/{id}/runs/{run_id}`."})
