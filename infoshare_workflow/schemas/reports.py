"""Schemas of the annual report (INTERFACES.md §3 `GET /api/v1/reports/annual`, §4 `infoshare report annual`).

The API's query is checked here (a year written as 2025-26, no unknown keys); whether the year
names a school year (two years in a row, within the dates a record can hold) is checked by
`records.annual_report.school_year`, which the API and the command line both call.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

YEAR_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
SECTIONS = (
    "concerns", "concerns_by_urgency", "concerns_by_category", "concerns_by_threshold", "consent",
    "consent_not_sought_reasons", "consultation_advice", "share_decisions", "share_lawful_basis", "timeliness",
    "disclosures", "disclosures_by_recipient_kind", "families_told_of_a_share", "privacy_notices", "retention",
)


class AnnualReportQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    year = fields.String(validate=validate.Regexp(YEAR_PATTERN, error="Give a school year such as 2025-26."),
                         metadata={"description": "The school year, 1 September to 31 August on the school's clock, "
                                                  "such as `2025-26`; the current one if left out.",
                                   "examples": ["2025-26"]})


class AnnualReportSchema(Schema):
    """Counts only: no name, case reference or free text."""

    year = fields.String(metadata={"pattern": YEAR_PATTERN})
    first_day = fields.Date(metadata={"description": "1 September."})
    last_day = fields.Date(metadata={"description": "31 August."})
    timezone = fields.String(metadata={"description": "The school's clock the year was counted on."})
    generated_at = fields.AwareDateTime()
    figures = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SECTIONS)),
        values=fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True, metadata={"type": "number"})),
        metadata={"description": "Section by section, each figure's value; every value of the vocabulary is listed, "
                                 "0 where nothing happened. Sections: " + ", ".join(f"`{s}`" for s in SECTIONS) +
                                 ". `timeliness.median_hours_to_share_decision` is null in a year with no share "
                                 "decision. README \"Annual report\" says what each figure counts."})
