"""POST /webhooks/mis, row by row of INTERFACES.md §1's table, on PostgreSQL and SQLite."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from infoshare_workflow.storage.models import (
    AuditEvent,
    Case,
    ChronologyEntry,
    ClosureDate,
    Concern,
    ReceivedEvent,
    Staff,
    Step,
)

from .. import factories


def count(runtime: Any, model: Any) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def rejections(runtime: Any) -> list[str]:
    """Refusal reasons in the audit trail, once the current minute's counts are written there."""
    import json
    from datetime import timedelta

    from infoshare_workflow.cases.rejections import flush_tallies
    from infoshare_workflow.storage.models import utcnow

    flush_tallies(runtime.sessions, now=utcnow() + timedelta(minutes=1))
    with runtime.transaction() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.rejected")).all()
        return [json.loads(r.details)["reason"] for r in rows]


def test_a_new_concern_is_accepted_and_opens_a_case_with_three_steps(mis, runtime):
    response = mis.post(factories.concern_raised("C-2026-000123"), msg_id="msg_one")

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "accepted" and body["event_id"] == "msg_one"
    with runtime.transaction() as session:
        case = session.scalars(select(Case)).one()
        assert body["case_id"] == case.case_id
        assert case.concern.concern_id == "C-2026-000123"
        steps = {s.kind: s for s in session.scalars(select(Step).where(Step.case_pk == case.id))}
        assert {k: s.status for k, s in steps.items()} == {"consent": "open", "consultation": "pending", "share": "pending"}
        assert steps["consent"].due_at is not None
        assert session.get(ReceivedEvent, "msg_one").case_id == case.case_id


def test_the_same_webhook_id_again_is_a_duplicate_naming_the_existing_case(mis, runtime):
    event = factories.concern_raised()
    first = mis.post(event, msg_id="msg_dup").get_json()

    again = mis.post(event, msg_id="msg_dup")

    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "event_id": "msg_dup", "case_id": first["case_id"]}
    assert count(runtime, Case) == 1


def test_a_known_concern_under_a_new_webhook_id_is_a_duplicate(mis, runtime):
    first = mis.post(factories.concern_raised("C-1"), msg_id="msg_a").get_json()

    again = mis.post(factories.concern_raised("C-1", summary="resent"), msg_id="msg_b")

    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "event_id": "msg_b", "case_id": first["case_id"]}
    assert count(runtime, Case) == 1 and count(runtime, Concern) == 1


def test_a_body_that_is_not_json_is_400(mis, runtime):
    response = mis.post(b"{not json")
    assert response.status_code == 400
    assert response.get_json()["status"] == "invalid"
    assert rejections(runtime) == ["not_json"]


def test_a_json_body_that_is_not_an_object_is_400(mis):
    response = mis.post(b"[1, 2, 3]")
    assert response.status_code == 400
    assert "object" in response.get_json()["message"]


def test_a_missing_signature_is_401(client, runtime):
    response = client.post("/webhooks/mis", data=factories.body_of(factories.concern_raised()),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["status"] == "unauthorized"
    assert count(runtime, Case) == 0 and rejections(runtime) == ["signature"]


def test_a_wrong_signature_is_401(client, settings):
    body = factories.body_of(factories.concern_raised())
    headers = factories.signed_headers("whsec_" + "A" * 43 + "=", body)
    assert client.post("/webhooks/mis", data=body, headers=headers).status_code == 401


def test_a_signature_over_another_body_is_401(client, settings):
    headers = factories.signed_headers(settings.mis_webhook_secret, b'{"type": "x"}')
    body = factories.body_of(factories.concern_raised())
    assert client.post("/webhooks/mis", data=body, headers=headers).status_code == 401


def test_any_one_valid_signature_passes_so_secrets_can_rotate(client, settings, runtime):
    body = factories.body_of(factories.concern_raised())
    headers = factories.signed_headers(settings.mis_webhook_secret, body)
    headers["webhook-signature"] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + headers["webhook-signature"]
    assert client.post("/webhooks/mis", data=body, headers=headers).status_code == 202


def test_a_timestamp_over_five_minutes_old_is_401(mis, runtime):
    response = mis.post(factories.concern_raised(), timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert count(runtime, Case) == 0


def test_a_timestamp_over_five_minutes_ahead_is_401(mis):
    assert mis.post(factories.concern_raised(), timestamp=int(time.time()) + 301).status_code == 401


def test_a_timestamp_within_tolerance_is_accepted(mis):
    assert mis.post(factories.concern_raised(), timestamp=int(time.time()) - 290).status_code == 202


def test_the_401_message_does_not_say_which_part_failed(mis):
    stale = mis.post(factories.concern_raised(), timestamp=int(time.time()) - 1000).get_json()
    assert stale == {"status": "unauthorized", "message": "Signature verification failed."}


def test_a_body_over_256_kib_is_413(mis, runtime):
    event = factories.concern_raised(facts="x" * (260 * 1024))
    response = mis.post(event)
    assert response.status_code == 413
    assert response.get_json()["status"] == "invalid"
    assert count(runtime, Case) == 0 and rejections(runtime) == ["too_large"]


def test_a_content_type_other_than_json_is_415(client, settings, runtime):
    body = factories.body_of(factories.concern_raised())
    headers = factories.signed_headers(settings.mis_webhook_secret, body, content_type="text/plain")
    response = client.post("/webhooks/mis", data=body, headers=headers)
    assert response.status_code == 415
    assert response.get_json()["status"] == "invalid"
    assert rejections(runtime) == ["content_type"]


def test_json_with_a_charset_parameter_is_accepted(client, settings):
    body = factories.body_of(factories.concern_raised())
    headers = factories.signed_headers(settings.mis_webhook_secret, body,
                                       content_type="application/json; charset=utf-8")
    assert client.post("/webhooks/mis", data=body, headers=headers).status_code == 202


def test_schema_errors_are_422_and_name_each_field(mis, runtime):
    event = factories.concern_raised(urgency="whenever", pupil={"date_of_birth": "not a date"})
    del event["data"]["facts"]

    response = mis.post(event)

    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors["data"]) == {"urgency", "facts", "pupil"}
    assert "date_of_birth" in errors["data"]["pupil"]
    assert count(runtime, Case) == 0 and count(runtime, ReceivedEvent) == 0
    assert rejections(runtime) == ["schema"]


def test_an_unknown_type_is_422(mis):
    response = mis.post(factories.envelope("concern.deleted", {}))
    assert response.status_code == 422
    assert "type" in response.get_json()["errors"]


def test_unknown_keys_are_rejected_not_dropped(mis, runtime):
    event = factories.concern_raised(colour="red", pupil={"nickname": "Z"})
    errors = mis.post(event).get_json()["errors"]
    assert errors["data"]["colour"] == ["Unknown field."]
    assert errors["data"]["pupil"]["nickname"] == ["Unknown field."]
    assert count(runtime, Case) == 0


def test_a_summary_over_500_characters_is_422(mis):
    errors = mis.post(factories.concern_raised(summary="s" * 501)).get_json()["errors"]
    assert "summary" in errors["data"]


def test_an_update_for_an_unknown_concern_is_422_and_stores_nothing(mis, runtime):
    response = mis.post(factories.concern_updated("C-none", urgency="high"))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"data": {"concern_id": ["Unknown concern."]}}
    assert count(runtime, ReceivedEvent) == 0


def test_an_unreachable_database_is_503_with_retry_after(settings):
    from dataclasses import replace

    from infoshare_workflow.service.app import create_app
    from tests.conftest import MisSender

    down = replace(settings, database_url="postgresql://root@127.0.0.1:1/nowhere")
    client = create_app(down).test_client()

    response = MisSender(client, settings.mis_webhook_secret).post(factories.concern_raised())

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert int(response.headers["Retry-After"]) > 0


def test_concern_updated_appends_to_the_chronology_and_a_raised_urgency_brings_due_dates_forward(mis, runtime):
    case_id = mis.post(factories.concern_raised("C-up", urgency="standard")).get_json()["case_id"]
    with runtime.transaction() as session:
        before = session.scalars(select(Step).where(Step.kind == "consent")).one().due_at

    response = mis.post(factories.concern_updated("C-up", facts_addendum="Also seen on Tuesday", urgency="high"))

    assert response.status_code == 202 and response.get_json()["case_id"] == case_id
    with runtime.transaction() as session:
        kinds = [e.kind for e in session.scalars(select(ChronologyEntry).order_by(ChronologyEntry.id))]
        assert kinds == ["concern_raised", "facts_addendum", "urgency_changed"]
        case = session.scalars(select(Case)).one()
        assert case.urgency == "high"
        after = session.scalars(select(Step).where(Step.kind == "consent")).one().due_at
        assert after < before


def test_staff_upserted_sets_roles_and_routes_new_cases_round_robin(mis, runtime):
    for staff_id in ("S-02", "S-03"):
        assert mis.post(factories.staff_upserted(staff_id, ["dsl"])).status_code == 202
    mis.post(factories.staff_upserted("S-09", ["manager"]))

    dsls = []
    for n in range(4):
        case_id = mis.post(factories.concern_raised(f"C-rr-{n}")).get_json()["case_id"]
        with runtime.transaction() as session:
            dsls.append(session.scalars(select(Case).where(Case.case_id == case_id)).one().dsl_staff_id)

    assert sorted(dsls) == ["S-02", "S-02", "S-03", "S-03"]
    with runtime.transaction() as session:
        assert session.get(Staff, "S-09").role_names == {"manager"}


def test_a_concern_naming_an_active_dsl_goes_to_that_dsl(mis, runtime):
    for staff_id in ("S-02", "S-03"):
        mis.post(factories.staff_upserted(staff_id, ["dsl"]))
    for n in range(3):
        mis.post(factories.concern_raised(f"C-named-{n}", assigned_dsl="S-03"))
    with runtime.transaction() as session:
        assert {c.dsl_staff_id for c in session.scalars(select(Case))} == {"S-03"}


def test_pupil_updated_replaces_the_contact_list(mis, runtime):
    mis.post(factories.concern_raised())
    new = factories.pupil(contacts=[{"name": "Carer One"}, {"name": "Carer Two", "parental_responsibility": True}])
    assert mis.post(factories.envelope("pupil.updated", {"pupil": new})).status_code == 202
    from infoshare_workflow.storage.models import Pupil

    with runtime.transaction() as session:
        contacts = session.scalars(select(Pupil)).one().contacts
        assert [c.name for c in contacts] == ["Carer One", "Carer Two"]


def test_calendar_closures_are_stored_once_each(mis, runtime):
    mis.post(factories.envelope("calendar.closures", {"dates": ["2026-12-21", "2026-12-22"]}))
    mis.post(factories.envelope("calendar.closures", {"dates": ["2026-12-22", "2026-12-23"]}))
    assert count(runtime, ClosureDate) == 3
