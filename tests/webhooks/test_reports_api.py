"""`GET /api/v1/reports/annual`: a school year's figures as JSON or CSV, behind the admin token,
a bad year refused by field, every read audited."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from infoshare_workflow.storage.models import AuditEvent
from infoshare_workflow.vocabulary import CATEGORIES

from .. import factories
from ..conftest import apply_accepted

PATH = "/api/v1/reports/annual"


def report(client, admin_token, query="", accept="application/json"):
    return client.get(PATH + query, headers={"Authorization": f"Bearer {admin_token}", "Accept": accept})


def test_the_current_years_figures_as_json(mis, runtime, client, admin_token):
    mis.post(factories.concern_raised("C-r1", category="online_safety"))
    apply_accepted(runtime)

    response = report(client, admin_token)

    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"year", "first_day", "last_day", "timezone", "generated_at", "figures"}
    assert body["first_day"] == f"{body['year'][:4]}-09-01" and body["timezone"] == "Europe/London"
    assert body["figures"]["concerns"] == {"received": 1}
    assert body["figures"]["concerns_by_category"] == {c: int(c == "online_safety") for c in CATEGORIES}


def test_another_year_as_csv_one_row_per_figure(mis, runtime, client, admin_token):
    mis.post(factories.concern_raised("C-r2"))
    apply_accepted(runtime)

    response = report(client, admin_token, "?year=2019-20", accept="text/csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "infoshare-annual-2019-20.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["section", "figure", "value"] and rows[1] == ["concerns", "received", "0"]  # not that year
    assert ["timeliness", "median_hours_to_share_decision", ""] in rows
    with runtime.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "report.annual_read")).one()
    assert json.loads(event.details) == {"year": "2019-20", "format": "csv"} and event.actor.startswith("admin:")


@pytest.mark.parametrize("query", ["?year=2019-21", "?year=2019", "?year=", "?year=abcd-ef", "?year=9999-00"])
def test_a_year_that_is_not_a_school_year_is_a_422_naming_it(runtime, client, admin_token, query):
    response = report(client, admin_token, query)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"year"}


def test_an_unknown_query_key_is_a_422_and_nothing_is_audited(runtime, client, admin_token):
    response = report(client, admin_token, "?yaer=2019-20")
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"yaer"}
    with runtime.transaction() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "report.annual_read")).all() == []


def test_without_the_admin_token_there_is_no_report(client):
    assert client.get(PATH).status_code == 401
