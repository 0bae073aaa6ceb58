"""Reminders and escalations: fired from database rows by the dispatcher, each exactly once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from infoshare_workflow.settings.policy import parse_policy
from infoshare_workflow.sharing.reminders import dispatch_timers
from infoshare_workflow.storage.models import AuditEvent, Step, StepTimer

from .. import factories
from ..workflow import (
    DSL_EMAIL,
    MANAGER_EMAIL,
    consent_given,
    drain,
    latest_to,
    link_in,
    read_outbox,
    set_up_school,
    submit,
)

SECONDS = {"steps": {"standard": {"consent": "60 seconds", "consultation": "60 seconds", "share": "60 seconds",
                                  "reminders": [0.5, 1.0], "escalate_after": "30 seconds"}}}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, policy=parse_policy(SECONDS))


def opened(mis, runtime, app, **overrides):
    set_up_school(mis, runtime)
    mis.post(factories.concern_raised("C-due", **overrides))
    drain(app)
    with runtime.transaction() as session:
        step = session.scalars(select(Step).where(Step.kind == "consent")).one()
        return step.opened_at


def to(settings, address):
    return [m for m in read_outbox(settings.outbox_dir) if m["To"] == address]


def tick(runtime, app, at):
    result = dispatch_timers(runtime.sessions, now=at)
    drain(app)
    return result


def test_reminders_at_half_time_and_at_due_then_an_escalation_each_sent_once(mis, runtime, app, settings):
    start = opened(mis, runtime, app)

    assert tick(runtime, app, start + timedelta(seconds=31)).reminders == 1
    assert tick(runtime, app, start + timedelta(seconds=31)).reminders == 0  # a second pass sends nothing again
    assert tick(runtime, app, start + timedelta(seconds=61)).reminders == 1
    assert tick(runtime, app, start + timedelta(seconds=91)).escalations == 1
    assert dispatch_timers(runtime.sessions, now=start + timedelta(days=30)).reminders == 0

    dsl_mail = to(settings, DSL_EMAIL)
    subjects = [m["Subject"].strip() for m in dsl_mail]
    assert subjects[0].startswith("Consent decision for case")
    assert [s.split(":")[0] for s in subjects[1:]] == ["Reminder", "Reminder"]
    assert len({link_in(m) for m in dsl_mail}) == 3  # a fresh link each time
    escalation = to(settings, MANAGER_EMAIL)
    assert len(escalation) == 1 and escalation[0]["Subject"].strip().startswith("Overdue: Consent decision")
    for message in dsl_mail + escalation:
        assert factories.PUPIL_GIVEN not in message.as_string() and factories.CONCERN_FACTS not in message.as_string()
    with runtime.transaction() as session:
        step = session.scalars(select(Step).where(Step.kind == "consent")).one()
        assert (step.reminders_sent, step.escalated) == (2, True)
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
            ["step.reminded", "step.escalated"])).order_by(AuditEvent.seq)))
        assert actions == ["step.reminded", "step.reminded", "step.escalated"]


def test_an_earlier_reminder_link_still_answers_the_task(mis, runtime, app, settings, client):
    start = opened(mis, runtime, app)
    first_link = link_in(to(settings, DSL_EMAIL)[0])
    tick(runtime, app, start + timedelta(seconds=31))
    assert submit(client, first_link, consent_given()).status_code == 303


def test_answering_a_step_cancels_its_pending_reminders_and_escalation(mis, runtime, app, settings, client):
    start = opened(mis, runtime, app)
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)), consent_given())
    drain(app)

    tick(runtime, app, start + timedelta(seconds=59))  # the consultation's own half-time reminder may fire
    assert len(to(settings, DSL_EMAIL)) == 1  # the DSL's first email only: no consent reminder
    with runtime.transaction() as session:
        consent = session.scalars(select(Step).where(Step.kind == "consent")).one()
        outcomes = set(session.scalars(select(StepTimer.outcome).where(StepTimer.step_id == consent.id)))
        assert outcomes == {"cancelled"}


def test_an_immediate_step_is_reminded_every_fifteen_minutes_and_escalated_at_due(mis, runtime, app, settings):
    start = opened(mis, runtime, app, urgency="immediate")
    for minutes in (16, 31, 46):
        assert tick(runtime, app, start + timedelta(minutes=minutes)).reminders == 1
    result = tick(runtime, app, start + timedelta(minutes=61))
    assert (result.reminders, result.escalations) == (1, 1)
    with runtime.transaction() as session:
        assert session.scalars(select(Step).where(Step.kind == "consent")).one().reminders_sent == 4


def test_the_overdue_step_shows_in_the_api_the_metrics_and_the_cli(mis, runtime, app, settings, api, client):
    start = opened(mis, runtime, app)
    tick(runtime, app, start + timedelta(seconds=91))
    with runtime.transaction() as session:  # the step is overdue now: its due time is moved into the past
        session.execute(update(Step).where(Step.kind == "consent").values(due_at=start - timedelta(seconds=1)))
    page = api.get("/api/v1/cases?overdue=true").get_json()
    assert len(page["items"]) == 1
    steps = api.get(f"/api/v1/cases/{page['items'][0]['case_id']}").get_json()["steps"]
    assert steps[0]["escalated"] is True and steps[0]["reminders_sent"] == 2
    assert api.get("/api/v1/cases?overdue=false").get_json()["items"] == []
    assert 'infoshare_overdue_steps{step="consent"} 1.0' in client.get("/metrics").get_data(as_text=True)
    from ..cli.test_main import run

    listed = run(settings, "cases", "overdue")
    assert listed.returncode == 0 and page["items"][0]["case_id"] in listed.stdout and "1 overdue" in listed.stdout


def test_no_due_point_is_left_behind_in_the_pending_index(mis, runtime, app, settings):
    start = opened(mis, runtime, app)
    tick(runtime, app, start + timedelta(hours=1))
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StepTimer).where(StepTimer.fired_at.is_(None))) == 0
