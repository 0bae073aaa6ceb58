"""Disposal truly erases: reading every table directly, no trace of the pupil's name, date of
birth or contacts, nor of the concern's text, is left, encrypted or not; the tombstone and the
audit chain remain, and the chain still verifies."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, text, update

from infoshare_workflow.cases.intake import apply_pending
from infoshare_workflow.notices.privacy import privacy_notices
from infoshare_workflow.records import audit
from infoshare_workflow.review import sweep
from infoshare_workflow.review.answers import Answer, record
from infoshare_workflow.schedules.execution import execute_run
from infoshare_workflow.schedules.management import create_schedule
from infoshare_workflow.schedules.runs import run_now
from infoshare_workflow.sharing.resend import reassign_step
from infoshare_workflow.storage.models import (
    Base,
    Case,
    ChronologyEntry,
    Concern,
    Disposal,
    Email,
    ReceivedEvent,
    ReviewList,
    RunReportItem,
    Step,
    utcnow,
)

from .. import factories
from ..concurrency import side_by_side
from ..parking import post_unapplied
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
from .test_disposal import answer, approved, disposal_of, erase_due, listed, propose, the_list

PUPIL = {"mis_id": "P-ERASE", "given_name": "Wilhelmina", "family_name": "Zanzibar-Quist",
         "date_of_birth": "2011-02-03", "year_group": "Year 9", "email": "wil.zq@pupils.example",
         "contacts": [{"name": "Bartholomew Zanzibar", "relationship": "father", "email": "bart.zq@example.org",
                       "parental_responsibility": True, "preferred_language": "en"},
                      {"name": "Cornelius Zanzibar", "relationship": "grandfather", "email": None,
                       "parental_responsibility": True, "preferred_language": "en"}]}
CONCERN = {"summary": "Summary mentioning the Tangerine incident", "facts": "Facts about the Tangerine incident",
           "opinion": "Opinion about the Tangerine incident"}
ADDENDUM = "Addendum about the Marmalade follow-up"
REASONS = ["Covering while the Pomegranate visit is planned", "Back from the Quince meeting"]
TRACES = ["Wilhelmina", "Zanzibar", "Quist", "2011-02-03", "wil.zq@", "Bartholomew", "bart.zq@", "Tangerine",
          "Marmalade", "Cornelius", "Pomegranate", "Quince"]
DSL2 = "S-03"


def shared_and_closed(mis, runtime, app, settings, client):
    """A case walked to a share, with addenda, a disclosure opened and a family notice suppressed."""
    set_up_school(mis, runtime)
    event = factories.concern_raised("C-ERASE", pupil=PUPIL, assigned_dsl=DSL, **CONCERN)
    case_id = mis.post(event).get_json()["case_id"]
    drain(app)
    reassigned_there_and_back(mis, runtime, app)
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


def reassigned_there_and_back(mis, runtime, app):
    """An admin gives the consent step to a second DSL and back, with reasons that name the family."""
    assert mis.post(factories.staff_upserted(DSL2, ["dsl"])).status_code == 202
    drain(app)
    for to, reason in zip((DSL2, DSL), REASONS):
        with runtime.transaction() as session:
            step = session.scalars(select(Step).where(Step.kind == "consent")).one()
            reassign_step(session, step, to, reason=reason, actor="admin:ops")
    drain(app)


def kept_elsewhere(runtime, client, settings):
    """A privacy notice run's report naming the contact it could not email, and a `pupil.updated`
    parked in the inbox for this pupil and another; returns the other's event id."""
    with runtime.transaction() as session:
        schedule = create_schedule(session, {"job": "privacy_notices", "cron": "0 9 1 9 *"}, actor="admin:ops")
        run_id = run_now(session, schedule.id, "admin:ops", enqueue=False).id
    assert execute_run(runtime, run_id) == "succeeded"
    with runtime.transaction() as session:
        assert session.execute(select(RunReportItem.kind, RunReportItem.pupil_key)).all() == [
            ("contact_without_email", "P-ERASE")]
    ids = [post_unapplied(client, settings, factories.envelope("pupil.updated", {"pupil": pupil}))["event_id"]
           for pupil in (PUPIL, factories.pupil(mis_id="P-OTHER"))]
    with runtime.transaction() as session:  # as if each had failed every attempt
        session.execute(update(ReceivedEvent).where(ReceivedEvent.event_id.in_(ids)).values(
            attempts=10, parked_at=utcnow()))
    return ids[1]


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
    other = kept_elsewhere(runtime, client, settings)
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
    # The MIS does not know the case is gone: an update it sends now is taken in and dropped.
    late = mis.post(factories.concern_updated("C-ERASE", facts_addendum=ADDENDUM))
    assert late.status_code == 202
    assert not [t for t in TRACES if any(t in v for v in every_value(runtime, list(settings.encryption_keys)))]
    with runtime.transaction() as session:
        disposal = session.scalars(select(Disposal)).one()
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        assert (disposal.status, disposal.proposed_by, disposal.approved_by) == ("done", f"staff:{DSL}",
                                                                                  f"staff:{MANAGER}")
        assert (case.status, case.retention_category, case.closed_at is not None) == ("disposed", "child_protection",
                                                                                      True)
        verified = audit.verify(session)
        inbox = dict(session.execute(select(ReceivedEvent.event_id, ReceivedEvent.outcome).where(
            ReceivedEvent.type == "pupil.updated", ReceivedEvent.parked_at.is_not(None))).all())
        others = session.get(ReceivedEvent, other)
        assert others is not None and "P-OTHER" in (others.payload or "")  # another pupil's parked update stays
        discarded = session.execute(select(ReceivedEvent.outcome, ReceivedEvent.payload).where(
            ReceivedEvent.event_id == late.get_json()["event_id"])).one()
        [(reason,)] = session.execute(text(
            "SELECT details FROM audit_events WHERE action = 'event.discarded'")).all()
    assert sorted(inbox.values()) == ["accepted", "erased"] and inbox[other] == "accepted"
    assert tuple(discarded) == ("erased", None) and json.loads(reason)["reason"] == "case_disposed"
    assert verified.ok and verified.events > 20
    shown = api.get(f"/api/v1/cases/{case_id}")
    assert shown.status_code == 200 and shown.get_json()["status"] == "disposed"
    assert not [trace for trace in TRACES if trace in shown.get_data(as_text=True)]
    assert shown.get_json()["disposal"]["status"] == "done"


def test_report_rows_written_before_they_named_their_pupil_are_read_once_and_erased_with_the_pupil(mis, runtime):
    [case_id] = listed(mis, runtime)  # its pupil is P-C-due-0, in no other case
    with runtime.transaction() as session:
        schedule = create_schedule(session, {"job": "privacy_notices", "cron": "0 9 1 9 *"}, actor="admin:ops")
        run_id = run_now(session, schedule.id, "admin:ops", enqueue=False).id
        for kind, row in (("contact_without_email", {"pupil": "P-C-due-0", "contact": "Cornelius Zanzibar"}),
                          ("contact_without_email", {"pupil": "P-ELSEWHERE", "contact": "Someone Else"}),
                          ("disposal", {"case_id": "IS-OLD"})):  # as written before migration 0014: no pupil_key
            session.add(RunReportItem(run_id=run_id, kind=kind, item=json.dumps(row)))
    propose(runtime, case_id)
    with runtime.transaction() as session:
        approver = the_list(session, "approval").assignee
    answer(runtime, "approval", {case_id: Answer("approve")}, f"staff:{approver}")

    assert erase_due(runtime, disposal_of(runtime, case_id).erase_at + timedelta(seconds=1))[0] == 1

    with runtime.transaction() as session:
        left = [(r.kind, r.pupil_key, json.loads(r.item)) for r in session.scalars(
            select(RunReportItem).order_by(RunReportItem.id))]
    assert left == [("contact_without_email", "P-ELSEWHERE", {"pupil": "P-ELSEWHERE", "contact": "Someone Else"}),
                    ("disposal", None, {"case_id": "IS-OLD"})]


@pytest.mark.postgresql_only
def test_an_addendum_applied_while_its_case_is_erased_is_erased_with_it(mis, runtime, client, settings):
    """The worker applying a `concern.updated` has read the case, not yet disposed, and is held
    there until the erasure has emptied the chronology (or two seconds, when the erasure rightly
    holds the case): the addendum must not land after the emptying and outlive the case."""
    case_id, _ = approved(mis, runtime)
    with runtime.transaction() as session:
        concern_id = session.scalars(select(Concern.concern_id).join(Case, Case.concern_pk == Concern.id)
                                     .where(Case.case_id == case_id)).one()
    post_unapplied(client, settings, factories.concern_updated(concern_id, facts_addendum="Seen at the gate again"))
    emptied, read = threading.Event(), threading.Event()

    def hold(_conn, _cursor, statement: str, *_) -> None:
        if threading.current_thread().name == "apply" and statement.startswith("SELECT cases.") and not read.is_set():
            read.set()
            emptied.wait(timeout=2)

    def reach(_conn, _cursor, statement: str, *_) -> None:
        if threading.current_thread().name == "erase" and statement.startswith("DELETE FROM chronology"):
            emptied.set()

    def erase_once_read() -> int:
        read.wait(timeout=10)
        return erase_due(runtime, disposal_of(runtime, case_id).erase_at + timedelta(seconds=1))[0]

    outcomes = side_by_side(runtime, {"after_cursor_execute": hold, "before_cursor_execute": reach},
                            apply=lambda: apply_pending(runtime.sessions), erase=erase_once_read)
    apply_pending(runtime.sessions)  # a next pass: the erased event is not applied

    assert outcomes["erase"] == 1, outcomes
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        assert case.status == "disposed"
        assert session.scalars(select(ChronologyEntry).where(ChronologyEntry.case_pk == case.id)).all() == []
        assert session.scalars(select(ReceivedEvent.outcome).where(ReceivedEvent.type == "concern.updated")).one() \
            == "erased"


@pytest.mark.postgresql_only
def test_a_privacy_notice_queued_while_its_pupil_is_erased_keeps_no_address(mis, runtime):
    """The erasure has emptied the addresses of the pupil's notices and is held there until a
    privacy notices run has finished (or two seconds, when the run rightly waits for the pupil
    being erased): no notice queued in that moment may keep the family's address, nor be sent
    to a family whose child's record is gone."""
    case_id, _ = approved(mis, runtime)
    emptied, passed = threading.Event(), threading.Event()

    def hold(_conn, _cursor, statement: str, *_) -> None:
        name = threading.current_thread().name
        if name == "erase" and statement.startswith("UPDATE emails") and "notices" in statement:
            emptied.set()
            passed.wait(timeout=2)

    def notices_once_emptied() -> dict[str, int]:
        emptied.wait(timeout=10)
        try:
            return privacy_notices(runtime, 1, no_progress, Report())
        finally:
            passed.set()

    outcomes = side_by_side(runtime, {"after_cursor_execute": hold}, notices=notices_once_emptied,
                            erase=lambda: erase_due(runtime, disposal_of(runtime, case_id).erase_at
                                                    + timedelta(seconds=1))[0])

    assert outcomes["erase"] == 1 and isinstance(outcomes["notices"], dict), outcomes
    with runtime.transaction() as session:
        assert session.scalars(select(Email.to_address).where(Email.template == "privacy_notice",
                                                              Email.to_address != "")).all() == []
