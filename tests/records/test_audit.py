"""The audit chain: every outcome is recorded, and any altered or removed row is found."""

from __future__ import annotations

import json

from sqlalchemy import func, select, text

from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import AuditEvent

from .. import factories


def test_accepted_duplicate_and_rejected_events_are_all_audited(mis, runtime):
    event = factories.concern_raised()
    mis.post(event, msg_id="msg_1")
    mis.post(event, msg_id="msg_1")
    mis.post(factories.envelope("concern.raised", {}))

    with runtime.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert [a for a in actions if a.startswith(("event.", "case."))] == [
        "case.opened", "event.accepted", "event.duplicate", "event.rejected"]


def test_a_rejection_is_recorded_by_reason_and_field_without_the_payload(mis, runtime):
    mis.post(factories.concern_raised(urgency="whenever"))
    with runtime.transaction() as session:
        rejected = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.rejected")).one()
    details = json.loads(rejected.details)
    assert details["reason"] == "schema" and "urgency" in details["errors"]["data"]
    assert factories.CONCERN_FACTS not in rejected.details and factories.PUPIL_GIVEN not in rejected.details


def test_an_untouched_chain_verifies(mis, runtime):
    for n in range(3):
        mis.post(factories.concern_raised(f"C-{n}"))
    with runtime.transaction() as session:
        result = audit.verify(session)
        rows = session.scalar(select(func.count()).select_from(AuditEvent))
    assert result.ok and result.events == rows >= 9 and result.first_bad is None


def test_an_altered_row_is_named_as_the_first_bad_event(mis, runtime):
    for n in range(3):
        mis.post(factories.concern_raised(f"C-{n}"))
    with runtime.transaction() as session:
        session.execute(text("UPDATE audit_events SET details = :d WHERE seq = 5"), {"d": '{"forged":true}'})

    with runtime.transaction() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad == 5


def test_an_altered_row_with_a_recomputed_hash_breaks_the_next_link(mis, runtime):
    for n in range(2):
        mis.post(factories.concern_raised(f"C-{n}"))
    with runtime.transaction() as session:
        row = session.get(AuditEvent, 2)
        forged = audit.chain_hash(row.seq, row.at, "someone-else", row.action, row.case_id, row.details, row.prev_hash)
        session.execute(text("UPDATE audit_events SET actor = 'someone-else', hash = :h WHERE seq = 2"), {"h": forged})

    with runtime.transaction() as session:
        assert audit.verify(session).first_bad == 3


def test_a_removed_row_is_found_where_the_chain_breaks(mis, runtime):
    for n in range(3):
        mis.post(factories.concern_raised(f"C-{n}"))
    with runtime.transaction() as session:
        session.execute(text("DELETE FROM audit_events WHERE seq = 4"))

    with runtime.transaction() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad == 5


def test_the_api_reports_a_tampered_chain(mis, runtime, api):
    mis.post(factories.concern_raised())
    assert api.get("/api/v1/audit/verify").get_json()["ok"] is True
    with runtime.transaction() as session:
        session.execute(text("UPDATE audit_events SET action = 'nothing.happened' WHERE seq = 1"))

    body = api.get("/api/v1/audit/verify").get_json()
    assert body["ok"] is False and body["first_bad"] == 1
