"""Applying accepted events: once, oldest first, and a bad one never holds up the rest."""

from __future__ import annotations

import json

from sqlalchemy import func, select, text

from infoshare_workflow.intake import MAX_ATTEMPTS, apply_pending
from infoshare_workflow.models import AuditEvent, Case, ReceivedEvent

from .. import factories


def post_unapplied(client, settings, event):
    body = factories.body_of(event)
    response = client.post("/webhooks/mis", data=body, headers=factories.signed_headers(settings.mis_webhook_secret, body))
    assert response.status_code == 202
    return response.get_json()


def test_an_accepted_concern_becomes_its_reserved_case_when_applied_once(client, settings, runtime):
    reserved = post_unapplied(client, settings, factories.concern_raised("C-a"))["case_id"]
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0  # accepted, not yet applied

    assert apply_pending(runtime.sessions) == 1
    assert apply_pending(runtime.sessions) == 0
    with runtime.transaction() as session:
        assert session.scalars(select(Case.case_id)).all() == [reserved]
        row = session.scalars(select(ReceivedEvent)).one()
        assert row.applied_at is not None and row.payload is None  # the records now hold the data


def test_an_update_that_overtakes_its_concern_waits_for_it(client, settings, runtime):
    post_unapplied(client, settings, factories.concern_raised("C-b"))
    post_unapplied(client, settings, factories.concern_updated("C-b", facts_addendum="More", urgency="high"))
    with runtime.transaction() as session:  # make the update the oldest, as if it had overtaken
        session.execute(text("UPDATE received_events SET received_at = received_at - interval '1 minute' "
                             "WHERE type = 'concern.updated'") if session.get_bind().dialect.name == "postgresql"
                        else text("UPDATE received_events SET received_at = '2000-01-01 00:00:00' "
                                  "WHERE type = 'concern.updated'"))

    assert apply_pending(runtime.sessions) == 1  # the concern; the update waited
    assert apply_pending(runtime.sessions) == 1  # now the update
    with runtime.transaction() as session:
        assert session.scalars(select(Case.urgency)).one() == "high"


def test_an_event_that_cannot_be_applied_is_parked_without_blocking_the_rest(client, settings, runtime):
    post_unapplied(client, settings, factories.concern_raised("C-bad"))
    post_unapplied(client, settings, factories.concern_raised("C-good", pupil={"mis_id": "P-2"}))
    with runtime.transaction() as session:  # a payload that can no longer be read (e.g. a retired key)
        session.execute(text("UPDATE received_events SET payload = 'garbage' WHERE concern_key = 'C-bad'"))

    for _ in range(MAX_ATTEMPTS):
        apply_pending(runtime.sessions)

    with runtime.transaction() as session:
        assert session.scalars(select(Case.case_id)).all() != []
        bad = session.execute(select(ReceivedEvent.event_id, ReceivedEvent.applied_at, ReceivedEvent.attempts)
                              .where(ReceivedEvent.concern_key == "C-bad")).one()
        assert bad.applied_at is None and bad.attempts == MAX_ATTEMPTS
        parked = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.parked")).one()
        assert json.loads(parked.details)["event_id"] == bad.event_id
    assert apply_pending(runtime.sessions) == 0  # parked: not tried again


def test_the_inbox_keeps_the_signed_body_as_sent_and_encrypted(client, settings, runtime):
    event = factories.concern_raised("C-raw")
    body = factories.body_of(event)
    client.post("/webhooks/mis", data=body, headers=factories.signed_headers(settings.mis_webhook_secret, body))
    with runtime.transaction() as session:
        stored = session.execute(text("SELECT payload FROM received_events WHERE concern_key = 'C-raw'")).scalar_one()
        decrypted = session.scalars(select(ReceivedEvent.payload).where(ReceivedEvent.concern_key == "C-raw")).one()
    assert factories.CONCERN_FACTS not in stored and "C-raw" not in stored
    assert decrypted == body.decode()
