"""Golden rule 2 after a share without consent: the family is told what kinds of information went
to which agency, when and why, one notice per contact with parental responsibility; or the DSL
holds the notice back with a reason and a date, and is asked again on that date."""

from __future__ import annotations

import html
from datetime import date, timedelta

from sqlalchemy import select

from infoshare_workflow.notices.reconsideration import notice_reconsideration
from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import Notice, Step

from ..workflow import DSL_EMAIL, answer, html_of, latest_to, text_of
from .family import FAMILY, FATHER, HOLD, MOTHER, PERSONAL, ask_again, family_mail, notices, shared_without_consent


def test_each_contact_with_parental_responsibility_is_told_what_went_where_and_why(
        mis, runtime, app, settings, client):
    case_id = shared_without_consent(mis, runtime, app, settings, client, family_notice="send")

    assert notices(runtime) == [("sent", "contact", "mother", "en"), ("sent", "contact", "father", "cy"),
                                ("no_email", "contact", "grandmother", None)]
    mails = family_mail(settings)
    assert sorted(m["To"] for m in mails) == sorted([MOTHER, FATHER])  # never the childminder, each once
    mother = next(m for m in mails if m["To"] == MOTHER)
    for body in (text_of(mother), html.unescape(html_of(mother))):
        assert "Section 17 assessment" in body and "Children's Social Care" in body and case_id in body
    for message in mails:
        raw = message.as_string()
        assert [p for p in PERSONAL if p in raw] == []
    with runtime.transaction() as session:
        actions = [e.action for e in audit.case_events(session, case_id) if e.action.startswith("notice.")]
    assert sorted(actions) == ["notice.no_email", "notice.queued", "notice.queued", "notice.sent", "notice.sent"]


def test_with_nobody_holding_parental_responsibility_the_case_says_so(mis, runtime, app, settings, client, api):
    case_id = shared_without_consent(mis, runtime, app, settings, client, contacts=FAMILY[3:], family_notice="send")

    assert family_mail(settings) == []
    body = api.get(f"/api/v1/cases/{case_id}").get_json()
    assert [(n["kind"], n["status"]) for n in body["notices"]] == [("sharing", "no_contact")]


def test_a_notice_held_back_sends_nothing_until_the_dsl_says_so(mis, runtime, app, settings, client, api):
    case_id = shared_without_consent(mis, runtime, app, settings, client, **HOLD)
    assert notices(runtime) == [("suppressed", None, None, None)] and family_mail(settings) == []
    assert ask_again(runtime, app, on=date.today() + timedelta(days=1)) == {"due": 0, "asked": 0}  # not yet

    assert ask_again(runtime, app) == {"due": 1, "asked": 1}
    assert ask_again(runtime, app) == {"due": 0, "asked": 0}  # asked once, whatever the runs
    task = latest_to(settings.outbox_dir, DSL_EMAIL)
    assert "Telling the family: decide again" in task["Subject"] and family_mail(settings) == []

    response = answer(client, settings, app, DSL_EMAIL, {"reconsider": "send_now"})

    assert response.status_code == 303
    assert sorted(m["To"] for m in family_mail(settings)) == sorted([MOTHER, FATHER])
    body = api.get(f"/api/v1/cases/{case_id}").get_json()
    assert [(n["status"], n["reconsidered_at"] is not None) for n in body["notices"]] == [
        ("suppressed", True), ("sent", False), ("sent", False), ("no_email", False)]
    assert [d["record"] for d in body["decisions"]["reconsideration"]] == [{"reconsider": "send_now"}]
    assert [s["kind"] for s in body["steps"]][-1] == "reconsideration" and body["steps"][-1]["status"] == "done"


def test_keeping_it_back_needs_a_reason_and_a_later_date_and_asks_again_then(mis, runtime, app, settings, client):
    shared_without_consent(mis, runtime, app, settings, client, **HOLD)
    ask_again(runtime, app)

    refused = answer(client, settings, app, DSL_EMAIL, {"reconsider": "keep_suppressed",
                                                        "reconsider_on": date.today().isoformat()})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="suppress_reason-error"' in page and "The date to reconsider must be in the future" in page
    later = date.today() + timedelta(days=60)
    kept = answer(client, settings, app, DSL_EMAIL, {"reconsider": "keep_suppressed", "suppress_reason": "Still unsafe",
                                                     "reconsider_on": later.isoformat()})

    assert kept.status_code == 303 and family_mail(settings) == []
    with runtime.transaction() as session:
        rows = session.scalars(select(Notice).order_by(Notice.id)).all()
        assert [(n.status, n.reason, n.reconsider_on, n.reconsidered_at is None) for n in rows] == [
            ("suppressed", HOLD["suppress_reason"], rows[0].reconsider_on, False),
            ("suppressed", "Still unsafe", later, True)]
        assert session.scalars(select(Step.status).where(Step.kind == "reconsideration")).all() == ["done"]
    assert notice_reconsideration(runtime, 2, lambda d, t: None, lambda *r: None) == {"due": 0, "asked": 0}
