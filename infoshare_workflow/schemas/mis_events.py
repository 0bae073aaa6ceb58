"""Schemas for the MIS events of INTERFACES.md §1; unknown keys are rejected, not dropped.

Why strict: a misspelt field from the MIS would otherwise vanish silently, and a DSL would
decide on an incomplete record (the Accurate and Adequate principles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..vocabulary import CATEGORIES, EVENT_TYPES, ROLES, THRESHOLDS, URGENCIES

ID = validate.Length(min=1, max=64)
NAME = validate.Length(min=1, max=200)


def _not_in_future(value: date) -> None:
    if value > datetime.now(timezone.utc).date():
        raise ValidationError("Date of birth is in the future.")


class ContactSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    relationship = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    email = fields.Email(load_default=None, allow_none=True)
    parental_responsibility = fields.Boolean(load_default=False)
    preferred_language = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=16))


class PupilSchema(Schema):
    mis_id = fields.String(required=True, validate=ID)
    given_name = fields.String(required=True, validate=NAME)
    family_name = fields.String(required=True, validate=NAME)
    date_of_birth = fields.Date(required=True, validate=_not_in_future)
    year_group = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    email = fields.Email(load_default=None, allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list, validate=validate.Length(max=50))


class ReporterSchema(Schema):
    staff_id = fields.String(required=True, validate=ID)
    name = fields.String(load_default=None, allow_none=True, validate=NAME)
    email = fields.Email(load_default=None, allow_none=True)


class ConcernRaisedSchema(Schema):
    concern_id = fields.String(required=True, validate=ID)
    raised_at = fields.AwareDateTime(required=True)
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    threshold = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(THRESHOLDS))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=500))
    facts = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    opinion = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20_000))
    pupil = fields.Nested(PupilSchema, required=True)
    reported_by = fields.Nested(ReporterSchema, required=True)
    assigned_dsl = fields.String(load_default=None, allow_none=True, validate=ID)


class ConcernUpdatedSchema(Schema):
    concern_id = fields.String(required=True, validate=ID)
    facts_addendum = fields.String(validate=validate.Length(min=1, max=20_000))
    opinion_addendum = fields.String(validate=validate.Length(min=1, max=20_000))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    threshold = fields.String(validate=validate.OneOf(THRESHOLDS))

    @validates_schema
    def _changes_something(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) == 1:
            raise ValidationError(
                "Give at least one of facts_addendum, opinion_addendum, urgency, threshold.",
                "_schema",
            )


class PupilUpdatedSchema(Schema):
    pupil = fields.Nested(PupilSchema, required=True)


class StaffUpsertedSchema(Schema):
    staff_id = fields.String(required=True, validate=ID)
    name = fields.String(load_default=None, allow_none=True, validate=NAME)
    email = fields.Email(load_default=None, allow_none=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True)
    active = fields.Boolean(load_default=True)


class CalendarClosuresSchema(Schema):
    dates = fields.List(fields.Date(), required=True, validate=validate.Length(min=1, max=366))


DATA_SCHEMAS: dict[str, type[Schema]] = {
    "concern.raised": ConcernRaisedSchema,
    "concern.updated": ConcernUpdatedSchema,
    "pupil.updated": PupilUpdatedSchema,
    "staff.upserted": StaffUpsertedSchema,
    "calendar.closures": CalendarClosuresSchema,
}


class _Envelope(Schema):
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    timestamp = fields.AwareDateTime(required=True)


class EventEnvelopeSchema(_Envelope):
    """Any event: what an unknown `type` is checked against (and the OpenAPI envelope)."""

    data = fields.Dict(required=True)


def _event_schema(data_schema: type[Schema]) -> Schema:
    """The envelope with its `data` nested: a known event is checked in one pass."""
    name = data_schema.__name__.removesuffix("Schema") + "EventSchema"
    return type(name, (_Envelope,), {"data": fields.Nested(data_schema, required=True)})()


# Loading keeps no state, so each schema is built once and reused by every request.
_ENVELOPE = EventEnvelopeSchema()
_EVENTS = {name: _event_schema(schema) for name, schema in DATA_SCHEMAS.items()}


@dataclass(frozen=True)
class MisEvent:
    type: str
    timestamp: datetime
    data: dict[str, Any]


def load_event(payload: Any) -> MisEvent:
    """Validate an event; ValidationError.messages nests the data's errors under `data`."""
    if not isinstance(payload, dict):
        raise ValidationError({"_schema": ["The event must be a JSON object."]})
    event_type = payload.get("type")
    schema = _EVENTS.get(event_type, _ENVELOPE) if isinstance(event_type, str) else _ENVELOPE
    loaded = schema.load(payload)
    return MisEvent(type=loaded["type"], timestamp=loaded["timestamp"], data=loaded["data"])
