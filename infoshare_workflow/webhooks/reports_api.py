"""The annual report in the admin API (INTERFACES.md §3), on the admin blueprint.

`GET /api/v1/reports/annual?year=2025-26`: the school year's figures as JSON, or as CSV with
`Accept: text/csv` (one row per figure: section, figure, value). The routes live on
`admin_api.bp`, so its bearer-token check, rate limit and JSON errors apply; the figures are
`records.annual_report`'s. Each read is audited with the token's name (golden rule 7).

Errors: an unknown query key, or a year that is not a school year such as 2025-26 → 422 by field.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, jsonify, request
from marshmallow import ValidationError

from infoshare_workflow.records.annual_report import (
    InvalidYear,
    annual_report,
    figure_rows,
    school_year,
    school_year_of,
)
from infoshare_workflow.schemas.reports import AnnualReportQuerySchema, AnnualReportSchema
from infoshare_workflow.storage.models import utcnow
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
        year = school_year(args["year"]) if "year" in args else school_year_of(utcnow().astimezone(zone).date())
    except InvalidYear as exc:
        return error(422, "Invalid query.", errors={"year": [str(exc)]})
    as_csv = request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
    with runtime().transaction() as session:
        report = annual_report(session, year, zone, actor=actor(), form="csv" if as_csv else "json")
    return _csv(report) if as_csv else jsonify(AnnualReportSchema().dump(report))


def _csv(report: dict[str, Any]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "figure", "value"])
    writer.writerows((section, name, "" if value is None else value)
                     for section, name, value in figure_rows(report["figures"]))
    return csv_attachment(buffer.getvalue(), f'infoshare-annual-{report["year"]}.csv')
