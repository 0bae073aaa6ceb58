"""Disposal truly erases: reading every table directly, no trace of the pupil's name, date of
birth or contacts, nor of the concern's text, is left, encrypted or not; the tombstone and the
audit chain remain, and the chain still verifies."""

from __future__ import annotations

from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, text, update

from infoshare_workflow.records import audit
from infoshare_workflow.review import sweep
from infoshare_workflow.review.answers import Answer, record
from infoshare_workflow.storage.models import Base, Case, Disposal, ReviewList, utcnow

from .. import factories
from ..workflow import (
    DSL,
    DSL_EMAIL,
    MANAGER,
    MANAGER_EMAIL,
    consent_given,
    drain,
    latest_to,
    link_in,
    reveal,
    set_up_school,
    share_form,
    submit,
)
from .school import Report, no_progress

PUPIL = {"mis_id": "P-ERASE", "given_name": "Wilhelmina", "family_name": "Zanzibar-Quist",
         "date_of_birth": "2011-02-03", "year_group": "Year 9", "email": "wil.zq@pupils.example",
         "contacts": [{"name": "Bartholomew Zanzibar", "relationship": "father", "email": "bart.zq@example.org",
                       "parental_responsibility": True, "preferred_language": "en"}]}
CONCERN = {"summary": "Summary mentioning the Tangerine incident", "facts": "Facts about the Tangerine incident",
           "opinion": "Opinion about the Tangerine incident"}
ADDENDUM = "Addendum about the Marmalade follow-up"
TRACES = ["Wilhelmina", "Zanzibar", "Quist", "2011-02-03", "wil.zq@", "Bartholomew", "bart.zq@", "Tangerine",
          "Marmalade"]


def shared_and_closed(mis, runtime, app, settings, client):
    """A case walked to a share, with addenda, a disclosure opened and a family notice suppressed."""
    set_up_school(mis, runtime)
    event = factories.concern_raised("C-ERASE", pupil=PUPIL, assigned_dsl=DSL, **CONCERN)
    case_id = mis.post(event).get_json()["case_id"]
    drain(app)
    assert mis.post(factories.concern_updated("C-ERASE", facts_addendum=ADDENDUM)).status_code == 202
    assert submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)),
                  {**consent_given(), "party_name": "Bartholomew Zanzibar"}).status_code == 303
    drain(app)
    assert submit(client, link_in(latest_to(settings.outbox_dir, MANAGER_EMAIL)),
                  {"advice": "share", "rationale": "Wilhelmina needs help"}).status_code == 303
    drain(app)
    from infoshare_workflow.storage.models import Recipient

    with runtime.transaction() as session:
        csc = session.scalars(select(Recipient.id).where(Recipient.kind == "childrens_social_care")).one()
    form = share_form([csc], items=["summary", "facts", "opinion", "pupil_identity", "pupil_contacts",
                                    "pupil_date_of_birth", "chronology"], reasons="For Wilhelmina's safety",
                      purpose="Assessment of the Tangerine incident")
    assert submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)), form).status_code == 303
    drain(app)
    assert reveal(client, app, link_in(latest_to(settings.outbox_dir, "csc@council.example")),
                  settings.outbox_dir, "csc@council.example").status_code == 200
    with runtime.transaction() as session:
        session.execute(update(Case).where(Case.case_id == case_id).values(
            review_on=utcnow().date() - timedelta(days=1)))
    return case_id


def every_value(runtime, keys: list[str]) -> list[str]:
    """Every text value in every table, and the plaintext of each encrypted one."""
    ring = [Fernet(k) for k in keys]
    seen: list[str] = []
    with runtime.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608 - our own table names
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode(errors="replace")
                    if not isinstance(value, str):
                        continue
                    seen.append(value)
                    for fernet in ring:
                        try:
                            seen.append(fernet.decrypt(value.encode()).decode())
                        except (InvalidToken, ValueError):
                            continue
    return seen


def test_disposal_leaves_no_trace_of_the_pupil_or_the_concern_and_keeps_the_tombstone(
        mis, runtime, app, settings, client, api):
    case_id = shared_and_closed(mis, runtime, app, settings, client)
    before = every_value(runtime, list(settings.encryption_keys))
    assert all(any(trace in v for v in before) for trace in TRACES)  # the scan does see them, while they exist

    sweep.retention_sweep(runtime, 1, no_progress, Report())
    with runtime.transaction() as session:
        review = session.scalars(select(ReviewList).where(ReviewList.kind == "review")).one()
        record(session, review, {case_id: Answer("dispose", "Retention period over")}, f"staff:{DSL}")
    with runtime.transaction() as session:
        approvals = session.scalars(select(ReviewList).where(ReviewList.kind == "approval")).one()
        record(session, approvals, {case_id: Answer("approve")}, f"staff:{MANAGER}")
    report = Report()
    counts = sweep.retention_sweep(runtime, 2, no_progress, report, now=utcnow() + timedelta(days=8))
    assert counts["disposed"] == 1

    after = every_value(runtime, list(settings.encryption_keys))
    left = sorted({trace for trace in TRACES for value in after if trace in value})
    assert left == [], left
    with runtime.transaction() as session:
        disposal = session.scalars(select(Disposal)).one()
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        assert (disposal.status, disposal.proposed_by, disposal.approved_by) == ("done", f"staff:{DSL}",
                                                                                  f"staff:{MANAGER}")
        assert (case.status, case.retention_category, case.closed_at is not None) == ("disposed", "child_protection",
                                                                                      True)
        verified = audit.verify(session)
    assert verified.ok and verified.events > 20
    shown = api.get(f"/api/v1/cases/{case_id}")
    assert shown.status_code == 200 and shown.get_json()["status"] == "disposed"
    assert not [trace for trace in TRACES if trace in shown.get_data(as_text=True)]
    assert shown.get_json()["disposal"]["status"] == "done"
