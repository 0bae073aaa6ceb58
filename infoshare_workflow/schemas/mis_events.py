"""Schemas for the MIS events of INTERFACES.md §1; unknown keys are rejected, not dropped.

Why strict: a misspelt field from the MIS would otherwise vanish silently, and a DSL would
decide on an incomplete record (the Accurate and Adequate principles). Every value is also
checked for what storing it needs (text without control characters or unpaired
surrogates, dates in range, lengths within their columns), so an accepted event can always
be applied: a 202 is a promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from infoshare_workflow.schemas.fields import BoundedAwareDateTime, BoundedDate, Email, StrictBoolean, Text
from infoshare_workflow.vocabulary import CATEGORIES, EVENT_TYPES, ROLES, THRESHOLDS, URGENCIES

ID = validate.Length(min=1, max=64)
NAME = validate.Length(min=1, max=200)
LANGUAGE_TAG = validate.Regexp(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", error="Not a language tag such as en or cy.")
# A concern raised "in the future" is a clock or time-zone mistake; a day absorbs the usual ones.
RAISED_AT_SKEW = timedelta(days=1)
# The event's own time orders updates to a pupil or member of staff (newest wins), so it may be
# no further ahead than the signature's tolerance: a far-future one would freeze the record.
TIMESTAMP_SKEW = timedelta(minutes=5)


class ContactSchema(Schema):
    name = Text(required=True, validate=NAME)
    relationship = Text(load_default=None, allow_none=True, validate=validate.Length(max=64))
    email = Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    parental_responsibility = StrictBoolean(load_default=False)
    preferred_language = fields.String(load_default=None, allow_none=True, validate=LANGUAGE_TAG)


class PupilSchema(Schema):
    mis_id = Text(required=True, validate=ID)
    given_name = Text(required=True, validate=NAME)
    family_name = Text(required=True, validate=NAME)
    date_of_birth = BoundedDate(required=True, not_after_today=True)
    year_group = Text(load_default=None, allow_none=True, validate=validate.Length(max=32))
    email = Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list, validate=validate.Length(max=50))


class ReporterSchema(Schema):
    staff_id = Text(required=True, validate=ID)
    name = Text(load_default=None, allow_none=True, validate=NAME)
    email = Email(load_default=None, allow_none=True, validate=validate.Length(max=320))


class ConcernRaisedSchema(Schema):
    concern_id = Text(required=True, validate=ID)
    raised_at = BoundedAwareDateTime(required=True, future=RAISED_AT_SKEW)
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    threshold = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(THRESHOLDS))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    summary = Text(required=True, validate=validate.Length(min=1, max=500))
    facts = Text(required=True, multiline=True, validate=validate.Length(min=1, max=20_000))
    opinion = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(max=20_000))
    pupil = fields.Nested(PupilSchema, required=True)
    reported_by = fields.Nested(ReporterSchema, required=True)
    assigned_dsl = Text(load_default=None, allow_none=True, validate=ID)


class ConcernUpdatedSchema(Schema):
    concern_id = Text(required=True, validate=ID)
    facts_addendum = Text(multiline=True, validate=validate.Length(min=1, max=20_000))
    opinion_addendum = Text(multiline=True, validate=validate.Length(min=1, max=20_000))
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
    staff_id = Text(required=True, validate=ID)
    name = Text(load_default=None, allow_none=True, validate=NAME)
    email = Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                        validate=validate.Length(max=len(ROLES) * 2))
    active = StrictBoolean(load_default=True)


class CalendarClosuresSchema(Schema):
    dates = fields.List(BoundedDate(), required=True, validate=validate.Length(min=1, max=366))


DATA_SCHEMAS: dict[str, type[Schema]] = {
    "concern.raised": ConcernRaisedSchema,
    "concern.updated": ConcernUpdatedSchema,
    "pupil.updated": PupilUpdatedSchema,
    "staff.upserted": StaffUpsertedSchema,
    "calendar.closures": CalendarClosuresSchema,
}


class _Envelope(Schema):
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    timestamp = BoundedAwareDateTime(required=True, future=TIMESTAMP_SKEW)


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
