"""Admin-scheduled sweeps in the admin API (INTERFACES.md §3), on the admin blueprint.

"Review retained information regularly": an admin sets when each sweep runs, runs one now,
and reads what each run did, as JSON or as CSV (`Accept: text/csv`, one row per report row).
The routes live on `admin_api.bp`, so its bearer-token check, rate limit and JSON errors apply;
the domain is `infoshare_workflow.schedules`. Golden rule 7: every change, every manual run and
every read of a run's report is audited with the token's name.

Errors: body not parseable JSON, or not an object → 400; `Content-Type` not
`application/json` → 415; a bad field (an unregistered `job`, a `cron` expression that does
not step, a `timezone` that does not exist, an unknown key) → 422 by field; an unknown or
deleted schedule, or a run not of it → 404. A deleted schedule's runs are kept, not shown.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Response, jsonify, request
from marshmallow import ValidationError

from infoshare_workflow.records import audit
from infoshare_workflow.schedules.management import (
    InvalidSchedule,
    ScheduleNotFound,
    create_schedule,
    delete_schedule,
    list_schedules,
    schedule_view,
    update_schedule,
)
from infoshare_workflow.schedules.runs import RunNotFound, get_run, list_runs, report_columns, run_now
from infoshare_workflow.schemas.schedules import (
    RunDetailSchema,
    RunPageSchema,
    RunQuerySchema,
    ScheduleListSchema,
    ScheduleSchema,
)
from infoshare_workflow.webhooks import runtime
from infoshare_workflow.webhooks.admin_api import actor, bp, csv_attachment, error, json_body, row_id

NOT_FOUND = "No such schedule."
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas (CSV injection)


def _invalid(errors: Any) -> Response:
    return error(422, "Invalid schedule.", errors=errors)


@bp.get("/schedules")
def schedules() -> Response:
    with runtime().transaction() as session:
        items = [schedule_view(s) for s in list_schedules(session)]
    return jsonify(ScheduleListSchema().dump({"items": items}))


@bp.post("/schedules")
def create() -> Response:
    try:
        values = json_body()
        with runtime().transaction() as session:
            body = ScheduleSchema().dump(schedule_view(create_schedule(session, values, actor=actor())))
    except InvalidSchedule as exc:
        return _invalid(exc.errors)
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.patch("/schedules/<schedule_id>")
def patch(schedule_id: str) -> Response:
    found = row_id(schedule_id)
    try:
        if found is None:
            raise ScheduleNotFound(schedule_id)
        changes = json_body()
        with runtime().transaction() as session:  # the domain looks the schedule up, then validates
            body = ScheduleSchema().dump(schedule_view(update_schedule(session, found, changes, actor=actor())))
    except ScheduleNotFound:
        return error(404, NOT_FOUND)
    except InvalidSchedule as exc:
        return _invalid(exc.errors)
    return jsonify(body)


@bp.delete("/schedules/<schedule_id>")
def delete(schedule_id: str) -> Response:
    """The schedule stops and is gone from the API; its runs and reports are kept for the record."""
    try:
        with runtime().transaction() as session:
            delete_schedule(session, row_id(schedule_id), actor=actor())
    except ScheduleNotFound:
        return error(404, NOT_FOUND)
    return Response(status=204)


@bp.post("/schedules/<schedule_id>/run")
def run(schedule_id: str) -> Response:
    try:
        with runtime().transaction() as session:
            run_id = run_now(session, row_id(schedule_id), actor()).id
    except ScheduleNotFound:
        return error(404, NOT_FOUND)
    response = jsonify({"run_id": run_id})
    response.status_code = 202
    return response


@bp.get("/schedules/<schedule_id>/runs")
def runs(schedule_id: str) -> Response:
    try:
        args = RunQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        return error(422, "Invalid query.", errors=exc.messages)
    before = int(args["cursor"]) if "cursor" in args else None
    try:
        with runtime().transaction() as session:
            items, next_id = list_runs(session, row_id(schedule_id), limit=args["limit"], before_id=before)
    except ScheduleNotFound:
        return error(404, NOT_FOUND)
    return jsonify(RunPageSchema().dump({"items": items, "next_cursor": None if next_id is None else str(next_id)}))


@bp.get("/schedules/<schedule_id>/runs/<run_id>")
def one_run(schedule_id: str, run_id: str) -> Response:
    as_csv = request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    try:
        with runtime().transaction() as session:
            view = get_run(session, row_id(schedule_id), row_id(run_id))
            audit.append(session, actor=actor(), action="schedule.run_read", details={
                "schedule_id": view["schedule_id"], "run_id": view["id"], "report_items": len(view["report_items"]),
                "format": "csv" if as_csv else "json"})
    except ScheduleNotFound:
        return error(404, NOT_FOUND)
    except RunNotFound:
        return error(404, "No such run of this schedule.")
    return _csv(view) if as_csv else jsonify(RunDetailSchema().dump(view))


def _csv(view: dict[str, Any]) -> Response:
    """One row per report row: `kind`, then the rows' keys as columns."""
    items = view["report_items"]
    columns = report_columns(items)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for entry in items:
        writer.writerow([_cell(entry["kind"] if column == "kind" else entry["item"].get(column)) for column in columns])
    return csv_attachment(buffer.getvalue(), f'schedule-{view["schedule_id"]}-run-{view["id"]}.csv')


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, separators=(",", ":"))
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text
