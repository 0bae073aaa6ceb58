"""Task and disclosure links: signed, bound, expiring, single use; GET never changes anything."""

from __future__ import annotations

import time
from datetime import timedelta

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update

from infoshare_workflow.access.links import TASK_SALT
from infoshare_workflow.storage.models import Disclosure, TaskLink, utcnow

from .. import factories
from ..workflow import (
    DSL_EMAIL,
    MANAGER_EMAIL,
    consent_given,
    drain,
    latest_to,
    link_in,
    reveal,
    set_up_school,
    share_form,
    submit,
)

SCRIPT = "<script>alert('x')</script>"


def consent_path(mis, runtime, app, settings, **overrides):
    set_up_school(mis, runtime)
    mis.post(factories.concern_raised("C-link", **overrides))
    drain(app)
    return link_in(latest_to(settings.outbox_dir, DSL_EMAIL))


def link_id_of(path, settings):
    return URLSafeTimedSerializer(settings.secret_key, salt=TASK_SALT).loads(path.rsplit("/", 1)[1])


def test_a_forged_token_is_404_and_shows_no_case_data(client):
    response = client.get("/tasks/not-a-real-token")
    assert response.status_code == 404 and b"Zebedee" not in response.data


def test_a_token_signed_with_another_key_is_404(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    forged = URLSafeTimedSerializer("another key", salt=TASK_SALT).dumps(link_id_of(path, settings))
    assert client.get(f"/tasks/{forged}").status_code == 404


def test_a_task_token_cannot_open_a_disclosure(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    assert client.post(path.replace("/tasks/", "/disclosures/")).status_code == 404


def test_an_expired_signature_is_410(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    old = URLSafeTimedSerializer(settings.secret_key, salt=TASK_SALT)
    old.signer = type("S", (old.signer,), {"get_timestamp": lambda self: int(time.time()) - 8 * 86400})
    token = old.dumps(link_id_of(path, settings))
    response = client.get(f"/tasks/{token}")
    assert response.status_code == 410 and b"no longer works" in response.data


def test_a_link_past_its_stored_expiry_is_410(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    with runtime.transaction() as session:
        session.execute(update(TaskLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(path).status_code == 410


def test_a_used_link_is_410_for_get_and_post(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    assert submit(client, path, consent_given()).status_code == 303
    assert client.get(path).status_code == 410
    assert client.post(path, data=consent_given()).status_code == 410


def test_the_consent_link_cannot_answer_the_next_task(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    page = client.get(path).get_data(as_text=True)
    submit(client, path, consent_given())
    drain(app)
    from ..workflow import csrf_of

    again = client.post(path, data={"csrf_token": csrf_of(page), "advice": "share", "rationale": "x"})
    assert again.status_code == 410


def test_a_link_for_someone_no_longer_assigned_is_410(mis, runtime, app, settings, client):
    from infoshare_workflow.storage.models import Step

    path = consent_path(mis, runtime, app, settings)
    with runtime.transaction() as session:
        session.execute(update(Step).where(Step.kind == "consent").values(assignee="S-99"))
    assert client.get(path).status_code == 410


def test_get_changes_nothing_however_often_a_scanner_fetches_it(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    for _ in range(3):
        assert client.get(path).status_code == 200
    with runtime.transaction() as session:
        assert session.scalars(select(TaskLink.used_at)).all() == [None]
    assert submit(client, path, consent_given()).status_code == 303


def test_a_post_without_the_form_token_records_nothing(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    assert client.post(path, data=consent_given()).status_code == 400
    with runtime.transaction() as session:
        assert session.scalars(select(TaskLink.used_at)).all() == [None]


def test_pages_behind_tokens_send_the_privacy_and_security_headers(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings)
    for response in (client.get(path), client.get("/tasks/forged"), client.post(path, data={})):
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


def test_a_script_in_the_concern_renders_escaped_on_every_page(mis, runtime, app, settings, client):
    recipients = set_up_school(mis, runtime)
    mis.post(factories.concern_raised("C-xss", summary=SCRIPT, facts=SCRIPT, opinion=SCRIPT))
    drain(app)
    pages = []
    for address, form in ((DSL_EMAIL, consent_given()), (MANAGER_EMAIL, {"advice": "share", "rationale": SCRIPT})):
        path = link_in(latest_to(settings.outbox_dir, address))
        pages.append(client.get(path).get_data(as_text=True))
        submit(client, path, form)
        drain(app)
    share_path = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))
    pages.append(client.get(share_path).get_data(as_text=True))
    submit(client, share_path, share_form([recipients["csc"]], lawful_basis="consent", condition="explicit_consent",
                                          reasons=SCRIPT))
    drain(app)
    disclosure = link_in(latest_to(settings.outbox_dir, "csc@council.example"))
    pages.append(reveal(client, app, disclosure, settings.outbox_dir, "csc@council.example").get_data(as_text=True))
    for html in pages:
        assert SCRIPT not in html and "&lt;script&gt;" in html


def test_the_consultation_page_has_no_name_no_date_of_birth_and_no_contact(mis, runtime, app, settings, client):
    path = consent_path(mis, runtime, app, settings,
                        facts=f"{factories.PUPIL_GIVEN} told staff that {factories.CONTACT_NAME} was away")
    submit(client, path, consent_given())
    drain(app)
    html = client.get(link_in(latest_to(settings.outbox_dir, MANAGER_EMAIL))).get_data(as_text=True)
    for secret in (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.CONTACT_NAME, "Ottoline",
                   factories.PUPIL_DOB, "19 Jul 2013", "ottoline@example.org"):
        assert secret not in html
    assert "Year 7" in html and "[pupil] told staff" in html


def shared_disclosure(mis, runtime, app, settings, client, items):
    recipients = set_up_school(mis, runtime)
    mis.post(factories.concern_raised("C-disc"))
    drain(app)
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)), consent_given())
    drain(app)
    submit(client, link_in(latest_to(settings.outbox_dir, MANAGER_EMAIL)), {"advice": "share", "rationale": "ok"})
    drain(app)
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)),
           share_form([recipients["csc"]], lawful_basis="consent", condition="explicit_consent", items=items))
    drain(app)
    return link_in(latest_to(settings.outbox_dir, "csc@council.example"))


def test_a_disclosure_get_reveals_nothing_and_records_nothing(mis, runtime, app, settings, client):
    path = shared_disclosure(mis, runtime, app, settings, client, ["summary", "facts"])
    landing = client.get(path)
    assert landing.status_code == 200 and factories.CONCERN_FACTS.encode() not in landing.data
    assert b'<form method="post"' in landing.data
    with runtime.transaction() as session:
        assert session.scalars(select(Disclosure.accessed_at)).all() == [None]


def test_a_revealed_disclosure_shows_exactly_the_chosen_items_and_records_receipt_once(mis, runtime, app, settings,
                                                                                        client):
    path = shared_disclosure(mis, runtime, app, settings, client, ["summary", "facts"])
    first = reveal(client, app, path, settings.outbox_dir, "csc@council.example").get_data(as_text=True)
    with runtime.transaction() as session:
        received = session.scalars(select(Disclosure.accessed_at)).one()
    with runtime.transaction() as session:  # the next code may be sent at once
        session.execute(update(Disclosure).values(code_sent_at=utcnow() - timedelta(minutes=1)))
    second = reveal(client, app, path, settings.outbox_dir, "csc@council.example")

    assert factories.CONCERN_FACTS in first and factories.CONCERN_SUMMARY in first
    assert factories.CONCERN_OPINION not in first and factories.PUPIL_GIVEN not in first
    assert received is not None and second.status_code == 200 and factories.CONCERN_FACTS in second.get_data(
        as_text=True)
    with runtime.transaction() as session:
        assert session.scalars(select(Disclosure.accessed_at)).one() == received


def test_an_expired_disclosure_is_410(mis, runtime, app, settings, client):
    path = shared_disclosure(mis, runtime, app, settings, client, ["summary"])
    with runtime.transaction() as session:
        session.execute(update(Disclosure).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(path).status_code == 410 and client.post(path).status_code == 410


def test_the_disclosure_snapshot_hash_matches_its_content(mis, runtime, app, settings, client):
    from infoshare_workflow.sharing.decision import snapshot_hash

    shared_disclosure(mis, runtime, app, settings, client, ["summary", "opinion"])
    with runtime.transaction() as session:
        disclosure = session.scalars(select(Disclosure)).one()
        assert set(disclosure.content) == {"summary", "opinion"}
        assert disclosure.snapshot_hash == snapshot_hash(disclosure.content)
