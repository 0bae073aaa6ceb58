"""A way back from a dead link, and a confirmation page that only a real answer reaches.

A 410 for a task that is still open offers to email a fresh link to the person the task
belongs to (never to whoever asks), at most once per task per 10 minutes, audited. The
confirmation page is reached through a signed receipt: a made-up one shows nothing.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from .. import factories
from ..audit_trail import actions
from ..workflow import DSL_EMAIL, consent_given, csrf_of, drain, latest_to, link_in, read_outbox, set_up_school, submit


def consent_link(mis, runtime, app, settings, client):
    """The DSL's consent link, live: it offers no new-link button."""
    set_up_school(mis, runtime)
    mis.post(factories.concern_raised("C-dead"))
    drain(app)
    path = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))
    assert "/new-link" not in client.get(path).get_data(as_text=True)
    return path


def test_a_dead_link_to_an_open_task_offers_a_fresh_one_for_its_assignee_only(mis, runtime, app, settings, client):
    old = consent_link(mis, runtime, app, settings, client)
    from infoshare_workflow.sharing.resend import resend_link
    from infoshare_workflow.storage.models import Step

    with runtime.transaction() as session:
        resend_link(session, session.scalars(select(Step).where(Step.kind == "consent")).one(), actor="admin:ops")
    drain(app)
    before = len(read_outbox(settings.outbox_dir))

    gone = client.get(old)
    assert gone.status_code == 410
    html = gone.get_data(as_text=True)
    assert "Email a new link to the person this task belongs to" in html
    action = re.search(r'action="([^"]+/new-link)"', html).group(1)
    asked = client.post(action, data={"csrf_token": csrf_of(html)})
    drain(app)

    assert asked.status_code == 200 and "A new link is on its way" in asked.get_data(as_text=True)
    new = read_outbox(settings.outbox_dir)[before:]
    assert [m["To"] for m in new] == [DSL_EMAIL]  # the assignee, whoever asked
    fresh = link_in(new[0])
    assert fresh != old and client.get(fresh).status_code == 200
    again = client.post(action, data={"csrf_token": csrf_of(html)})
    assert "sent recently" in again.get_data(as_text=True)  # at most once per task per 10 minutes
    drain(app)
    assert len(read_outbox(settings.outbox_dir)) == before + 1
    assert actions(runtime, "step.link_") == ["step.link_resent", "step.link_requested"]


def test_an_answered_task_offers_no_new_link(mis, runtime, app, settings, client):
    old = consent_link(mis, runtime, app, settings, client)
    assert submit(client, old, consent_given()).status_code == 303
    gone = client.get(old)
    assert gone.status_code == 410 and "/new-link" not in gone.get_data(as_text=True)


def test_a_new_link_request_without_its_form_token_is_refused(mis, runtime, app, settings, client):
    old = consent_link(mis, runtime, app, settings, client)
    before = len(read_outbox(settings.outbox_dir))
    assert client.post(old + "/new-link", data={"csrf_token": "forged"}).status_code == 404
    drain(app)
    assert len(read_outbox(settings.outbox_dir)) == before


def test_the_confirmation_page_is_reached_only_through_its_signed_receipt(mis, runtime, app, settings, client):
    old = consent_link(mis, runtime, app, settings, client)
    answered = submit(client, old, consent_given())
    receipt_page = client.get(answered.headers["Location"])
    assert receipt_page.status_code == 200 and "Your answer is recorded" in receipt_page.get_data(as_text=True)

    for forged in ("/tasks/recorded?case_id=IS-FAKE123&step=share", "/tasks/recorded/IjEi.forged.sig",
                   "/tasks/recorded/" + answered.headers["Location"].rsplit("/", 1)[1][:-2] + "xx"):
        page = client.get(forged)
        text = page.get_data(as_text=True)
        assert page.status_code == 404, forged
        assert "IS-" not in text and "Your answer is recorded" not in text, forged
