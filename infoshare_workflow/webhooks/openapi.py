"""The OpenAPI 3.1 document for the webhook and the admin API, generated from the schemas.

It is the contract integrators build against, and it is checked: schemathesis runs every
check it has against the running app from this document (tests/webhooks/test_openapi_contract.py),
so what it says about fields, statuses and headers is what the app does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from infoshare_workflow import __version__
from infoshare_workflow.schedules.jobs import job_names
from infoshare_workflow.schemas import api, mis_events, recipients, reports, schedules

SECURED = [{"bearer": []}]
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def _json(schema: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _throttled() -> dict[str, Any]:
    return {"429": _json("Error", "too many requests from this address (per-client rate limit)", RETRY_AFTER)}


def _admin(summary: str, responses: dict[str, Any], **operation: Any) -> dict[str, Any]:
    """An admin API operation: bearer token required, so 401 and 429 are possible answers too,
    and 413 for one that takes a body (webhooks.limit_body caps it before it is read)."""
    too_large = {"413": _json("Error", "body over 256 KiB")} if "requestBody" in operation else {}
    return {"summary": summary, "security": SECURED, **operation, "responses": {
        **responses, "401": _json("Error", "no token, or not a valid one"), **too_large, **_throttled()}}


def _path(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"in": "path", "name": name, "required": True, "description": description, "schema": schema}


CASE_ID = _path("case_id", "The case reference (`IS-` and ten characters), as the 202 gave it.",
                {"type": "string", "maxLength": 32})
ROW_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
RECIPIENT_ID = _path("id", "The directory entry's id.", ROW_ID)
STEP_ID = _path("step_id", "The step's id (in the case's `steps`).", ROW_ID)
SCHEDULE_ID = _path("id", "The schedule's id.", ROW_ID)
RUN_ID = _path("run_id", "The run's id (in the schedule's runs, or the 202 of a manual run).", ROW_ID)


@cache
def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="infoshare-workflow", version=__version__, openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "MIS webhook receiver and admin API for the safeguarding information-sharing workflow."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    _components(spec)
    _webhook(spec)
    _cases(spec)
    _steps(spec)
    _retention(spec)
    _recipients(spec)
    _schedules(spec)
    _reports(spec)
    return spec.to_dict()


def _components(spec: APISpec) -> None:
    for name, schema in mis_events.DATA_SCHEMAS.items():
        spec.components.schema(name.replace(".", "_"), schema=schema)
        spec.components.schema(_event_name(name), {
            "type": "object", "additionalProperties": False, "required": ["type", "timestamp", "data"],
            "properties": {
                "type": {"const": name},
                "timestamp": {"type": "string", "format": "date-time",
                              "description": "When the MIS made the event; newer events about a pupil or a member "
                                             "of staff win over older ones. At most five minutes ahead of now."},
                "data": {"$ref": f"#/components/schemas/{name.replace('.', '_')}"},
            },
        })
    spec.components.schema("EventEnvelope", schema=mis_events.EventEnvelopeSchema)
    for schema in (api.CaseSchema, api.CasePageSchema, api.AuditEventSchema, api.AuditListSchema,
                   api.AuditVerificationSchema, api.ErrorSchema, api.IngestSchema):
        spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    for schema in (recipients.RecipientSchema, recipients.RecipientListSchema, recipients.RecipientCreateSchema):
        spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    spec.components.schema("RecipientPatch", {"minProperties": 1}, schema=recipients.RecipientPatchSchema)
    spec.components.schema("StepReassign", schema=api.StepReassignSchema)
    spec.components.schema("LegalHold", schema=api.LegalHoldSchema)
    spec.components.schema("DisposalCancel", schema=api.DisposalCancelSchema)
    for schema in (schedules.ScheduleSchema, schedules.ScheduleListSchema, schedules.RunSchema,
                   schedules.RunPageSchema, schedules.RunDetailSchema, schedules.RunRequestedSchema):
        spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    spec.components.schema("ScheduleCreate", schema=schedules.ScheduleCreateSchema)
    spec.components.schemas["ScheduleCreate"]["properties"]["job"]["enum"] = job_names()  # registered jobs only
    spec.components.schema("SchedulePatch", {"minProperties": 1}, schema=schedules.SchedulePatchSchema)
    spec.components.schema("AnnualReport", schema=reports.AnnualReportSchema)


def _event_name(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.replace(".", "_").split("_")) + "Event"


def _webhook(spec: APISpec) -> None:
    signed = [
        {"in": "header", "name": "webhook-id", "required": True, "description": "Unique per message: the idempotency key.",
         "schema": {"type": "string", "minLength": 1, "maxLength": 255}},
        {"in": "header", "name": "webhook-timestamp", "required": True,
         "description": "Unix seconds; within five minutes of the receiver's clock.",
         "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}},
        {"in": "header", "name": "webhook-signature", "required": True,
         "description": "Space-separated `v1,<base64 HMAC-SHA256>` over `{id}.{timestamp}.{body}` (Standard Webhooks).",
         "schema": {"type": "string", "minLength": 1}},
    ]
    events = [{"$ref": f"#/components/schemas/{_event_name(name)}"} for name in mis_events.DATA_SCHEMAS]
    spec.path(path="/webhooks/mis", operations={"post": {
        "summary": "Receive one signed MIS event (Standard Webhooks)",
        "description": "Accepted events are durable before the 202. Some rules cannot be written as JSON Schema "
                       "(dates relative to now, an update to a concern never raised, a repeated key): an event "
                       "that breaks one is a 422 (400 for JSON) naming the field, like any other invalid event.",
        "parameters": signed,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": events}}}},
        "responses": {
            "202": _json("Ingest", "accepted (new); `case_id` names the case a concern opens"),
            "200": _json("Ingest", "a duplicate: the same webhook-id, or a concern_id already received"),
            "400": _json("Error", "not UTF-8 JSON, not an object, a repeated key, or nested too deep"),
            "401": _json("Error", "signature missing or wrong, or timestamp out of tolerance"),
            "413": _json("Error", "body over 256 KiB"), "415": _json("Error", "not application/json"),
            "422": _json("Error", "field errors (by field), an unknown type, or an unknown concern"),
            **_throttled(),
            "503": _json("Error", "the database is unreachable: nothing was stored, send it again", RETRY_AFTER),
        },
    }})


def _cases(spec: APISpec) -> None:
    spec.path(path="/api/v1/cases", operations={"get": _admin(
        "A page of cases, newest first",
        {"200": {**_json("CasePage", "a page"), "links": {"TheFirstCase": {
            "operationId": "getCase", "parameters": {"case_id": "$response.body#/items/0/case_id"}}}},
         "422": _json("Error", "a bad query argument, by field")},
        parameters=[{"in": "query", "schema": api.CaseQuerySchema}],
    )})
    spec.path(path="/api/v1/cases/{case_id}", operations={"get": _admin(
        "One case (a concern accepted but not yet applied reads as `received`; its read is audited)",
        {"200": _json("Case", "the case"), "404": _json("Error", "no such case")},
        operationId="getCase", parameters=[CASE_ID],
    )})
    spec.path(path="/api/v1/cases/{case_id}/audit", operations={"get": _admin(
        "The case's audit events in order (the read is audited)",
        {"200": _json("AuditList", "events"), "404": _json("Error", "no such case")}, parameters=[CASE_ID],
    )})
    spec.path(path="/api/v1/cases/{case_id}/disclosures/{disclosure_id}/revoke", operations={"post": _admin(
        "Revoke a disclosure: its link opens nothing more (repeating it is harmless)",
        {"200": _json("Disclosure", "the disclosure, revoked"), "404": _json("Error", "no such disclosure in the case")},
        parameters=[CASE_ID, _path("disclosure_id", "The disclosure's id (in the case's `disclosures`).", ROW_ID)],
    )})
    spec.path(path="/api/v1/audit/verify", operations={"get": _admin(
        "Recompute the audit hash chain", {"200": _json("AuditVerification", "the result")},
    )})


def _steps(spec: APISpec) -> None:
    not_found = _json("Error", "no such case, or no such step in it")
    not_open = _json("Error", "the step is not open, or its assignee is inactive or has no email address "
                              "(reassign it then): the message says which")
    spec.path(path="/api/v1/cases/{case_id}/steps/{step_id}/resend", operations={"post": _admin(
        "Email the step's assignee a fresh link; every older link of the step stops working (audited)",
        {"200": _json("Step", "the step"), "404": not_found, "409": not_open},
        parameters=[CASE_ID, STEP_ID],
    )})
    spec.path(path="/api/v1/cases/{case_id}/steps/{step_id}/reassign", operations={"post": _admin(
        "Give an open step to another active DSL (consent, information, share) or manager (consultation)",
        {"200": _json("Step", "the step, with its new assignee"), "404": not_found,
         "409": _json("Error", "the step is not open (pending, done or cancelled)"),
         "400": _json("Error", "not a JSON object, or a repeated key"), "415": _json("Error", "not application/json"),
         "422": _json("Error", "errors by field: a blank reason, or a `staff_id` who is not active in the step's "
                               "role, has no email address, or already holds the step")},
        description="The old links stop working at once and the new assignee is emailed a fresh one; a DSL step "
                    "also makes them the case's DSL for its later steps. Audited with the token's name and the "
                    "reason (golden rule 7).",
        parameters=[CASE_ID, STEP_ID],
        requestBody={"required": True, "content": {"application/json": {"schema": "StepReassign"}}},
    )})


def _retention(spec: APISpec) -> None:
    bad_body = {"400": _json("Error", "not a JSON object, or a repeated key"),
                "415": _json("Error", "not application/json"), "422": _json("Error", "errors by field")}
    spec.path(path="/api/v1/cases/{case_id}/legal-hold", operations={"put": _admin(
        "Place or lift a legal hold: a held case can't be disposed of, and a disposal under way is stopped",
        {"200": _json("Case", "the case"), "404": _json("Error", "no such case"),
         "409": _json("Error", "the case has been disposed of"), **bad_body},
        description="Both ends of a hold are audited with the token's name; the reason is kept with the case "
                    "(encrypted), not in the audit trail.",
        parameters=[CASE_ID],
        requestBody={"required": True, "content": {"application/json": {"schema": "LegalHold"}}},
    )})
    spec.path(path="/api/v1/cases/{case_id}/disposal/cancel", operations={"post": _admin(
        "Stop a disposal that is proposed or waiting for its erasure: the case is kept and reviewed in a year",
        {"200": _json("Case", "the case"), "404": _json("Error", "no such case"),
         "409": _json("Error", "no disposal of this case is under way"), **bad_body},
        parameters=[CASE_ID],
        requestBody={"required": True, "content": {"application/json": {"schema": "DisposalCancel"}}},
    )})


def _recipients(spec: APISpec) -> None:
    body = {"required": True, "content": {"application/json": {"schema": "RecipientCreate"}}}
    bad_body = {"400": _json("Error", "not a JSON object, or a repeated key"),
                "415": _json("Error", "not application/json"), "422": _json("Error", "errors by field")}
    spec.path(path="/api/v1/recipients", operations={
        "get": _admin("The recipient directory a share chooses from, active and inactive",
                      {"200": _json("RecipientList", "every entry, by name")}),
        "post": _admin("Add an agency to the directory", {"201": _json("Recipient", "the new entry"), **bad_body},
                       requestBody=body),
    })
    spec.path(path="/api/v1/recipients/{id}", operations={
        "patch": _admin(
            "Change any of name, kind, email, active (false deactivates)",
            {"200": _json("Recipient", "the entry as changed"), "404": _json("Error", "no such recipient"),
             "409": _json("Error", "the entry is deactivated: reactivate it first"), **bad_body},
            parameters=[RECIPIENT_ID],
            requestBody={"required": True, "content": {"application/json": {"schema": "RecipientPatch"}}},
        ),
        "delete": _admin(
            "Deactivate an entry (it is never deleted: disclosures keep pointing at it)",
            {"204": {"description": "deactivated"}, "404": _json("Error", "no such recipient")},
            description="Sets `active` to false, so a share can no longer choose it, and revokes its live "
                        "disclosures; the record of who received what is kept (golden rule 7). Repeating it is "
                        "harmless.",
            parameters=[RECIPIENT_ID],
        ),
    })
    spec.path(path="/api/v1/recipients/{id}/reactivate", operations={"post": _admin(
        "Bring a deactivated entry back onto the share list (repeating it is harmless)",
        {"200": _json("Recipient", "the entry, active"), "404": _json("Error", "no such recipient")},
        parameters=[RECIPIENT_ID],
    )})


def _schedules(spec: APISpec) -> None:
    bad_body = {"400": _json("Error", "not a JSON object, or a repeated key"),
                "415": _json("Error", "not application/json"),
                "422": _json("Error", "errors by field: an unknown key, a `cron` expression that cannot be read, "
                                      "a `timezone` that does not exist")}
    not_found = {"404": _json("Error", "no such schedule (or it was deleted)")}
    made = {"ItsRuns": {"operationId": "listScheduleRuns", "parameters": {"id": "$response.body#/id"}},
            "RunItNow": {"operationId": "runSchedule", "parameters": {"id": "$response.body#/id"}}}
    spec.path(path="/api/v1/schedules", operations={
        "get": _admin("The scheduled sweeps, oldest first, each with its cron expression in words",
                      {"200": _json("ScheduleList", "every schedule not deleted")}),
        "post": _admin("Schedule a sweep", {"201": {**_json("Schedule", "the new schedule"), "links": made},
                                            **bad_body},
                       description="Runs at the times the cron expression names on the wall clock of `timezone` "
                                   "(across daylight saving: a time skipped in spring runs at the end of the gap, "
                                   "one repeated in autumn runs once). Audited.",
                       requestBody={"required": True, "content": {"application/json": {"schema": "ScheduleCreate"}}}),
    })
    spec.path(path="/api/v1/schedules/{id}", operations={
        "patch": _admin("Change any of cron, timezone, enabled; `next_run_at` is worked out again from now",
                        {"200": _json("Schedule", "the schedule as changed"), **not_found, **bad_body},
                        parameters=[SCHEDULE_ID],
                        requestBody={"required": True, "content": {"application/json": {"schema": "SchedulePatch"}}}),
        "delete": _admin("Delete a schedule: it never runs again; its runs and their reports are kept for the record",
                         {"204": {"description": "deleted"}, **not_found}, parameters=[SCHEDULE_ID]),
    })
    spec.path(path="/api/v1/schedules/{id}/run", operations={"post": _admin(
        "Run the schedule's sweep now (enabled or not); a worker takes it up",
        {"202": {**_json("RunRequested", "queued"), "links": {"TheRun": {
            "operationId": "getScheduleRun",
            "parameters": {"id": "$request.path.id", "run_id": "$response.body#/run_id"}}}}, **not_found},
        operationId="runSchedule", parameters=[SCHEDULE_ID],
    )})
    spec.path(path="/api/v1/schedules/{id}/runs", operations={"get": _admin(
        "The schedule's runs, newest first: when each started and finished, its status, counts and error",
        {"200": _json("RunPage", "a page"), **not_found, "422": _json("Error", "a bad query argument, by field")},
        operationId="listScheduleRuns", parameters=[SCHEDULE_ID, {"in": "query", "schema": schedules.RunQuerySchema}],
    )})
    spec.path(path="/api/v1/schedules/{id}/runs/{run_id}", operations={"get": _admin(
        "One run with its report rows (the read is audited)",
        {"200": {"description": "the run and its report; with `Accept: text/csv`, the report as CSV: one row per "
                                "report row, the columns `kind` and then the rows' keys",
                 "content": {"application/json": {"schema": "RunDetail"},
                             "text/csv": {"schema": {"type": "string"}}}},
         "404": _json("Error", "no such schedule, or no such run of it")},
        operationId="getScheduleRun", parameters=[SCHEDULE_ID, RUN_ID],
    )})


def _reports(spec: APISpec) -> None:
    spec.path(path="/api/v1/reports/annual", operations={"get": _admin(
        "A school year's information-sharing figures, counts only (the read is audited)",
        {"200": {"description": "the figures; with `Accept: text/csv`, one row per figure: `section`, `figure`, "
                                "`value`",
                 "content": {"application/json": {"schema": "AnnualReport"},
                             "text/csv": {"schema": {"type": "string"}}}},
         "422": _json("Error", "a year that is not a school year such as 2025-26, or an unknown query key")},
        operationId="getAnnualReport", parameters=[{"in": "query", "schema": reports.AnnualReportQuerySchema}],
    )})
