"""Schemas of the recipient directory (INTERFACES.md §3): what a share may be sent to.

Golden rule 6 ("share with those who need it, securely"): every entry names an agency
`kind` from DOMAIN.md and a valid email address, since that address receives the
disclosure link. Unknown keys are rejected, not dropped, so a misspelt field never
vanishes silently. The domain (`infoshare_workflow.recipients`) validates with these same
schemas, so the API, the command line and any other caller share one set of rules.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from infoshare_workflow.schemas.fields import Email, StrictBoolean, TrimmedText
from infoshare_workflow.vocabulary import RECIPIENT_KINDS

NAME_LENGTH = validate.Length(min=1, max=200)
EMAIL_LENGTH = validate.Length(max=320)
KIND = validate.OneOf(RECIPIENT_KINDS)
FIELDS = ("name", "kind", "email", "active")


def _name(**kwargs: Any) -> TrimmedText:
    return TrimmedText(validate=NAME_LENGTH, metadata={"description": "The agency's name, on one line."}, **kwargs)


def _kind(**kwargs: Any) -> fields.String:
    return fields.String(validate=KIND, metadata={"description": "The agency kind (DOMAIN.md)."}, **kwargs)


def _email(**kwargs: Any) -> Email:
    return Email(validate=EMAIL_LENGTH, metadata={"description": "The secure address that receives disclosure links."},
                 **kwargs)


class RecipientSchema(Schema):
    """One entry of the directory, as the API shows it."""

    id = fields.Integer()
    name = fields.String()
    kind = fields.String(validate=KIND)
    email = fields.Email()
    active = fields.Boolean(metadata={"description": "Only active recipients can be chosen for a share."})


class RecipientListSchema(Schema):
    items = fields.List(fields.Nested(RecipientSchema))


class RecipientCreateSchema(Schema):
    """A new entry: `name`, `kind` and `email` required; `active` defaults to true."""

    class Meta:
        unknown = RAISE

    name = _name(required=True)
    kind = _kind(required=True)
    email = _email(required=True)
    active = StrictBoolean(load_default=True)


class RecipientPatchSchema(Schema):
    """Changes to an entry: any of the fields, at least one."""

    class Meta:
        unknown = RAISE

    name = _name()
    kind = _kind()
    email = _email()
    active = StrictBoolean()

    @validates_schema
    def _at_least_one(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError(f"Give at least one of {', '.join(FIELDS)}.")
