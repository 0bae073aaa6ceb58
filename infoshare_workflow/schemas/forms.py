"""The task forms (INTERFACES.md §2), with DOMAIN.md's rules enforced as validation.

Field names are the project's vocabulary. Each rule cites the guidance it comes from; an
error names the field it belongs to, so the page can show it beside that field.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from infoshare_workflow.vocabulary import (
    ADVICE,
    CONDITIONS,
    CONSENT_OUTCOMES,
    CONSENT_PARTIES,
    FAMILY_NOTICE,
    LAWFUL_BASES,
    NOT_SOUGHT_REASONS,
    PRINCIPLES,
    SHARE_DECISIONS,
    SHARE_ITEMS,
)

TEXT = validate.Length(max=5000)
REQUIRED = "This field is required."


def checkbox() -> fields.Boolean:
    """An HTML checkbox: sends `y` when ticked, nothing when not."""
    return fields.Boolean(truthy={"y"}, falsy={"", "n"}, load_default=False)


class LocalDateTime(fields.NaiveDateTime):
    """A `datetime-local` input, read on the school's clock and stored in UTC."""

    def __init__(self, zone: str = "Europe/London", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zone = ZoneInfo(zone)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        naive = super()._deserialize(value, attr, data, **kwargs)
        return naive.replace(tzinfo=self.zone)


def _blank_to_missing(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in ("", None, [])}


class FormSchema(Schema):
    """Forms send empty strings for untouched inputs; treat them as not given."""

    def load(self, data: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().load(_blank_to_missing(dict(data)), **kwargs)


class ConsentFormSchema(FormSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(CONSENT_OUTCOMES))
    party = fields.String(validate=validate.OneOf(CONSENT_PARTIES))
    party_name = fields.String(validate=validate.Length(max=200))
    sought_at = LocalDateTime()
    explicit = checkbox()
    freely_given = checkbox()
    not_sought_reason = fields.String(validate=validate.OneOf(NOT_SOUGHT_REASONS))
    explanation = fields.String(validate=TEXT)

    def __init__(self, zone: str = "Europe/London", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields["sought_at"].zone = ZoneInfo(zone)  # type: ignore[attr-defined]

    @validates_schema
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        outcome = data.get("outcome")
        if outcome in ("given", "refused", "withdrawn"):
            # Record who gave, refused or withdrew consent, and when it was sought (golden rule 7).
            for name in ("party", "party_name", "sought_at"):
                if not data.get(name):
                    errors[name] = [REQUIRED]
            sought = data.get("sought_at")
            if sought is not None and sought > datetime.now(sought.tzinfo):
                errors["sought_at"] = ["Consent cannot be sought in the future."]
        if outcome == "given":
            # "Consent must be explicit and freely given."
            for name in ("explicit", "freely_given"):
                if not data.get(name):
                    errors[name] = ["Consent must be explicit and freely given: confirm this to record consent."]
        if outcome == "not_sought":
            # Sharing without consent needs grounds, recorded ("record the reasons why").
            for name in ("not_sought_reason", "explanation"):
                if not data.get(name):
                    errors[name] = [REQUIRED]
        if errors:
            raise ValidationError(errors)


class ConsultationFormSchema(FormSchema):
    advice = fields.String(required=True, validate=validate.OneOf(ADVICE))
    rationale = fields.String(required=True, validate=TEXT)


class InformationFormSchema(FormSchema):
    response = fields.String(required=True, validate=TEXT)


class ShareFormSchema(FormSchema):
    decision = fields.String(required=True, validate=validate.OneOf(SHARE_DECISIONS))
    reasons = fields.String(required=True, validate=TEXT)
    recipients = fields.List(fields.Integer(), load_default=list)
    purpose = fields.String(validate=TEXT)
    lawful_basis = fields.String(validate=validate.OneOf(LAWFUL_BASES))
    condition = fields.String(validate=validate.OneOf(CONDITIONS))
    items = fields.List(fields.String(validate=validate.OneOf(SHARE_ITEMS)), load_default=list)
    necessary = checkbox()
    proportionate = checkbox()
    relevant = checkbox()
    adequate = checkbox()
    accurate = checkbox()
    timely = checkbox()
    secure = checkbox()
    family_notice = fields.String(validate=validate.OneOf(FAMILY_NOTICE))
    suppress_reason = fields.String(validate=TEXT)
    reconsider_on = fields.Date()

    def __init__(self, consent_outcome: str | None = None, recipient_ids: set[int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.consent_outcome = consent_outcome
        self.recipient_ids = recipient_ids or set()

    @validates_schema
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("decision") != "share":
            return
        errors: dict[str, list[str]] = {}
        # Golden rule 6: share only with those who need it, only what is necessary.
        if not data.get("recipients"):
            errors["recipients"] = ["Choose at least one recipient."]
        elif set(data["recipients"]) - self.recipient_ids:
            errors["recipients"] = ["Choose recipients from the directory."]
        if not data.get("items"):
            errors["items"] = ["Choose at least one item to share."]
        for name in ("purpose", "lawful_basis", "condition"):
            if not data.get(name):
                errors[name] = [REQUIRED]
        for name in PRINCIPLES:
            if not data.get(name):
                errors[name] = ["Confirm this principle before sharing."]
        # Golden rule 4: without consent, be clear of the basis; consent as basis needs consent given.
        consent_given = self.consent_outcome == "given"
        if data.get("lawful_basis") == "consent" and not consent_given:
            errors["lawful_basis"] = ["Consent was not given: choose a lawful basis other than consent."]
        if data.get("condition") == "explicit_consent" and not consent_given:
            errors["condition"] = ["Consent was not given: choose a condition other than explicit consent."]
        if not consent_given:
            # Golden rule 2: be open and honest with the family, unless it is unsafe.
            notice = data.get("family_notice")
            if not notice:
                errors["family_notice"] = ["Say whether the family is told about this share."]
            elif notice == "suppress":
                if not data.get("suppress_reason"):
                    errors["suppress_reason"] = ["Say why telling the family would put the child at risk."]
                if not data.get("reconsider_on"):
                    errors["reconsider_on"] = [REQUIRED]
                elif data["reconsider_on"] <= date.today():
                    errors["reconsider_on"] = ["Choose a date in the future."]
        if errors:
            raise ValidationError(errors)


class DisclosureCodeSchema(FormSchema):
    """The six digits emailed to the recipient; spaces (as some phones paste them) are ignored."""

    code = fields.String(required=True, error_messages={"required": "Enter the six-digit code from the email."})

    @validates_schema
    def _six_digits(self, data: dict[str, Any], **_: Any) -> None:
        if not re.fullmatch(r"\d{6}", data.get("code", "").replace(" ", "")):
            raise ValidationError({"code": ["Enter the code as six digits, for example 123456."]})

    @post_load
    def _digits_only(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"code": data["code"].replace(" ", "")}
