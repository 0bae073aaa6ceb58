"""An open step through the admin API: resend its link, reassign it; both on the record."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from infoshare_workflow.storage.models import AdminToken

from .. import factories
from ..audit_trail import audited
from ..workflow import DSL, DSL_EMAIL, MANAGER, consent_given, drain, latest_to, link_in, submit

OTHER_DSL, OTHER_DSL_EMAIL = "S-03", "s-03@school.example"
REASON = "DSL on leave this week"


@pytest.fixture
def admin(client, admin_token):
    """The admin API as an integrator calls it, with a valid bearer token."""

    def call(method, path, **kwargs):
        headers = {"Authorization": f"Bearer {admin_token}", **kwargs.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def case(mis, app, admin) -> dict:
    """A school with two DSLs and a manager, and one case as the API shows it (consent open, held by S-02)."""
    for staff_id, role in ((DSL, "dsl"), (OTHER_DSL, "dsl"), (MANAGER, "manager")):
        assert mis.post(factories.staff_upserted(staff_id, [role])).status_code == 202
    case_id = mis.post(factories.concern_raised("C-steps-api", assigned_dsl=DSL)).get_json()["case_id"]
    drain(app)
    return admin("GET", f"/api/v1/cases/{case_id}").get_json()


def step_path(case: dict, kind: str = "consent", action: str = "resend") -> str:
    step = next(s for s in case["steps"] if s["kind"] == kind)
    return f"/api/v1/cases/{case['case_id']}/steps/{step['id']}/{action}"


def token_name(runtime) -> str:
    with runtime.transaction() as session:
        return session.scalars(select(AdminToken.name)).one()


def test_a_case_shows_the_id_of_each_step(case):
    ids = [s["id"] for s in case["steps"]]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 3


@pytest.mark.parametrize("action", ["resend", "reassign"])
def test_both_need_a_token_and_answer_401_in_json(client, case, action):
    response = client.post(step_path(case, action=action), json={"staff_id": OTHER_DSL, "reason": REASON})
    assert response.status_code == 401 and response.is_json


# --- resend -----------------------------------------------------------------------------------

def test_resend_answers_the_step_and_only_the_fresh_link_works(admin, case, app, settings, client):
    old_link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))

    response = admin("POST", step_path(case))
    drain(app)

    assert response.status_code == 200 and response.is_json
    consent = case["steps"][0]
    assert response.get_json() == {**consent, "status": "open", "assignee": DSL}
    new_link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))
    assert client.get(old_link).status_code == 410
    assert client.get(new_link).status_code == 200


def test_resend_is_audited_with_the_tokens_name(admin, case, runtime):
    admin("POST", step_path(case))

    assert audited(runtime, "step.link_resent") == [(f"admin:{token_name(runtime)}", case["case_id"], {
        "step": "consent", "step_id": case["steps"][0]["id"], "assignee": DSL})]


def test_resending_a_pending_step_is_409_saying_it_is_not_open(admin, case, runtime):
    response = admin("POST", step_path(case, "consultation"))

    assert response.status_code == 409 and response.is_json
    assert "pending, not open" in response.get_json()["message"]
    assert audited(runtime, "step.link_resent") == []


def test_resending_an_answered_step_is_409(admin, case, settings, client):
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)), consent_given())

    response = admin("POST", step_path(case))

    assert response.status_code == 409 and "done, not open" in response.get_json()["message"]


# --- reassign ---------------------------------------------------------------------------------

def test_reassign_answers_the_step_with_its_new_assignee(admin, case):
    response = admin("POST", step_path(case, action="reassign"), json={"staff_id": OTHER_DSL, "reason": REASON})

    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert (body["id"], body["kind"], body["status"], body["assignee"]) == (
        case["steps"][0]["id"], "consent", "open", OTHER_DSL)


def test_a_reassigned_steps_old_link_is_410_and_the_new_assignees_link_works(admin, case, app, settings, client):
    old_link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))

    admin("POST", step_path(case, action="reassign"), json={"staff_id": OTHER_DSL, "reason": REASON})
    drain(app)

    assert client.get(old_link).status_code == 410
    new_link = link_in(latest_to(settings.outbox_dir, OTHER_DSL_EMAIL))
    assert client.get(new_link).status_code == 200
    assert submit(client, new_link, consent_given()).status_code == 303


def test_reassign_is_audited_with_the_tokens_name_and_the_case_shows_the_reason(admin, case, runtime):
    admin("POST", step_path(case, action="reassign"), json={"staff_id": OTHER_DSL, "reason": REASON})

    [shown] = admin("GET", f"/api/v1/cases/{case['case_id']}").get_json()["reassignments"]
    admin_name = f"admin:{token_name(runtime)}"
    assert {k: shown[k] for k in ("step_id", "actor", "reason")} == {
        "step_id": case["steps"][0]["id"], "actor": admin_name, "reason": REASON}
    # The trail is kept for good, so it names the reason's row (erased with the case), not its words.
    assert audited(runtime, "step.reassigned") == [(admin_name, case["case_id"], {
        "step": "consent", "step_id": case["steps"][0]["id"], "from": DSL, "to": OTHER_DSL,
        "reason": "admin_request", "reassignment_id": shown["id"]})]


@pytest.mark.parametrize("body, fields", [
    ({}, {"staff_id", "reason"}),
    ({"staff_id": OTHER_DSL, "reason": "   "}, {"reason"}),
    ({"staff_id": OTHER_DSL, "reason": REASON, "notify": True}, {"notify"}),
    ({"staff_id": 3, "reason": REASON}, {"staff_id"}),
    ({"staff_id": MANAGER, "reason": REASON}, {"staff_id"}),
    ({"staff_id": "S-404", "reason": REASON}, {"staff_id"}),
    ({"staff_id": DSL, "reason": REASON}, {"staff_id"}),
])
def test_a_bad_reassignment_is_422_naming_the_field_and_changes_nothing(admin, case, runtime, settings, client,
                                                                         body, fields):
    response = admin("POST", step_path(case, action="reassign"), json=body)

    assert response.status_code == 422 and response.is_json
    assert set(response.get_json()["errors"]) == fields
    assert audited(runtime, "step.reassigned") == []
    assert client.get(link_in(latest_to(settings.outbox_dir, DSL_EMAIL))).status_code == 200


def test_a_manager_is_refused_a_dsl_step_in_words(admin, case):
    response = admin("POST", step_path(case, action="reassign"), json={"staff_id": MANAGER, "reason": REASON})
    assert response.get_json()["errors"]["staff_id"] == [
        f"{MANAGER} is not an active designated safeguarding lead, whom the consent step needs."]


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '{"staff_id": "S-03", "staff_id": "S-02", "reason": "x"}'])
def test_a_body_that_is_not_one_json_object_is_400(admin, case, data):
    response = admin("POST", step_path(case, action="reassign"), data=data, content_type="application/json")
    assert response.status_code == 400 and response.is_json


def test_a_body_that_is_not_declared_json_is_415(admin, case):
    response = admin("POST", step_path(case, action="reassign"), content_type="text/plain",
                     data=json.dumps({"staff_id": OTHER_DSL, "reason": REASON}))
    assert response.status_code == 415 and response.is_json


def test_reassigning_a_pending_step_is_409(admin, case):
    response = admin("POST", step_path(case, "share", "reassign"), json={"staff_id": OTHER_DSL, "reason": REASON})
    assert response.status_code == 409 and "not open" in response.get_json()["message"]


# --- unknown case or step ---------------------------------------------------------------------

@pytest.mark.parametrize("action", ["resend", "reassign"])
def test_an_unknown_case_or_step_is_404_in_json(admin, case, mis, action):
    other = mis.post(factories.concern_raised("C-steps-other", assigned_dsl=DSL)).get_json()["case_id"]
    step_id = case["steps"][0]["id"]
    body = {"staff_id": OTHER_DSL, "reason": REASON}
    for path in (f"/api/v1/cases/IS-NOPE/steps/{step_id}/{action}",
                 f"/api/v1/cases/{case['case_id']}/steps/999999/{action}",
                 f"/api/v1/cases/{other}/steps/{step_id}/{action}",  # a step of another case
                 f"/api/v1/cases/{case['case_id']}/steps/one/{action}",
                 f"/api/v1/cases/{case['case_id']}/steps/{2**31}/{action}"):
        response = admin("POST", path, json=body)
        assert response.status_code == 404 and response.is_json, path
        assert response.get_json()["status"] == "error"


def test_the_openapi_document_describes_both_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    resend = paths["/api/v1/cases/{case_id}/steps/{step_id}/resend"]["post"]
    reassign = paths["/api/v1/cases/{case_id}/steps/{step_id}/reassign"]["post"]
    assert set(resend["responses"]) == {"200", "401", "404", "409", "429"}
    assert set(reassign["responses"]) == {"200", "400", "401", "404", "409", "413", "415", "422", "429"}
    assert reassign["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StepReassign"}
