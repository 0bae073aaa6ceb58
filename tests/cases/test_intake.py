"""Applying accepted events: once, oldest first, and a bad one never holds up the rest."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from infoshare_workflow.cases import inbox
from infoshare_workflow.cases.intake import MAX_ATTEMPTS, apply_pending, retry_delay
from infoshare_workflow.storage.models import AuditEvent, Case, ReceivedEvent

from .. import factories
from ..parking import park, post_unapplied, spoil


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
    spoil(runtime, "C-bad")

    park(runtime)

    with runtime.transaction() as session:
        assert session.scalars(select(Case.case_id)).all() != []
        bad = session.execute(select(ReceivedEvent.event_id, ReceivedEvent.applied_at, ReceivedEvent.attempts,
                                     ReceivedEvent.parked_at, ReceivedEvent.last_error)
                              .where(ReceivedEvent.concern_key == "C-bad")).one()
        assert bad.applied_at is None and bad.attempts == MAX_ATTEMPTS and bad.parked_at is not None
        assert bad.last_error == "InvalidToken"
        parked = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.parked")).one()
        assert json.loads(parked.details)["event_id"] == bad.event_id
    assert apply_pending(runtime.sessions, now=datetime.now(timezone.utc) + timedelta(days=30)) == 0  # parked


def test_a_failing_apply_backs_off_over_hours_not_seconds(client, settings, runtime):
    post_unapplied(client, settings, factories.concern_raised("C-slow"))
    spoil(runtime, "C-slow")
    start = datetime.now(timezone.utc)
    apply_pending(runtime.sessions, now=start)

    for _ in range(20):  # a busy beat, once a second for twenty seconds
        apply_pending(runtime.sessions, now=start + timedelta(seconds=1))
    with runtime.transaction() as session:
        row = session.execute(select(ReceivedEvent.attempts, ReceivedEvent.next_attempt_at)).one()
        assert row.attempts == 1 and row.next_attempt_at > start + timedelta(seconds=20)
    assert sum((retry_delay(n) for n in range(1, MAX_ATTEMPTS)), timedelta()) > timedelta(hours=4)


def test_a_database_that_goes_away_mid_apply_stops_the_pass_and_costs_the_event_no_attempt(
        client, settings, runtime):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("a server connection to cut is PostgreSQL's")
    post_unapplied(client, settings, factories.concern_raised("C-cut"))
    cut = {"done": False}

    @event.listens_for(Session, "before_flush")
    def cut_the_connection(session, *_):  # type: ignore[no-untyped-def]
        if not cut["done"]:
            cut["done"] = True
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with runtime.engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    try:
        with pytest.raises(OperationalError):
            apply_pending(runtime.sessions)
    finally:
        event.remove(Session, "before_flush", cut_the_connection)

    with runtime.transaction() as session:
        row = session.execute(select(ReceivedEvent.attempts, ReceivedEvent.next_attempt_at,
                                     ReceivedEvent.applied_at)).one()
        assert (row.attempts, row.next_attempt_at, row.applied_at) == (0, None, None)
    assert apply_pending(runtime.sessions) == 1  # the next pass, with the database back


def test_a_pass_whose_time_is_up_leaves_the_rest_for_the_next(client, settings, runtime):
    post_unapplied(client, settings, factories.concern_raised("C-t1"))
    post_unapplied(client, settings, factories.concern_raised("C-t2", pupil={"mis_id": "P-2"}))

    assert apply_pending(runtime.sessions, until=time.monotonic() - 1) == 0
    assert apply_pending(runtime.sessions, until=time.monotonic() + 60) == 2


def test_a_parked_event_is_applied_once_an_admin_retries_it_after_the_fix(client, settings, runtime):
    reserved = post_unapplied(client, settings, factories.concern_raised("C-fix"))["case_id"]
    with runtime.transaction() as session:
        good = session.scalars(select(ReceivedEvent.payload)).one()
    spoil(runtime, "C-fix")
    park(runtime)
    with runtime.transaction() as session:  # the fix: the old key is back
        session.execute(update(ReceivedEvent).values(payload=good))

    with runtime.transaction() as session:
        assert [e.event_id for e in inbox.entries(session, parked_only=True)] != []
        inbox.retry(session, None, actor="cli:admin")
    assert apply_pending(runtime.sessions) == 1

    with runtime.transaction() as session:
        assert session.scalars(select(Case.case_id)).all() == [reserved]
        retried = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.retried")).one()
        assert retried.actor == "cli:admin" and json.loads(retried.details)["was_parked"] is True


def test_retrying_an_event_that_is_not_waiting_changes_nothing(client, settings, runtime):
    post_unapplied(client, settings, factories.concern_raised("C-done"))
    apply_pending(runtime.sessions)
    with runtime.transaction() as session:
        applied = session.scalars(select(ReceivedEvent.event_id)).one()
        with pytest.raises(inbox.UnknownEvents) as raised:
            inbox.retry(session, [applied, "msg_never"], actor="cli:admin")
    assert raised.value.event_ids == sorted([applied, "msg_never"])


def test_a_corrected_concern_sent_again_replaces_the_parked_one_and_keeps_its_case(client, settings, runtime):
    reserved = post_unapplied(client, settings, factories.concern_raised("C-again"))["case_id"]
    spoil(runtime, "C-again")
    park(runtime)

    again = post_unapplied(client, settings, factories.concern_raised("C-again", summary="Corrected"))
    assert again["status"] == "accepted" and again["case_id"] == reserved
    assert apply_pending(runtime.sessions) == 1

    with runtime.transaction() as session:
        case = session.scalars(select(Case)).one()
        assert case.case_id == reserved and case.concern.summary == "Corrected"
        outcomes = dict(session.execute(select(ReceivedEvent.event_id, ReceivedEvent.outcome)).all())
        assert sorted(outcomes.values()) == ["accepted", "replaced"]
        replaced = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.replaced")).one()
        assert json.loads(replaced.details)["event_id"] == again["event_id"]


def test_a_concern_sent_again_while_the_first_is_still_waiting_is_a_duplicate(client, settings, runtime):
    first = post_unapplied(client, settings, factories.concern_raised("C-wait"))
    body = factories.body_of(factories.concern_raised("C-wait"))
    again = client.post("/webhooks/mis", data=body, headers=factories.signed_headers(settings.mis_webhook_secret, body))
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate" and again.get_json()["case_id"] == first["case_id"]


def test_the_inbox_keeps_the_signed_body_as_sent_and_encrypted(client, settings, runtime):
    event = factories.concern_raised("C-raw")
    body = factories.body_of(event)
    client.post("/webhooks/mis", data=body, headers=factories.signed_headers(settings.mis_webhook_secret, body))
    with runtime.transaction() as session:
        stored = session.execute(text("SELECT payload FROM received_events WHERE concern_key = 'C-raw'")).scalar_one()
        decrypted = session.scalars(select(ReceivedEvent.payload).where(ReceivedEvent.concern_key == "C-raw")).one()
    assert factories.CONCERN_FACTS not in stored and "C-raw" not in stored
    assert decrypted == body.decode()
