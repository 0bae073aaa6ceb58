"""The annual report in the admin API (INTERFACES.md §3), on the admin blueprint.

`GET /api/v1/reports/annual?year=2025-26`: the school year's figures as JSON, or as CSV with
`Accept: text/csv` (one row per figure: section, figure, value). The routes live on
`admin_api.bp`, so its bearer-token check, rate limit and JSON errors apply; the figures are
`records.annual_report`'s. Each read is audited with the token's name (golden rule 7).

Errors: an unknown query key, or a year that is not a school year such as 2025-26 → 422 by field.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response, jsonify, request
from marshmallow import ValidationError

from infoshare_workflow.records.annual_report import InvalidYear, annual_report, csv_text, requested_year
from infoshare_workflow.schemas.reports import AnnualReportQuerySchema, AnnualReportSchema
from infoshare_workflow.webhooks import runtime
from infoshare_workflow.webhooks.admin_api import actor, bp, csv_attachment, error


@bp.get("/reports/annual")
def annual() -> Response:
    try:
        args = AnnualReportQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        return error(422, "Invalid query.", errors=exc.messages)
    zone = ZoneInfo(runtime().settings.timezone)
    try:
        year = requested_year(args.get("year"), zone)
    except InvalidYear as exc:
        return error(422, "Invalid query.", errors={"year": [str(exc)]})
    as_csv = request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    with runtime().transaction() as session:
        report = annual_report(session, year, zone, actor=actor(), form="csv" if as_csv else "json")
    if as_csv:
        return csv_attachment(csv_text(report["figures"]), f'infoshare-annual-{report["year"]}.csv')
    return jsonify(AnnualReportSchema().dump(report))
