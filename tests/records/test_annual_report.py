"""The annual figures: a school year runs 1 September to 31 August on the school's clock, every
decision of the year is counted once (the current one), every value of the vocabulary is
listed, and nothing in the report names anyone or quotes anything."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from infoshare_workflow.records.annual_report import (
    InvalidYear,
    annual_figures,
    annual_report,
    school_year,
    school_year_of,
)
from infoshare_workflow.storage.models import AuditEvent, Case, DecisionRecord, utcnow
from infoshare_workflow.vocabulary import CATEGORIES, CONSENT_OUTCOMES, RECIPIENT_KINDS

from .. import factories
from ..workflow import DSL_EMAIL, REFUSED, answer, share_form, walk_to_share

LONDON = ZoneInfo("Europe/London")


def this_year():
    return school_year_of(utcnow().astimezone(LONDON).date())


def figures(runtime, year=None):
    with runtime.transaction() as session:
        return annual_figures(session, year or this_year(), LONDON)


@pytest.mark.parametrize("label, first_day, last_day", [
    ("2025-26", date(2025, 9, 1), date(2026, 8, 31)),
    ("1999-00", date(1999, 9, 1), date(2000, 8, 31)),
])
def test_a_school_year_runs_from_the_first_of_september_to_the_last_of_august(label, first_day, last_day):
    year = school_year(label)
    assert (year.label, year.first_day, year.last_day) == (label, first_day, last_day)


@pytest.mark.parametrize("label", ["2025-27", "2025-25", "2025", "25-26", "2025/26", "2025-2026", "",
                                   "0000-01", "9999-00", "1899-00", "2099-00"])
def test_anything_but_two_years_in_a_row_is_not_a_school_year(label):
    with pytest.raises(InvalidYear):
        school_year(label)


def test_august_belongs_to_the_year_that_began_the_september_before():
    assert school_year_of(date(2026, 8, 31)).label == "2025-26"
    assert school_year_of(date(2026, 9, 1)).label == "2026-27"
    assert school_year_of(date(2027, 1, 15)).label == "2026-27"


def test_the_year_starts_at_midnight_on_the_schools_clock():
    start, end = school_year("2025-26").bounds(LONDON)
    assert start == datetime(2025, 8, 31, 23, 0, tzinfo=timezone.utc)  # midnight BST
    assert end == datetime(2026, 8, 31, 23, 0, tzinfo=timezone.utc)


def test_a_shared_case_is_counted_section_by_section(mis, runtime, app, settings, client):
    recipients, case_id = walk_to_share(mis, runtime, app, settings, client, REFUSED)
    form = share_form([recipients["csc"], recipients["police"]], family_notice="send")
    assert answer(client, settings, app, DSL_EMAIL, form).status_code == 303

    counted = figures(runtime)

    assert counted["concerns"] == {"received": 1}
    assert counted["concerns_by_category"] == {c: int(c == "neglect") for c in CATEGORIES}
    assert counted["concerns_by_urgency"] == {"immediate": 0, "high": 0, "standard": 1}
    assert counted["consent"] == {o: int(o == "refused") for o in CONSENT_OUTCOMES}
    assert counted["consultation_advice"] == {"share": 1, "do_not_share": 0, "more_information": 0}
    assert counted["share_decisions"] == {"share": 1, "do_not_share": 0}
    assert counted["share_lawful_basis"]["public_task"] == 1 and sum(counted["share_lawful_basis"].values()) == 1
    assert counted["disclosures"] == {"made": 2, "opened": 0, "revoked": 0}
    assert counted["disclosures_by_recipient_kind"] == {
        k: int(k in ("childrens_social_care", "police")) for k in RECIPIENT_KINDS}
    assert sum(counted["families_told_of_a_share"].values()) == 1  # consent was refused: the family is told
    assert counted["timeliness"]["steps_completed"] == 3 and counted["timeliness"]["on_time"] == 3
    assert counted["timeliness"]["late"] == 0 and counted["timeliness"]["median_hours_to_share_decision"] >= 0
    assert counted["retention"] == {"reviewed": 0, "retained": 0, "proposed_for_disposal": 0, "erased": 0}


def test_a_case_opened_before_the_year_began_is_last_years(mis, runtime, app):
    mis.post(factories.concern_raised("C-old"))
    mis.post(factories.concern_raised("C-new"))
    from ..conftest import apply_accepted

    apply_accepted(runtime)
    start, _ = this_year().bounds(LONDON)
    with runtime.transaction() as session:  # one opened a minute before this year's first midnight
        session.execute(update(Case).where(Case.id == session.scalars(select(Case.id).order_by(Case.id)).first())
                        .values(opened_at=start - timedelta(minutes=1)))

    assert figures(runtime)["concerns"] == {"received": 1}
    last_year = school_year_of((start - timedelta(days=1)).astimezone(LONDON).date())
    assert figures(runtime, last_year)["concerns"] == {"received": 1}


def test_a_decision_replaced_by_a_later_one_is_not_counted_twice(mis, runtime, app, settings, client):
    walk_to_share(mis, runtime, app, settings, client, REFUSED)
    with runtime.transaction() as session:
        refused = session.scalars(select(DecisionRecord).where(DecisionRecord.kind == "consent")).one()
        session.add(DecisionRecord(case_pk=refused.case_pk, step_id=refused.step_id, kind="consent",
                                   payload={"outcome": "withdrawn"}, recorded_by="staff:S-02",
                                   supersedes_id=refused.id))

    assert figures(runtime)["consent"] == {o: int(o == "withdrawn") for o in CONSENT_OUTCOMES}


def test_the_report_names_no_one_and_quotes_nothing_and_its_read_is_audited(mis, runtime, app, settings, client):
    recipients, case_id = walk_to_share(mis, runtime, app, settings, client, REFUSED)
    answer(client, settings, app, DSL_EMAIL, share_form([recipients["csc"]], family_notice="send"))

    with runtime.transaction() as session:
        report = annual_report(session, this_year(), LONDON, actor="admin:ops", form="json")
    text = json.dumps(report, default=str)

    for secret in (case_id, factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.CONTACT_NAME,
                   factories.CONCERN_SUMMARY, "Risk of neglect", "Children's Social Care", "S-02"):
        assert secret not in text
    with runtime.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "report.annual_read")).one()
        assert (event.actor, json.loads(event.details)) == ("admin:ops", {"year": this_year().label, "format": "json"})
