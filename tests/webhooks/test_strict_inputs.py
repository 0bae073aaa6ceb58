"""Strict inputs: one value per key, booleans that are booleans, a size limit however the body comes."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from infoshare_workflow.storage.models import ReceivedEvent, Recipient, Staff

from .. import factories


def stored_events(runtime) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(ReceivedEvent))


def test_a_repeated_key_in_an_event_is_400_and_never_makes_a_dsl(mis, runtime):
    body = (b'{"type": "staff.upserted", "timestamp": "2026-11-24T09:00:00+00:00", "data": {"staff_id": "S-66", '
            b'"name": "X", "email": "x@school.example", "roles": ["staff"], "roles": ["dsl"], "active": true}}')
    response = mis.post(body)
    assert response.status_code == 400 and '"roles"' in response.get_json()["message"]
    assert stored_events(runtime) == 0
    with runtime.transaction() as session:
        assert session.get(Staff, "S-66") is None


@pytest.mark.parametrize("active", ["yes", "true", 1, 0, None])
def test_active_must_be_a_json_boolean(mis, runtime, active):
    response = mis.post(factories.staff_upserted("S-67", ["dsl"], active=active))
    assert response.status_code == 422 and "active" in response.get_json()["errors"]["data"]
    assert stored_events(runtime) == 0


def test_parental_responsibility_must_be_a_json_boolean(mis, runtime):
    event = factories.concern_raised("C-bool", pupil={"contacts": [{"name": "A B", "parental_responsibility": "y"}]})
    assert mis.post(event).status_code == 422


def test_a_repeated_key_in_an_admin_api_body_is_400(client, admin_token, runtime):
    response = client.post("/api/v1/recipients", headers={"Authorization": f"Bearer {admin_token}"},
                           data=b'{"name": "A", "kind": "police", "email": "a@police.example", "active": true, '
                                b'"active": false}', content_type="application/json")
    assert response.status_code == 400 and "appears twice" in response.get_json()["message"]
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Recipient)) == 0


def test_a_chunked_body_over_256_kib_is_413_not_401(web, runtime):
    def chunks():
        for _ in range(300):
            yield b"x" * 1024

    response = requests.post(f"{web.url}/webhooks/mis", data=chunks(), timeout=30,
                             headers={"Content-Type": "application/json", "webhook-id": "msg_big",
                                      "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"})
    assert response.status_code == 413 and response.json()["status"] == "invalid"


def test_a_chunked_body_under_the_limit_is_read_whole(web, settings, runtime):
    body = factories.body_of(factories.staff_upserted("S-68", ["dsl"]))

    response = requests.post(f"{web.url}/webhooks/mis", data=iter([body[:10], body[10:]]), timeout=30,
                             headers=factories.signed_headers(settings.mis_webhook_secret, body))
    assert response.status_code == 202
