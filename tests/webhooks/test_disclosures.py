"""A disclosure link alone is not enough: each reveal needs a one-time code emailed to the
recipient's address; a disclosure dies when revoked or when its recipient leaves the directory."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from infoshare_workflow.storage.models import AuditEvent, Disclosure, utcnow

from .. import factories
from ..audit_trail import actions
from ..concurrency import meeting_after, side_by_side
from ..workflow import (
    DSL_EMAIL,
    MANAGER_EMAIL,
    code_in,
    consent_given,
    drain,
    latest_to,
    link_in,
    read_outbox,
    reveal,
    set_up_school,
    share_form,
    submit,
)

CSC = "csc@council.example"


def shared(mis, runtime, app, settings, client) -> tuple[str, str, dict[str, int]]:
    """A case shared with children's social care: (its disclosure path, case id, recipient ids)."""
    recipients = set_up_school(mis, runtime)
    case_id = mis.post(factories.concern_raised("C-disc")).get_json()["case_id"]
    drain(app)
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)), consent_given())
    drain(app)
    submit(client, link_in(latest_to(settings.outbox_dir, MANAGER_EMAIL)), {"advice": "share", "rationale": "ok"})
    drain(app)
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)),
           share_form([recipients["csc"]], lawful_basis="consent", condition="explicit_consent",
                      items=["pupil_identity", "pupil_date_of_birth", "facts"]))
    drain(app)
    return link_in(latest_to(settings.outbox_dir, CSC)), case_id, recipients


def codes_sent(settings) -> list[str]:
    return [code_in(m) for m in read_outbox(settings.outbox_dir) if m["Subject"].startswith("Your code")]


def test_the_button_emails_a_code_to_the_recipient_and_reveals_nothing(mis, runtime, app, settings, client):
    path, case_id, _ = shared(mis, runtime, app, settings, client)

    page = client.post(path)
    drain(app)

    assert page.status_code == 200 and b'name="code"' in page.data
    assert factories.PUPIL_GIVEN.encode() not in page.data and factories.CONCERN_FACTS.encode() not in page.data
    email = latest_to(settings.outbox_dir, CSC)
    assert email["Subject"] == f"Your code for case {case_id} from {settings.school_name}"
    assert len(code_in(email)) == 6 and factories.PUPIL_GIVEN not in email.as_string()
    with runtime.transaction() as session:
        assert session.scalars(select(Disclosure.accessed_at)).one() is None
        stored = session.execute(select(Disclosure.__table__)).one()._asdict()
    assert code_in(email) not in json.dumps(stored, default=str)  # only the nonce is kept
    assert "disclosure.code_sent" in actions(runtime)


def test_the_emailed_code_reveals_the_items_and_each_reveal_is_audited(mis, runtime, app, settings, client):
    path, _, _ = shared(mis, runtime, app, settings, client)
    page = reveal(client, app, path, settings.outbox_dir, CSC)
    assert page.status_code == 200 and factories.PUPIL_GIVEN in page.get_data(as_text=True)
    assert "disclosure.received" in actions(runtime)


def test_a_code_works_once(mis, runtime, app, settings, client):
    path, _, _ = shared(mis, runtime, app, settings, client)
    reveal(client, app, path, settings.outbox_dir, CSC)
    again = client.post(path, data={"code": codes_sent(settings)[-1]})
    assert again.status_code == 422 and factories.PUPIL_GIVEN.encode() not in again.data
    assert b"Send a new code" in again.data


def test_five_wrong_codes_spend_the_code_even_the_right_one_after(mis, runtime, app, settings, client):
    path, _, _ = shared(mis, runtime, app, settings, client)
    client.post(path)
    drain(app)
    right = codes_sent(settings)[-1]
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    answers = [client.post(path, data={"code": wrong}) for _ in range(5)]
    after = client.post(path, data={"code": right})

    assert [a.status_code for a in answers] == [422] * 5
    assert b"4 left" in answers[0].data
    assert after.status_code == 422 and factories.PUPIL_GIVEN.encode() not in after.data
    assert actions(runtime).count("disclosure.code_failed") == 5
    with runtime.transaction() as session:  # a new code works again
        session.execute(update(Disclosure).values(code_sent_at=utcnow() - timedelta(minutes=1)))
    assert factories.PUPIL_GIVEN in reveal(client, app, path, settings.outbox_dir, CSC).get_data(as_text=True)


def test_a_code_older_than_ten_minutes_needs_a_new_one(mis, runtime, app, settings, client):
    path, _, _ = shared(mis, runtime, app, settings, client)
    client.post(path)
    drain(app)
    with runtime.transaction() as session:
        session.execute(update(Disclosure).values(code_expires_at=utcnow() - timedelta(seconds=1)))
    late = client.post(path, data={"code": codes_sent(settings)[-1]})
    assert late.status_code == 422 and factories.PUPIL_GIVEN.encode() not in late.data


def test_a_malformed_code_is_explained_and_spends_no_try(mis, runtime, app, settings, client):
    path, _, _ = shared(mis, runtime, app, settings, client)
    client.post(path)
    response = client.post(path, data={"code": "12ab"})
    assert response.status_code == 422 and b"six digits" in response.data
    with runtime.transaction() as session:
        assert session.scalars(select(Disclosure.code_tries)).one() == 0


def test_a_double_press_sends_one_code(mis, runtime, app, settings, client):
    path, _, _ = shared(mis, runtime, app, settings, client)
    client.post(path)
    second = client.post(path)
    drain(app)
    assert second.status_code == 200 and b"a moment ago" in second.data
    assert len(codes_sent(settings)) == 1


@pytest.mark.postgresql_only
def test_two_presses_at_the_same_moment_send_one_code(mis, runtime, app, settings, client):
    """Each press is held just after reading the disclosure until the other has read it too (or
    a second has passed, when it rightly waits for the other): both see no code sent yet."""
    path, _, _ = shared(mis, runtime, app, settings, client)
    outcomes = side_by_side(runtime, {"after_cursor_execute": meeting_after("SELECT disclosures", "press")},
                            press_1=lambda: app.test_client().post(path).status_code,
                            press_2=lambda: app.test_client().post(path).status_code)
    drain(app)

    assert outcomes == {"press_1": 200, "press_2": 200}
    assert len(codes_sent(settings)) == 1
    revealed = client.post(path, data={"code": codes_sent(settings)[0]})
    assert revealed.status_code == 200 and factories.PUPIL_GIVEN in revealed.get_data(as_text=True)  # it works


def test_a_disclosure_dies_when_its_recipient_is_deactivated(mis, runtime, app, settings, client, admin_token):
    path, _, recipients = shared(mis, runtime, app, settings, client)
    client.post(path)
    drain(app)
    code = codes_sent(settings)[-1]

    response = client.delete(f"/api/v1/recipients/{recipients['csc']}",
                             headers={"Authorization": f"Bearer {admin_token}"})

    assert response.status_code == 204
    assert client.get(path).status_code == 410
    assert client.post(path, data={"code": code}).status_code == 410
    with runtime.transaction() as session:
        revoked = session.scalars(select(AuditEvent).where(AuditEvent.action == "disclosure.revoked")).one()
        assert json.loads(revoked.details)["reason"] == "recipient_deactivated"


def test_an_admin_can_revoke_a_disclosure(mis, runtime, app, settings, client, admin_token):
    path, case_id, _ = shared(mis, runtime, app, settings, client)
    with runtime.transaction() as session:
        disclosure_id = session.scalars(select(Disclosure.id)).one()
    headers = {"Authorization": f"Bearer {admin_token}"}

    first = client.post(f"/api/v1/cases/{case_id}/disclosures/{disclosure_id}/revoke", headers=headers)
    again = client.post(f"/api/v1/cases/{case_id}/disclosures/{disclosure_id}/revoke", headers=headers)
    elsewhere = client.post(f"/api/v1/cases/IS-0000000000/disclosures/{disclosure_id}/revoke", headers=headers)

    assert first.status_code == 200 and first.get_json()["revoked_at"]
    assert again.get_json()["revoked_at"] == first.get_json()["revoked_at"]
    assert elsewhere.status_code == 404
    assert client.get(path).status_code == 410 and client.post(path).status_code == 410
    assert actions(runtime).count("disclosure.revoked") == 1
    case = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()
    assert case["disclosures"][0]["revoked_at"] == first.get_json()["revoked_at"]


@pytest.mark.postgresql_only
def test_two_revocations_at_the_same_moment_record_one(mis, runtime, app, settings, client, admin_token):
    """Each request is held just after reading the disclosure until the other has read it too (or
    a second has passed, when it rightly waits for the other): both see it live."""
    _, case_id, _ = shared(mis, runtime, app, settings, client)
    with runtime.transaction() as session:
        disclosure_id = session.scalars(select(Disclosure.id)).one()
    url = f"/api/v1/cases/{case_id}/disclosures/{disclosure_id}/revoke"
    headers = {"Authorization": f"Bearer {admin_token}"}
    outcomes = side_by_side(runtime, {"after_cursor_execute": meeting_after("SELECT disclosures", "admin")},
                            admin_1=lambda: app.test_client().post(url, headers=headers).status_code,
                            admin_2=lambda: app.test_client().post(url, headers=headers).status_code)

    assert outcomes == {"admin_1": 200, "admin_2": 200}
    assert actions(runtime).count("disclosure.revoked") == 1
