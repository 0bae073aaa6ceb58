"""The review list, approval list and pending-disposal forms (INTERFACES.md §2).

Per case on the page: `decision_<case_id>` = `retain` | `dispose` with `reason_<case_id>`
and (to retain) `review_on_<case_id>`; `approval_<case_id>` = `approve` | `reject` with
`reason_<case_id>` (required to reject); on the pending list, `cancel_<case_id>` with a
reason. A case left unanswered is fine (a list is answered in parts), but not a page with
no answer at all, nor a reason typed without a choice. Messages are written for the person
and name the case, one per field (schemas.forms).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from infoshare_workflow.schemas.forms import TEXT, TEXT_LIMIT, FormSchema, checkbox

CHOICES = {"review": ("retain", "dispose"), "approval": ("approve", "reject")}
KEYS = {"review": "decision", "approval": "approval", "pending": "cancel"}


def review_form(kind: str, case_ids: list[str]) -> FormSchema:
    """A schema for the list's page as shown: one set of fields per case on it."""
    key = KEYS[kind]
    declared: dict[str, Any] = {}
    missing: dict[str, str] = {}
    invalid: dict[str, str] = {}
    dates: dict[str, str] = {}
    for case_id in case_ids:
        choice = f"{key}_{case_id}"
        declared[choice] = checkbox() if kind == "pending" else fields.String(validate=validate.OneOf(CHOICES[kind]))
        declared[f"reason_{case_id}"] = fields.String(validate=TEXT)
        missing[choice] = _choose(kind, case_id)
        missing[f"reason_{case_id}"] = _why(kind, case_id)
        invalid[choice] = _choose(kind, case_id)
        invalid[f"reason_{case_id}"] = f"The reason for case {case_id} must be {TEXT_LIMIT:,} characters or fewer"
        if kind == "review":
            declared[f"review_on_{case_id}"] = fields.Date()
            missing[f"review_on_{case_id}"] = f"Enter when case {case_id} is next reviewed"
            invalid[f"review_on_{case_id}"] = f"Enter a real date for case {case_id}, for example 1 9 2027"
            dates[f"review_on_{case_id}"] = "date"
    schema = type("ReviewListForm", (FormSchema,), {**declared, "MISSING": missing, "INVALID": invalid,
                                                    "DATES": dates, "_rules": _rules(kind, case_ids)})
    return schema()  # type: ignore[no-any-return]


def _choose(kind: str, case_id: str) -> str:
    return {"review": f"Choose whether to keep case {case_id} or dispose of it",
            "approval": f"Choose whether to approve the disposal of case {case_id}",
            "pending": f"Tick to stop the disposal of case {case_id}"}[kind]


def _why(kind: str, case_id: str) -> str:
    return {"review": f"Enter why case {case_id} is kept or disposed of",
            "approval": f"Enter why the disposal of case {case_id} is rejected",
            "pending": f"Enter why the disposal of case {case_id} is stopped"}[kind]


def _rules(kind: str, case_ids: list[str]) -> Any:
    key = KEYS[kind]

    @validates_schema(skip_on_field_errors=False)
    def rules(self: FormSchema, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, str] = {}
        answered = 0
        for case_id in case_ids:
            choice, reason, when = data.get(f"{key}_{case_id}"), f"reason_{case_id}", f"review_on_{case_id}"
            if not choice:
                if reason in data or when in data:  # typed, but no choice made: say so rather than drop it
                    errors[f"{key}_{case_id}"] = self.MISSING[f"{key}_{case_id}"]
                continue
            answered += 1
            # Golden rule 7: record the reasons why, whatever the decision (rejecting needs one too).
            if reason not in data and (kind != "approval" or choice == "reject"):
                errors[reason] = self.MISSING[reason]
            if choice == "retain":
                review_on = data.get(when)
                if review_on is None:
                    errors[when] = self.MISSING[when]
                elif isinstance(review_on, date) and review_on <= date.today():
                    errors[when] = f"The next review of case {case_id} must be in the future"
        if not answered and not errors and case_ids:
            errors[f"{key}_{case_ids[0]}"] = ("Answer at least one case" if kind != "pending"
                                              else "Tick at least one case to stop its disposal")
        if errors:
            raise ValidationError(errors)  # type: ignore[arg-type]

    return rules
