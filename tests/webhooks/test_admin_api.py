"""The admin API: bearer tokens, case pages newest first, one case with its steps, audit."""

from __future__ import annotations

import json

from infoshare_workflow.access.admin_tokens import digest

from .. import factories
from ..parking import park, post_unapplied, spoil


def open_cases(mis, n, **overrides):
    return [mis.post(factories.concern_raised(f"C-api-{i}", **overrides)).get_json()["case_id"] for i in range(n)]


def test_no_token_is_401_in_json(client):
    response = client.get("/api/v1/cases")
    assert response.status_code == 401 and response.is_json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_is_401(client, admin_token):
    response = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {admin_token}x"})
    assert response.status_code == 401


def test_tokens_are_stored_only_as_a_hash(runtime, admin_token):
    from sqlalchemy import select

    from infoshare_workflow.storage.models import AdminToken

    with runtime.transaction() as session:
        stored = session.scalars(select(AdminToken.token_hash)).all()
    assert stored == [digest(admin_token)] and admin_token not in stored


def test_cases_come_newest_first_in_pages_with_a_cursor(mis, api):
    created = open_cases(mis, 5)

    first = api.get("/api/v1/cases?limit=2").get_json()
    second = api.get(f"/api/v1/cases?limit=2&cursor={first['next_cursor']}").get_json()
    third = api.get(f"/api/v1/cases?limit=2&cursor={second['next_cursor']}").get_json()

    seen = [c["case_id"] for page in (first, second, third) for c in page["items"]]
    assert seen == list(reversed(created))
    assert third["next_cursor"] is None


def test_cases_filter_by_status(mis, api):
    open_cases(mis, 2)
    assert len(api.get("/api/v1/cases?status=open").get_json()["items"]) == 2
    assert api.get("/api/v1/cases?status=closed").get_json()["items"] == []


def test_bad_query_arguments_are_422_naming_the_field(api):
    response = api.get("/api/v1/cases?limit=0&status=lost&cursor=%%%")
    assert response.status_code == 422
    assert {"limit", "status"} <= set(response.get_json()["errors"])


def test_a_bad_cursor_is_422(api):
    response = api.get("/api/v1/cases?cursor=bm90IGpzb24")
    assert response.status_code == 422 and "cursor" in response.get_json()["errors"]


def test_one_case_shows_consent_open_and_the_other_steps_pending(mis, api):
    case_id = open_cases(mis, 1, threshold="child_protection")[0]

    body = api.get(f"/api/v1/cases/{case_id}").get_json()

    assert body["case_id"] == case_id and body["concern_id"] == "C-api-0"
    assert (body["status"], body["outcome"], body["urgency"]) == ("open", None, "standard")
    assert body["retention_category"] == "child_protection"
    assert body["review_on"] == "2038-07-19"  # date of birth + 25 years
    assert [(s["kind"], s["status"]) for s in body["steps"]] == [
        ("consent", "open"), ("consultation", "pending"), ("share", "pending")]
    assert body["steps"][0]["due_at"] and body["steps"][0]["reminders_sent"] == 0
    assert body["decisions"] == {"consent": [], "consultation": [], "share": [], "reconsideration": []}
    assert body["legal_hold"] is False


def test_a_case_shows_no_personal_data(mis, api):
    case_id = open_cases(mis, 1)[0]
    raw = api.get(f"/api/v1/cases/{case_id}").get_data(as_text=True)
    for secret in (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.CONCERN_FACTS):
        assert secret not in raw


def test_an_unknown_case_is_404_in_json(api):
    response = api.get("/api/v1/cases/IS-NOPE")
    assert response.status_code == 404 and response.is_json


def test_a_case_audit_lists_its_events_in_order(mis, api):
    case_id = open_cases(mis, 1)[0]
    items = api.get(f"/api/v1/cases/{case_id}/audit").get_json()["items"]
    assert [i["action"] for i in items] == ["case.opened", "step.opened", "step.unassigned", "event.accepted"]
    assert [i["seq"] for i in items] == sorted(i["seq"] for i in items)
    assert items[0]["details"]["concern_id"] == "C-api-0"


def test_audit_verify_reports_the_chain(mis, api):
    open_cases(mis, 2)
    body = api.get("/api/v1/audit/verify").get_json()
    assert body["ok"] is True and body["events"] >= 6 and len(body["head"]) == 64 and body["first_bad"] is None


def test_the_openapi_document_describes_the_webhook_and_the_api(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert {"/webhooks/mis", "/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/audit/verify"} <= set(doc["paths"])
    concern = doc["components"]["schemas"]["concern_raised"]
    assert {"concern_id", "facts", "opinion", "pupil"} <= set(concern["properties"])
    assert "facts" in concern["required"]
    assert doc["components"]["schemas"]["Case"]["properties"]["steps"]


def test_an_unknown_path_or_method_under_the_api_answers_json(api):
    for response in (api.get("/api/v1/nope"), api.get("/api/v1/audit")):
        assert response.status_code in (404, 405) and response.is_json


def test_a_case_accepted_but_not_yet_applied_reads_as_received(client, settings, api):
    accepted = post_unapplied(client, settings, factories.concern_raised("C-recv"))

    response = api.get(f"/api/v1/cases/{accepted['case_id']}")

    assert response.status_code == 200
    body = response.get_json()
    assert (body["case_id"], body["concern_id"], body["status"]) == (accepted["case_id"], "C-recv", "received")
    assert body["received_at"] and body["parked"] is False and body["steps"] == []


def test_a_parked_case_reads_as_received_and_parked_with_the_reason_class_only(client, settings, runtime, api):
    accepted = post_unapplied(client, settings, factories.concern_raised("C-parked"))
    spoil(runtime, "C-parked")
    park(runtime)

    body = api.get(f"/api/v1/cases/{accepted['case_id']}").get_json()

    assert (body["status"], body["parked"], body["parked_reason"]) == ("received", True, "InvalidToken")
    assert body["apply_attempts"] == 10
    assert factories.CONCERN_SUMMARY not in json.dumps(body)


def test_an_applied_case_shows_when_it_was_received(mis, api):
    case_id = open_cases(mis, 1)[0]
    body = api.get(f"/api/v1/cases/{case_id}").get_json()
    assert body["status"] == "open" and body["parked"] is False and body["received_at"] <= body["opened_at"]


def test_every_json_response_is_not_cached_nor_sniffed(client, api, mis):
    responses = [api.get("/api/v1/cases"), api.get("/api/v1/cases/IS-NOPE"), client.get("/api/v1/cases"),
                 mis.post(factories.staff_upserted("S-02", ["dsl"])), client.get("/healthz"),
                 client.put("/api/v1/cases")]
    for response in responses:
        assert response.is_json
        assert response.headers["Cache-Control"] == "no-store", response.request.path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_wrong_method_is_405_naming_the_allowed_ones(client, api):
    response = api.get("/api/v1/audit/verify")
    assert response.status_code == 200
    wrong = client.delete("/api/v1/cases")
    assert wrong.status_code == 405 and wrong.is_json
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET"}
    assert client.put("/api/v1/recipients/1").headers["Allow"]


def test_the_openapi_document_lists_401_on_every_protected_operation_and_the_cursor_format(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    protected = [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()
                 if op.get("security")]
    assert len(protected) >= 10
    for path, method, op in protected:
        assert {"401", "429"} <= set(op["responses"]), (path, method)
        assert ("413" in op["responses"]) == ("requestBody" in op), (path, method)  # the body cap
    cursor = next(p for p in doc["paths"]["/api/v1/cases"]["get"]["parameters"] if p["name"] == "cursor")
    assert cursor["schema"]["pattern"] and "next_cursor" in cursor["description"]


def test_each_read_of_a_case_is_audited_with_the_tokens_name(mis, api, runtime, admin_token):
    from sqlalchemy import select

    from infoshare_workflow.storage.models import AdminToken, AuditEvent

    case_id = open_cases(mis, 1)[0]
    api.get(f"/api/v1/cases/{case_id}")
    api.get(f"/api/v1/cases/{case_id}/audit")
    api.get("/api/v1/cases")
    with runtime.transaction() as session:
        name = session.scalars(select(AdminToken.name)).one()
        reads = [(e.actor, e.action, e.case_id) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(["case.read", "case.audit_read", "cases.listed"]))
            .order_by(AuditEvent.seq))]
        listed = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "cases.listed")).one()
    assert reads == [(f"admin:{name}", "case.read", case_id), (f"admin:{name}", "case.audit_read", case_id),
                     (f"admin:{name}", "cases.listed", None)]
    assert json.loads(listed)["case_ids"] == [case_id]
    assert admin_token not in str(reads)


def test_the_case_list_shows_what_each_case_waits_on_and_for_whom(mis, api):
    mis.post(factories.staff_upserted("S-02", ["dsl"]))
    waiting, = open_cases(mis, 1)

    item = api.get("/api/v1/cases").get_json()["items"][0]
    one = api.get(f"/api/v1/cases/{waiting}").get_json()

    assert item["case_id"] == waiting
    assert item["waiting_on"]["kind"] == "consent" and item["waiting_on"]["assignee"] == "S-02"
    assert item["waiting_on"]["due_at"] == one["steps"][0]["due_at"] and item["waiting_on"]["overdue"] is False
    assert one["waiting_on"] == item["waiting_on"]


def test_a_case_waiting_on_nobody_says_so(client, settings, api):
    accepted = post_unapplied(client, settings, factories.concern_raised("C-nobody"))
    assert api.get(f"/api/v1/cases/{accepted['case_id']}").get_json()["waiting_on"] is None


def test_with_no_worker_running_a_case_reads_as_received_from_its_202(web, settings, runtime):
    """gunicorn alone, as when every worker is down: the id the 202 gave is never a 404."""
    import requests

    from infoshare_workflow.access.admin_tokens import create_token

    with runtime.transaction() as session:
        token = create_token(session, "ops")
    body = factories.body_of(factories.concern_raised("C-no-worker"))
    accepted = requests.post(f"{web.url}/webhooks/mis", data=body, timeout=10,
                             headers=factories.signed_headers(settings.mis_webhook_secret, body))
    assert accepted.status_code == 202

    read = requests.get(f"{web.url}/api/v1/cases/{accepted.json()['case_id']}", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})

    assert read.status_code == 200
    assert read.json()["status"] == "received" and read.json()["received_at"]
