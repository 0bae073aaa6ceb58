"""The step machine through its pages: consent -> consultation -> share, the rules of DOMAIN.md,
the more_information loop and the emergency path. Tasks run in-process, emails land in the outbox."""

from __future__ import annotations

from sqlalchemy import select

from infoshare_workflow.storage.models import Case, DecisionRecord, Notice, Step

from .. import factories
from ..workflow import (
    DSL_EMAIL,
    MANAGER_EMAIL,
    REFUSED,
    answer,
    consent_given,
    latest_to,
    link_in,
    open_case,
    read_outbox,
    set_up_school,
    share_form,
    submit,
    walk_to_share,
)


def step_statuses(runtime, case_id):
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        return [(s.kind, s.round, s.status) for s in case.steps]


def test_a_new_case_emails_the_dsl_a_consent_task_with_no_personal_data(mis, runtime, app, settings):
    set_up_school(mis, runtime)
    case_id = open_case(mis, app)

    message = latest_to(settings.outbox_dir, DSL_EMAIL)

    assert case_id in message["Subject"] and "Consent decision" in message["Subject"]
    raw = message.as_string()
    for secret in (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.CONCERN_FACTS, factories.CONCERN_SUMMARY):
        assert secret not in raw
    assert link_in(message).startswith("/tasks/")


def test_consent_given_then_advice_then_share_closes_the_case_as_shared(mis, runtime, app, settings, client):
    recipients = set_up_school(mis, runtime)
    case_id = open_case(mis, app)

    assert answer(client, settings, app, DSL_EMAIL, consent_given()).status_code == 303
    assert answer(client, settings, app, MANAGER_EMAIL, {"advice": "share", "rationale": "Clear need"}).status_code == 303
    form = share_form([recipients["csc"]], lawful_basis="consent", condition="explicit_consent")
    assert answer(client, settings, app, DSL_EMAIL, form).status_code == 303

    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        assert (case.status, case.outcome, case.retention_category) == ("closed", "shared", "child_protection")
        assert [d.kind for d in case.decisions] == ["consent", "consultation", "share"]
        assert len(case.disclosures) == 1 and case.notices == []  # consent was given: no sharing notice
    assert step_statuses(runtime, case_id) == [("consent", 1, "done"), ("consultation", 1, "done"), ("share", 1, "done")]
    assert "Secure information" in latest_to(settings.outbox_dir, "csc@council.example")["Subject"]


def test_consent_given_must_be_explicit_and_freely_given(mis, runtime, app, settings, client):
    set_up_school(mis, runtime)
    open_case(mis, app)
    form = {**consent_given(), "explicit": "", "freely_given": ""}

    response = answer(client, settings, app, DSL_EMAIL, form)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="explicit-error"' in html and 'id="freely_given-error"' in html
    assert f'value="{factories.CONTACT_NAME}"' in html  # what was typed is kept


def test_consent_not_sought_needs_a_reason_and_an_explanation(mis, runtime, app, settings, client):
    set_up_school(mis, runtime)
    open_case(mis, app)
    response = answer(client, settings, app, DSL_EMAIL, {"outcome": "not_sought"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="not_sought_reason-error"' in html and 'id="explanation-error"' in html


def test_an_invalid_answer_leaves_the_link_usable(mis, runtime, app, settings, client):
    set_up_school(mis, runtime)
    case_id = open_case(mis, app)
    path = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))
    assert submit(client, path, {"outcome": "given"}).status_code == 422
    assert submit(client, path, consent_given()).status_code == 303
    assert step_statuses(runtime, case_id)[0] == ("consent", 1, "done")


def test_after_refusal_consent_cannot_be_the_lawful_basis(mis, runtime, app, settings, client):
    recipients, _ = walk_to_share(mis, runtime, app, settings, client, REFUSED)
    form = share_form([recipients["csc"]], lawful_basis="consent", condition="explicit_consent", family_notice="send")
    response = answer(client, settings, app, DSL_EMAIL, form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="lawful_basis-error"' in html and 'id="condition-error"' in html


def test_a_share_without_consent_needs_a_family_notice_decision(mis, runtime, app, settings, client):
    recipients, _ = walk_to_share(mis, runtime, app, settings, client, REFUSED)
    response = answer(client, settings, app, DSL_EMAIL, share_form([recipients["csc"]]))
    assert response.status_code == 422 and 'id="family_notice-error"' in response.get_data(as_text=True)


def test_a_suppressed_notice_needs_a_reason_and_a_future_reconsider_date(mis, runtime, app, settings, client):
    recipients, _ = walk_to_share(mis, runtime, app, settings, client, REFUSED)
    form = share_form([recipients["csc"]], family_notice="suppress", reconsider_on="2020-01-01")
    html = answer(client, settings, app, DSL_EMAIL, form).get_data(as_text=True)
    assert 'id="suppress_reason-error"' in html and 'id="reconsider_on-error"' in html


def test_a_share_needs_a_recipient_an_item_and_every_principle(mis, runtime, app, settings, client):
    _, _ = walk_to_share(mis, runtime, app, settings, client, consent_given())
    form = share_form([], items=[], necessary="", secure="")
    html = answer(client, settings, app, DSL_EMAIL, form).get_data(as_text=True)
    for field in ("recipients", "items", "necessary", "secure"):  # each in the summary, linked to its input
        assert f'href="#{field}"' in html and f'id="{field}"' in html
    assert "Choose at least one recipient" in html and "Confirm that sharing is necessary, secure" in html


def test_refused_then_shared_under_safeguarding_with_notice_suppressed(mis, runtime, app, settings, client):
    recipients, case_id = walk_to_share(mis, runtime, app, settings, client, REFUSED)
    form = share_form([recipients["csc"], recipients["police"]], family_notice="suppress",
                      suppress_reason="Telling the family now would put the child at risk",
                      reconsider_on="2027-02-01")
    assert answer(client, settings, app, DSL_EMAIL, form).status_code == 303
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        assert case.outcome == "shared" and len(case.disclosures) == 2
        notice = session.scalars(select(Notice)).one()
        assert (notice.kind, notice.status, notice.reconsider_on.isoformat()) == ("sharing", "suppressed", "2027-02-01")


def test_more_information_goes_back_to_the_dsl_and_then_to_consultation_again(mis, runtime, app, settings, client):
    set_up_school(mis, runtime)
    case_id = open_case(mis, app)
    not_sought = {"outcome": "not_sought", "not_sought_reason": "risk_to_child",
                  "explanation": "Asking the family could put the child at risk"}
    answer(client, settings, app, DSL_EMAIL, not_sought)
    answer(client, settings, app, MANAGER_EMAIL, {"advice": "more_information", "rationale": "Has this happened before?"})

    question_page = client.get(link_in(latest_to(settings.outbox_dir, DSL_EMAIL))).get_data(as_text=True)
    assert "Has this happened before?" in question_page
    answer(client, settings, app, DSL_EMAIL, {"response": "Twice last term"})
    answer(client, settings, app, MANAGER_EMAIL, {"advice": "do_not_share", "rationale": "Monitor in school"})
    answer(client, settings, app, DSL_EMAIL, {"decision": "do_not_share", "reasons": "Below threshold; monitor"})

    assert step_statuses(runtime, case_id) == [
        ("consent", 1, "done"), ("consultation", 1, "done"), ("share", 1, "done"),
        ("information", 1, "done"), ("consultation", 2, "done")]
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        assert (case.status, case.outcome) == ("closed", "not_shared")
        assert case.retention_category == "early_help" and case.review_on is not None


def test_do_not_share_still_needs_reasons(mis, runtime, app, settings, client):
    walk_to_share(mis, runtime, app, settings, client, consent_given())
    response = answer(client, settings, app, DSL_EMAIL, {"decision": "do_not_share"})
    assert response.status_code == 422 and 'id="reasons-error"' in response.get_data(as_text=True)


def test_an_immediate_concern_alerts_the_dsl_and_every_manager_at_once(mis, runtime, app, settings, client):
    set_up_school(mis, runtime)
    mis.post(factories.staff_upserted("S-10", ["manager"]))
    case_id = open_case(mis, app, urgency="immediate")

    to = {m["To"]: m["Subject"] for m in read_outbox(settings.outbox_dir)}
    assert to[DSL_EMAIL].startswith("URGENT") and case_id in to[DSL_EMAIL]
    assert {MANAGER_EMAIL, "s-10@school.example"} <= set(to)
    page = client.get(link_in(latest_to(settings.outbox_dir, DSL_EMAIL))).get_data(as_text=True)
    assert 'value="not_sought" id="not_sought-' not in page  # radios render once, prefilled below
    assert 'value="not_sought"' in page and "checked" in page.split('value="not_sought"')[1].split(">")[0]
    with runtime.transaction() as session:
        consent = session.scalars(select(Step).where(Step.kind == "consent")).one()
        assert (consent.due_at - consent.opened_at).total_seconds() == 3600


def test_decision_records_carry_who_decided_and_never_change(mis, runtime, app, settings, client):
    walk_to_share(mis, runtime, app, settings, client, consent_given())
    with runtime.transaction() as session:
        records = session.scalars(select(DecisionRecord).order_by(DecisionRecord.id)).all()
    assert [(r.kind, r.recorded_by) for r in records] == [("consent", "staff:S-02"), ("consultation", "staff:S-09")]


def test_the_case_api_shows_decisions_disclosures_and_notices(mis, runtime, app, settings, client, api):
    recipients, case_id = walk_to_share(mis, runtime, app, settings, client, REFUSED)
    answer(client, settings, app, DSL_EMAIL, share_form([recipients["csc"]], family_notice="send"))
    body = api.get(f"/api/v1/cases/{case_id}").get_json()
    assert [d["record"]["outcome"] for d in body["decisions"]["consent"]] == ["refused"]
    assert body["decisions"]["share"][0]["record"]["lawful_basis"] == "public_task"
    assert [(d["recipient"], d["accessed_at"]) for d in body["disclosures"]] == [("Children's Social Care", None)]
    # one notice per contact with parental responsibility, sent by the time the worker is done
    assert [(n["kind"], n["status"], n["addressee"]) for n in body["notices"]] == [("sharing", "sent", "contact")]


def test_a_raised_urgency_brings_the_due_date_and_its_reminders_forward(mis, runtime, app, settings):
    from datetime import timedelta

    from infoshare_workflow.storage.models import StepTimer

    set_up_school(mis, runtime)
    open_case(mis, app)  # standard: 3 working days
    mis.post(factories.concern_updated("C-wf-1", urgency="immediate"))

    with runtime.transaction() as session:
        consent = session.scalars(select(Step).where(Step.kind == "consent")).one()
        assert consent.due_at == consent.opened_at + timedelta(hours=1)
        pending = session.scalars(select(StepTimer).where(StepTimer.step_id == consent.id,
                                                          StepTimer.fired_at.is_(None))).all()
        assert sorted((t.kind, t.due_at - consent.opened_at) for t in pending) == [
            ("escalation", timedelta(hours=1)), ("reminder", timedelta(minutes=15))]
