"""Legal hold and stopping a disposal through the admin API, audited with the token's name."""

from __future__ import annotations

from sqlalchemy import select

from infoshare_workflow.review import sweep
from infoshare_workflow.review.answers import Answer, record
from infoshare_workflow.storage.models import AuditEvent, Disposal, ReviewList

from ..review.school import DSL, Report, due_cases, no_progress, staff


def hold(api, case_id, **body):
    return api.put(f"/api/v1/cases/{case_id}/legal-hold", json=body)


def proposed(mis, runtime):
    staff(mis)
    [case_id] = due_cases(mis, runtime, 1)
    sweep.retention_sweep(runtime, 1, no_progress, Report())
    with runtime.transaction() as session:
        review = session.scalars(select(ReviewList).where(ReviewList.kind == "review")).one()
        record(session, review, {case_id: Answer("dispose", "Past its period")}, f"staff:{DSL}")
    return case_id


def test_a_hold_is_placed_and_lifted_with_a_reason_and_audited(mis, runtime, api, admin_token):
    staff(mis)
    [case_id] = due_cases(mis, runtime, 1)
    assert api.get(f"/api/v1/cases/{case_id}").get_json()["legal_hold_reason"] is None
    placed = hold(api, case_id, legal_hold=True, reason="Inquiry request of 29 November")
    assert placed.status_code == 200 and placed.get_json()["legal_hold"] is True
    assert api.get(f"/api/v1/cases/{case_id}").get_json()["legal_hold_reason"] == "Inquiry request of 29 November"
    assert sweep.retention_sweep(runtime, 1, no_progress, Report())["held"] == 1
    lifted = hold(api, case_id, legal_hold=False, reason="Inquiry closed")
    assert lifted.status_code == 200 and lifted.get_json()["legal_hold"] is False
    assert lifted.get_json()["legal_hold_reason"] == "Inquiry closed"
    with runtime.transaction() as session:
        events = [(e.actor, e.action) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("legal_hold.%")).order_by(AuditEvent.seq))]
    assert [action for _, action in events] == ["legal_hold.placed", "legal_hold.lifted"]
    assert all(actor.startswith("admin:") for actor, _ in events)


def test_a_hold_stops_a_disposal_under_way(mis, runtime, api):
    case_id = proposed(mis, runtime)
    assert hold(api, case_id, legal_hold=True, reason="Inquiry").get_json()["disposal"]["status"] == "cancelled"


def test_a_hold_needs_a_boolean_and_a_reason(mis, runtime, api):
    staff(mis)
    [case_id] = due_cases(mis, runtime, 1)
    wrong = hold(api, case_id, legal_hold="yes", reason="  ")
    assert wrong.status_code == 422 and set(wrong.get_json()["errors"]) == {"legal_hold", "reason"}
    assert hold(api, "IS-NOPE000000", legal_hold=True, reason="x").status_code == 404


def test_an_admin_can_stop_a_proposed_disposal(mis, runtime, api):
    case_id = proposed(mis, runtime)
    stopped = api.post(f"/api/v1/cases/{case_id}/disposal/cancel", json={"reason": "Wrong case"})
    assert stopped.status_code == 200 and stopped.get_json()["status"] == "closed"
    with runtime.transaction() as session:
        assert session.scalars(select(Disposal.status)).one() == "cancelled"
    again = api.post(f"/api/v1/cases/{case_id}/disposal/cancel", json={"reason": "Again"})
    assert again.status_code == 409
