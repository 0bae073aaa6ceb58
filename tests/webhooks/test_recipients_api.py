"""The recipient directory in the admin API: list, add, change, deactivate (never delete)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import AuditEvent, Disclosure, Recipient

from ..sharing.test_recipients import disclose_to

MASH = {"name": "Northshire MASH", "kind": "childrens_social_care", "email": "mash@northshire.gov.example"}


@pytest.fixture
def admin(client, admin_token):
    """The admin API as an integrator calls it, with a valid bearer token."""

    class Admin:
        def __call__(self, method, path, **kwargs):
            headers = {"Authorization": f"Bearer {admin_token}", **kwargs.pop("headers", {})}
            return client.open(path, method=method, headers=headers, **kwargs)

        def add(self, **overrides):
            response = self("POST", "/api/v1/recipients", json={**MASH, **overrides})
            assert response.status_code == 201, response.get_json()
            return response.get_json()

    return Admin()


def recipient_events(runtime):
    with runtime.transaction() as session:
        return [(e.action, json.loads(e.details)) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("recipient.%")).order_by(AuditEvent.seq))]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/recipients"), ("POST", "/api/v1/recipients"), ("PATCH", "/api/v1/recipients/1"),
    ("DELETE", "/api/v1/recipients/1"), ("PATCH", "/api/v1/recipients/nope"),
])
def test_every_route_needs_a_token_and_answers_401_in_json(client, runtime, method, path):
    response = client.open(path, method=method, json=MASH)
    assert response.status_code == 401 and response.is_json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_changes_nothing(client, admin_token, runtime):
    response = client.post("/api/v1/recipients", json=MASH, headers={"Authorization": f"Bearer {admin_token}x"})
    assert response.status_code == 401
    with runtime.transaction() as session:
        assert session.scalars(select(Recipient)).all() == []


def test_an_empty_directory_lists_no_items(admin):
    response = admin("GET", "/api/v1/recipients")
    assert response.status_code == 200 and response.get_json() == {"items": []}


def test_post_adds_an_active_recipient_and_answers_201_with_it(admin, runtime):
    response = admin("POST", "/api/v1/recipients", json=MASH)

    assert response.status_code == 201 and response.is_json
    body = response.get_json()
    assert body == {"id": body["id"], **MASH, "active": True}
    assert recipient_events(runtime) == [("recipient.added", {
        "recipient_id": body["id"], "name": MASH["name"], "kind": MASH["kind"], "active": True})]


def test_the_audit_event_names_the_admin_token_as_actor(admin, runtime):
    admin.add()
    with runtime.transaction() as session:
        actors = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "recipient.added")).all()
    assert len(actors) == 1 and actors[0].startswith("admin:test-")


def test_the_list_shows_every_entry_by_name_with_the_interface_fields(admin):
    police = admin.add(name="Northshire Police", kind="police", email="ppu@police.example")
    mash = admin.add()
    admin("DELETE", f"/api/v1/recipients/{police['id']}")

    items = admin("GET", "/api/v1/recipients").get_json()["items"]

    assert [i["id"] for i in items] == [mash["id"], police["id"]]
    assert set(items[0]) == {"id", "name", "kind", "email", "active"}
    assert [i["active"] for i in items] == [True, False]


def test_a_bad_body_is_422_naming_each_field(admin, runtime):
    response = admin("POST", "/api/v1/recipients", json={"name": "", "kind": "social_services",
                                                         "email": "not-an-address", "active": "yes", "fax": "01"})
    assert response.status_code == 422 and response.is_json
    body = response.get_json()
    assert body["status"] == "error" and body["message"]
    assert set(body["errors"]) == {"name", "kind", "email", "active", "fax"}
    with runtime.transaction() as session:
        assert session.scalars(select(Recipient)).all() == []


def test_missing_required_fields_are_422_naming_them(admin):
    response = admin("POST", "/api/v1/recipients", json={"name": "Northshire MASH"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"kind", "email"}


@pytest.mark.parametrize("data, status", [
    ("{not json", 400), ("[1, 2]", 400), ('"a string"', 400), ("null", 400),
])
def test_a_body_that_is_not_a_json_object_is_400_in_json(admin, data, status):
    response = admin("POST", "/api/v1/recipients", data=data, content_type="application/json")
    assert response.status_code == status and response.is_json
    assert response.get_json()["status"] == "error"


def test_a_body_that_is_not_declared_json_is_415_in_json(admin):
    response = admin("POST", "/api/v1/recipients", data=json.dumps(MASH), content_type="text/plain")
    assert response.status_code == 415 and response.is_json


def test_patch_changes_only_the_given_fields_and_answers_200_with_the_entry(admin, runtime):
    created = admin.add()

    response = admin("PATCH", f"/api/v1/recipients/{created['id']}", json={"email": "front-door@northshire.example"})

    assert response.status_code == 200
    assert response.get_json() == {**created, "email": "front-door@northshire.example"}
    assert recipient_events(runtime)[-1] == ("recipient.updated", {"recipient_id": created["id"], "fields": ["email"]})


@pytest.mark.parametrize("changes, field", [
    ({}, "_schema"), ({"kind": "mash"}, "kind"), ({"email": None}, "email"), ({"colour": "blue"}, "colour"),
    ({"active": 0}, "active"), ({"name": "x" * 201}, "name"),
])
def test_a_bad_patch_is_422_naming_the_field(admin, changes, field):
    created = admin.add()
    response = admin("PATCH", f"/api/v1/recipients/{created['id']}", json=changes)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert admin("GET", "/api/v1/recipients").get_json()["items"] == [created]


def test_a_patch_body_that_is_not_an_object_is_400(admin):
    created = admin.add()
    response = admin("PATCH", f"/api/v1/recipients/{created['id']}", data="[]", content_type="application/json")
    assert response.status_code == 400 and response.is_json


@pytest.mark.parametrize("recipient_id", ["999", "0", "abc", "1.5", "-1", "99999999999", "2147483648"])
def test_an_unknown_recipient_is_404_in_json(admin, recipient_id):
    admin.add()
    for method in ("PATCH", "DELETE"):
        response = admin(method, f"/api/v1/recipients/{recipient_id}", json={"name": "x"})
        assert response.status_code == 404 and response.is_json
        assert response.get_json()["status"] == "error"


def test_an_unknown_recipient_is_404_even_with_a_bad_body(admin):
    response = admin("PATCH", "/api/v1/recipients/999", json={"kind": "nope"})
    assert response.status_code == 404


def test_delete_deactivates_answers_204_and_is_audited(admin, runtime):
    created = admin.add()

    response = admin("DELETE", f"/api/v1/recipients/{created['id']}")

    assert response.status_code == 204 and response.get_data() == b""
    assert admin("GET", "/api/v1/recipients").get_json()["items"] == [{**created, "active": False}]
    assert recipient_events(runtime)[-1] == ("recipient.deactivated", {
        "recipient_id": created["id"], "name": MASH["name"], "kind": MASH["kind"]})
    with runtime.transaction() as session:
        assert audit.verify(session).ok


def test_delete_again_is_still_204_and_records_nothing_more(admin, runtime):
    created = admin.add()
    assert admin("DELETE", f"/api/v1/recipients/{created['id']}").status_code == 204
    assert admin("DELETE", f"/api/v1/recipients/{created['id']}").status_code == 204
    assert [a for a, _ in recipient_events(runtime)] == ["recipient.added", "recipient.deactivated"]


def test_delete_keeps_a_recipient_that_a_disclosure_names(admin, runtime, mis):
    created = admin.add()
    disclosure_id = disclose_to(runtime, mis, created["id"])

    assert admin("DELETE", f"/api/v1/recipients/{created['id']}").status_code == 204

    with runtime.transaction() as session:
        disclosure = session.get(Disclosure, disclosure_id)
        assert (disclosure.recipient.id, disclosure.recipient.active) == (created["id"], False)


def test_reactivate_brings_a_deactivated_recipient_back(admin):
    created = admin.add()
    admin("DELETE", f"/api/v1/recipients/{created['id']}")
    response = admin("POST", f"/api/v1/recipients/{created['id']}/reactivate")
    assert response.status_code == 200 and response.get_json()["active"] is True
    assert admin("POST", "/api/v1/recipients/999999/reactivate").status_code == 404


def test_patching_a_deactivated_recipient_says_so_and_changes_nothing(admin, runtime):
    created = admin.add()
    admin("DELETE", f"/api/v1/recipients/{created['id']}")

    response = admin("PATCH", f"/api/v1/recipients/{created['id']}", json={"email": "new@northshire.gov.example"})

    assert response.status_code == 409 and "deactivated" in response.get_json()["message"]
    assert admin("PATCH", f"/api/v1/recipients/{created['id']}", json={"active": True}).status_code == 409
    with runtime.transaction() as session:
        assert session.get(Recipient, created["id"]).email == MASH["email"]
        assert session.get(Recipient, created["id"]).active is False


def test_deactivating_by_patch_revokes_the_recipients_live_disclosures(admin, runtime, mis):
    created = admin.add()
    disclosure_id = disclose_to(runtime, mis, created["id"])

    assert admin("PATCH", f"/api/v1/recipients/{created['id']}", json={"active": False}).status_code == 200

    with runtime.transaction() as session:
        assert session.get(Disclosure, disclosure_id).revoked_at is not None


def test_the_openapi_document_describes_the_recipient_routes(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert set(doc["paths"]["/api/v1/recipients"]) == {"get", "post"}
    assert set(doc["paths"]["/api/v1/recipients/{id}"]) == {"patch", "delete"}
    assert "204" in doc["paths"]["/api/v1/recipients/{id}"]["delete"]["responses"]
    schemas = doc["components"]["schemas"]
    assert set(schemas["Recipient"]["properties"]) == {"id", "name", "kind", "email", "active"}
    assert set(schemas["RecipientCreate"]["required"]) == {"name", "kind", "email"}
    assert "police" in schemas["RecipientCreate"]["properties"]["kind"]["enum"]
    assert schemas["RecipientPatch"]["minProperties"] == 1 and "required" not in schemas["RecipientPatch"]
