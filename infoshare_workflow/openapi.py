"""The OpenAPI 3.1 document for the webhook and the admin API, generated from the schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from . import __version__
from .schemas import api, mis_events, recipients


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@cache
def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="infoshare-workflow", version=__version__, openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "MIS webhook receiver and admin API for the safeguarding information-sharing workflow."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in mis_events.DATA_SCHEMAS.items():
        spec.components.schema(name.replace(".", "_"), schema=schema)
    for name in ("EventEnvelopeSchema",):
        spec.components.schema("EventEnvelope", schema=getattr(mis_events, name))
    for schema in (api.CaseSchema, api.CasePageSchema, api.AuditEventSchema, api.AuditListSchema,
                   api.AuditVerificationSchema, api.ErrorSchema):
        spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    for schema in (recipients.RecipientSchema, recipients.RecipientListSchema, recipients.RecipientCreateSchema):
        spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    spec.components.schema("RecipientPatch", {"minProperties": 1}, schema=recipients.RecipientPatchSchema)

    signed = [{"in": "header", "name": h, "required": True, "schema": {"type": "string"}}
              for h in ("webhook-id", "webhook-timestamp", "webhook-signature")]
    spec.path(path="/webhooks/mis", operations={"post": {
        "summary": "Receive one signed MIS event (Standard Webhooks)",
        "parameters": signed,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "allOf": [{"$ref": "#/components/schemas/EventEnvelope"}],
            "description": "`data` follows the schema named after `type` (e.g. concern_raised).",
        }}}},
        "responses": {
            "202": _json("Error", "accepted (new)"),
            "200": _json("Error", "duplicate"),
            "400": _json("Error", "not JSON"), "401": _json("Error", "signature failed"),
            "413": _json("Error", "too large"), "415": _json("Error", "not application/json"),
            "422": _json("Error", "schema errors by field"), "503": _json("Error", "database unavailable"),
        },
    }})
    secured = [{"bearer": []}]
    spec.path(path="/api/v1/cases", operations={"get": {
        "summary": "A page of cases, newest first", "security": secured,
        "parameters": [{"in": "query", "schema": api.CaseQuerySchema}],
        "responses": {"200": _json("CasePage", "a page"), "401": _json("Error", "no valid token"),
                      "422": _json("Error", "bad query")},
    }})
    spec.path(path="/api/v1/cases/{case_id}", operations={"get": {
        "summary": "One case", "security": secured,
        "parameters": [{"in": "path", "name": "case_id", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json("Case", "the case"), "404": _json("Error", "no such case")},
    }})
    spec.path(path="/api/v1/cases/{case_id}/audit", operations={"get": {
        "summary": "The case's audit events in order", "security": secured,
        "parameters": [{"in": "path", "name": "case_id", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json("AuditList", "events"), "404": _json("Error", "no such case")},
    }})
    spec.path(path="/api/v1/audit/verify", operations={"get": {
        "summary": "Recompute the audit hash chain", "security": secured,
        "responses": {"200": _json("AuditVerification", "the result")},
    }})
    _recipient_paths(spec, secured)
    return spec.to_dict()


def _recipient_paths(spec: APISpec, secured: list[dict[str, list[str]]]) -> None:
    recipient_id = [{"in": "path", "name": "id", "required": True, "schema": {"type": "integer"}}]
    body = {"required": True, "content": {"application/json": {"schema": "RecipientCreate"}}}
    spec.path(path="/api/v1/recipients", operations={
        "get": {
            "summary": "The recipient directory a share chooses from, active and inactive",
            "security": secured,
            "responses": {"200": _json("RecipientList", "every entry, by name"),
                          "401": _json("Error", "no valid token")},
        },
        "post": {
            "summary": "Add an agency to the directory", "security": secured, "requestBody": body,
            "responses": {"201": _json("Recipient", "the new entry"), "400": _json("Error", "not a JSON object"),
                          "401": _json("Error", "no valid token"), "415": _json("Error", "not application/json"),
                          "422": _json("Error", "errors by field")},
        },
    })
    spec.path(path="/api/v1/recipients/{id}", operations={
        "patch": {
            "summary": "Change any of name, kind, email, active (true brings an entry back)",
            "security": secured, "parameters": recipient_id,
            "requestBody": {"required": True, "content": {"application/json": {"schema": "RecipientPatch"}}},
            "responses": {"200": _json("Recipient", "the entry as changed"),
                          "400": _json("Error", "not a JSON object"), "401": _json("Error", "no valid token"),
                          "404": _json("Error", "no such recipient"),
                          "415": _json("Error", "not application/json"), "422": _json("Error", "errors by field")},
        },
        "delete": {
            "summary": "Deactivate an entry (it is never deleted: disclosures keep pointing at it)",
            "description": "Sets `active` to false, so a share can no longer choose it; the record of who "
                           "received what is kept (golden rule 7). Repeating it is harmless.",
            "security": secured, "parameters": recipient_id,
            "responses": {"204": {"description": "deactivated"}, "401": _json("Error", "no valid token"),
                          "404": _json("Error", "no such recipient")},
        },
    })
