"""The task forms (INTERFACES.md §2), with DOMAIN.md's rules enforced as validation.

Field names are the project's vocabulary. A form is checked whole, every field and every
rule at once, so the person sees all that is wrong in one round; each wrong field gets one
message, written for the person ("Enter your reasons for sharing"), never a library's
wording. Errors are `{field: message}`. A date may come as GOV.UK's day, month and year
inputs (`X-day`, `X-month`, `X-year`, and `X-time` for a date-time) or as ISO 8601 in `X`.
Answers to a choice not made (a section hidden by the page, still posted without
JavaScript) are dropped, so only what belongs to the decision is recorded.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, ClassVar
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
    RECONSIDER,
    SHARE_DECISIONS,
    SHARE_ITEMS,
)

TEXT_LIMIT = 5000
NAME_LIMIT = 200
TEXT = validate.Length(max=TEXT_LIMIT)


def checkbox() -> fields.Boolean:
    """An HTML checkbox: sends `y` when ticked, nothing when not."""
    return fields.Boolean(truthy={"y"}, falsy={"", "n"}, load_default=False)


class LocalDateTime(fields.NaiveDateTime):
    """A date and time on the school's clock, stored in UTC."""

    def __init__(self, zone: str = "Europe/London", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zone = ZoneInfo(zone)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        naive = super()._deserialize(value, attr, data, **kwargs)
        return naive.replace(tzinfo=self.zone)


def _blank_to_missing(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in ("", None, [])}


_TIME = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


class FormSchema(Schema):
    """Forms send empty strings for untouched inputs: they count as not given.

    Subclasses say, per field, what to tell the person when it is missing (`MISSING`) and
    when it is not a value the field can take (`INVALID`); rules raise their own messages.
    """

    MISSING: ClassVar[dict[str, str]] = {}
    INVALID: ClassVar[dict[str, str]] = {}
    DATES: ClassVar[dict[str, str]] = {}  # field -> "date" or "datetime", for day/month/year inputs

    def load(self, data: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        form = dict(data)
        combined, errors = self._dates(form)
        try:
            return super().load(_blank_to_missing(combined), **kwargs)
        except ValidationError as exc:
            errors = {**self._in_our_words(exc.messages_dict), **errors}
        raise ValidationError(errors)

    def _dates(self, form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Join day/month/year (and time) parts into ISO 8601; a part missing is that field's error."""
        errors: dict[str, str] = {}
        for name, kind in self.DATES.items():
            parts = {p: str(form.pop(f"{name}-{p}", "") or "").strip() for p in ("day", "month", "year", "time")}
            if not any(parts.values()):
                continue
            if kind == "date":
                parts.pop("time")
            if not all(parts.values()):
                errors[name] = self.INVALID[name]
                continue
            try:
                moment = date(int(parts["year"]), int(parts["month"]), int(parts["day"])).isoformat()
                if kind == "datetime":
                    match = _TIME.match(parts["time"])
                    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
                        raise ValueError(parts["time"])
                    moment += f"T{int(match[1]):02d}:{match[2]}"
            except ValueError:
                errors[name] = self.INVALID[name]
                continue
            form[name] = moment
        return form, errors

    def _in_our_words(self, messages: dict[str, Any]) -> dict[str, str]:
        """One message per field: a rule's own, else ours for a missing or wrong value."""
        ours: dict[str, str] = {}
        for name, found in messages.items():
            if name not in self.fields:
                ours[name] = "This answer is not part of the form."
            elif isinstance(found, str):
                ours[name] = found  # raised by a rule, already in our words
            elif found == [fields.Field.default_error_messages["required"]]:
                ours[name] = self.MISSING[name]
            else:
                ours[name] = self.INVALID.get(name, self.MISSING[name])
        return ours


class ConsentFormSchema(FormSchema):
    MISSING = {
        "outcome": "Choose what happened about consent",
        "party": "Choose who was asked for consent",
        "party_name": "Enter the name of the person who was asked",
        "sought_at": "Enter when consent was sought",
        "explicit": "Confirm that the consent was explicit",
        "freely_given": "Confirm that the consent was freely given",
        "not_sought_reason": "Choose why consent was not sought",
        "explanation": "Explain the grounds for not seeking consent",
    }
    INVALID = {
        "party_name": f"The name must be {NAME_LIMIT} characters or fewer",
        "sought_at": "Enter a real date and time, for example 27 3 2026 and 14:30",
        "explanation": f"The explanation must be {TEXT_LIMIT:,} characters or fewer",
    }
    DATES = {"sought_at": "datetime"}

    outcome = fields.String(required=True, validate=validate.OneOf(CONSENT_OUTCOMES))
    party = fields.String(validate=validate.OneOf(CONSENT_PARTIES))
    party_name = fields.String(validate=validate.Length(max=NAME_LIMIT))
    sought_at = LocalDateTime()
    explicit = checkbox()
    freely_given = checkbox()
    not_sought_reason = fields.String(validate=validate.OneOf(NOT_SOUGHT_REASONS))
    explanation = fields.String(validate=TEXT)

    def __init__(self, zone: str = "Europe/London", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields["sought_at"].zone = ZoneInfo(zone)  # type: ignore[attr-defined]

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, str] = {}
        outcome = data.get("outcome")
        if outcome in ("given", "refused", "withdrawn"):
            # Record who gave, refused or withdrew consent, and when it was sought (golden rule 7).
            for name in ("party", "party_name", "sought_at"):
                if name not in data:
                    errors[name] = self.MISSING[name]
            sought = data.get("sought_at")
            if isinstance(sought, datetime) and sought > datetime.now(sought.tzinfo):
                errors["sought_at"] = "The time consent was sought must be now or in the past"
        if outcome == "given":
            # "Consent must be explicit and freely given."
            for name in ("explicit", "freely_given"):
                if not data.get(name):
                    errors[name] = self.MISSING[name]
        if outcome == "not_sought":
            # Sharing without consent needs grounds, recorded ("record the reasons why").
            for name in ("not_sought_reason", "explanation"):
                if name not in data:
                    errors[name] = self.MISSING[name]
        if errors:
            raise ValidationError(errors)  # type: ignore[arg-type]

    @post_load
    def _only_what_the_outcome_needs(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        keep = {"outcome"}
        if data["outcome"] in ("given", "refused", "withdrawn"):
            keep |= {"party", "party_name", "sought_at"}
        if data["outcome"] == "given":
            keep |= {"explicit", "freely_given"}
        if data["outcome"] == "not_sought":
            keep |= {"not_sought_reason", "explanation"}
        return {k: v for k, v in data.items() if k in keep}


class ConsultationFormSchema(FormSchema):
    MISSING = {"advice": "Choose your advice", "rationale": "Enter the reasons for your advice"}
    INVALID = {"rationale": f"Your reasons must be {TEXT_LIMIT:,} characters or fewer"}

    advice = fields.String(required=True, validate=validate.OneOf(ADVICE))
    rationale = fields.String(required=True, validate=TEXT)


class InformationFormSchema(FormSchema):
    MISSING = {"response": "Enter your answer to the manager's question"}
    INVALID = {"response": f"Your answer must be {TEXT_LIMIT:,} characters or fewer"}

    response = fields.String(required=True, validate=TEXT)


PRINCIPLE_WORDS = {"necessary": "necessary", "proportionate": "proportionate", "relevant": "relevant",
                   "adequate": "adequate", "accurate": "accurate", "timely": "timely", "secure": "secure"}
SHARE_ONLY = ("recipients", "purpose", "lawful_basis", "condition", "items", *PRINCIPLES, "family_notice",
              "suppress_reason", "reconsider_on")


def held_back_errors(data: dict[str, Any], missing: dict[str, str]) -> dict[str, str]:
    """A notice held back from the family needs its reason and a future date to decide again
    (golden rule 2: only while telling them would be unsafe)."""
    errors: dict[str, str] = {}
    if "suppress_reason" not in data:
        errors["suppress_reason"] = missing["suppress_reason"]
    when = data.get("reconsider_on")
    if when is None:
        errors["reconsider_on"] = missing["reconsider_on"]
    elif isinstance(when, date) and when <= date.today():
        errors["reconsider_on"] = "The date to reconsider must be in the future"
    return errors


class ShareFormSchema(FormSchema):
    MISSING = {
        "decision": "Choose whether you share this information",
        "reasons": "Enter your reasons for sharing or not sharing",
        "recipients": "Choose at least one recipient",
        "purpose": "Enter the purpose of sharing",
        "lawful_basis": "Choose the lawful basis for sharing",
        "condition": "Choose the special category condition",
        "items": "Choose at least one item to share",
        **{p: f"Confirm that sharing is {PRINCIPLE_WORDS[p]}" for p in PRINCIPLES},
        "family_notice": "Choose whether the family is told about this share",
        "suppress_reason": "Enter why telling the family would put the child at risk",
        "reconsider_on": "Enter the date to reconsider telling the family",
    }
    INVALID = {
        "reasons": f"Your reasons must be {TEXT_LIMIT:,} characters or fewer",
        "recipients": "Choose recipients from the list",
        "purpose": f"The purpose must be {TEXT_LIMIT:,} characters or fewer",
        "items": "Choose items from the list",
        "suppress_reason": f"The reason must be {TEXT_LIMIT:,} characters or fewer",
        "reconsider_on": "Enter a real date, for example 1 6 2027",
    }
    DATES = {"reconsider_on": "date"}

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

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("decision") != "share":
            return
        errors: dict[str, str] = {}
        # Golden rule 6: share only with those who need it, only what is necessary.
        if not data.get("recipients"):
            errors["recipients"] = self.MISSING["recipients"]
        elif set(data["recipients"]) - self.recipient_ids:
            errors["recipients"] = self.INVALID["recipients"]
        if not data.get("items"):
            errors["items"] = self.MISSING["items"]
        for name in ("purpose", "lawful_basis", "condition"):
            if name not in data:
                errors[name] = self.MISSING[name]
        for name in PRINCIPLES:
            if not data.get(name):
                errors[name] = self.MISSING[name]
        # Golden rule 4: without consent, be clear of the basis; consent as basis needs consent given.
        consent_given = self.consent_outcome == "given"
        if data.get("lawful_basis") == "consent" and not consent_given:
            errors["lawful_basis"] = "Consent was not given: choose a lawful basis other than consent"
        if data.get("condition") == "explicit_consent" and not consent_given:
            errors["condition"] = "Consent was not given: choose a condition other than explicit consent"
        if not consent_given:
            # Golden rule 2: be open and honest with the family, unless it is unsafe.
            notice = data.get("family_notice")
            if notice is None:
                errors["family_notice"] = self.MISSING["family_notice"]
            elif notice == "suppress":
                errors.update(held_back_errors(data, self.MISSING))
        if errors:
            raise ValidationError(errors)  # type: ignore[arg-type]

    @post_load
    def _only_what_the_decision_needs(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data["decision"] != "share":
            return {k: v for k, v in data.items() if k not in SHARE_ONLY}
        if self.consent_outcome == "given":
            data = {k: v for k, v in data.items() if k not in ("family_notice", "suppress_reason", "reconsider_on")}
        elif data.get("family_notice") != "suppress":
            data = {k: v for k, v in data.items() if k not in ("suppress_reason", "reconsider_on")}
        return data


class ReconsiderationFormSchema(FormSchema):
    """The DSL decides again on a sharing notice held back (golden rule 2: be open and honest
    unless that would put the child at risk): tell the family now, or keep it back with a
    reason and another date."""

    MISSING = {
        "reconsider": "Choose whether to tell the family now",
        "suppress_reason": "Enter why telling the family would still put the child at risk",
        "reconsider_on": "Enter the date to reconsider telling the family",
    }
    INVALID = {
        "suppress_reason": f"The reason must be {TEXT_LIMIT:,} characters or fewer",
        "reconsider_on": "Enter a real date, for example 1 6 2027",
    }
    DATES = {"reconsider_on": "date"}

    reconsider = fields.String(required=True, validate=validate.OneOf(RECONSIDER))
    suppress_reason = fields.String(validate=TEXT)
    reconsider_on = fields.Date()

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("reconsider") != "keep_suppressed":
            return
        errors = held_back_errors(data, self.MISSING)
        if errors:
            raise ValidationError(errors)  # type: ignore[arg-type]

    @post_load
    def _only_what_the_choice_needs(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data["reconsider"] == "send_now":
            return {"reconsider": "send_now"}
        return data


class DisclosureCodeSchema(FormSchema):
    """The six digits emailed to the recipient; spaces (as some phones paste them) are ignored."""

    MISSING = {"code": "Enter the six-digit code from the email"}

    code = fields.String(required=True)

    @validates_schema
    def _six_digits(self, data: dict[str, Any], **_: Any) -> None:
        if not re.fullmatch(r"\d{6}", data.get("code", "").replace(" ", "")):
            raise ValidationError({"code": "Enter the code as six digits, for example 123456"})  # type: ignore[dict-item]

    @post_load
    def _digits_only(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"code": data["code"].replace(" ", "")}
