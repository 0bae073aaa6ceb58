"""Personal data and link tokens go only where they must: a whole case run through the deployed
shape, then every answer, log line, metric, email and audit detail searched for them.

gunicorn serves every request (the webhook, the admin API, the pages); a real Celery worker
with beat sends the emails to a real SMTP server; PostgreSQL holds the record. The case is
the full path: a concern, consent refused, the manager's advice, a share with the family
told (a sharing notice), and the recipient opening the disclosure with its emailed code.

Where personal data may appear: the task pages the DSL and the manager open (the DSL's shows
the case; the manager's is pseudonymised) and the disclosure the recipient opens: nowhere else.
A link token may appear in the one email that carries it and on its own page (the form posts
back to it): nowhere else, not in another email, a log, a metric or an audit detail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from infoshare_workflow.access.admin_tokens import create_token
from infoshare_workflow.storage.models import AuditEvent

from .. import factories
from ..conftest import REDIS_URL, WorkerProcess
from ..tasks.test_workflow_end_to_end import Mailbox
from ..test_personal_data import SECRETS
from ..workflow import DSL, DSL_EMAIL, LINK, MANAGER, MANAGER_EMAIL, code_in, csrf_of, share_form, text_of

pytestmark = pytest.mark.postgresql_only

CSC = "csc@council.example"
RECORDED = {factories.CONTACT_NAME, factories.PUPIL_FAMILY}  # the consent record's party_name, and the surname in it
MOTHER = "ottoline@example.org"
REFUSED_BY_MOTHER = {"outcome": "refused", "party": "parent_carer", "party_name": factories.CONTACT_NAME,
                     "sought_at": "2026-11-24T10:00"}


@pytest.fixture
def settings(settings, smtp):
    return replace(settings, broker_url=REDIS_URL, smtp_url=smtp[1], dispatch_interval=1, outbox_lease_seconds=6)


@pytest.fixture
def live_worker(settings, runtime, tmp_path: Path) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(settings, tmp_path / "worker.log", beat=True)
    proc.start()
    yield proc
    proc.kill()


@dataclass
class Seen:
    """One answer the web process gave: what was asked, and everything that came back."""

    method: str
    path: str
    status: int
    text: str


class Browser:
    """Every request through gunicorn, every answer kept for the search."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.seen: list[Seen] = []

    def open(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(method, self.url + path, timeout=30, allow_redirects=False, **kwargs)
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.seen.append(Seen(method, path, response.status_code, f"{headers}\n\n{response.text}"))
        return response

    def webhook(self, secret: str, event: dict[str, Any]) -> requests.Response:
        body = factories.body_of(event)
        response = self.open("POST", "/webhooks/mis", data=body, headers=factories.signed_headers(secret, body))
        assert response.status_code == 202, response.text
        return response

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.open(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def answer(self, path: str, form: dict[str, Any]) -> None:
        page = self.open("GET", path)
        assert page.status_code == 200, page.status_code
        done = self.open("POST", path, data={"csrf_token": csrf_of(page.text), **form})
        assert done.status_code == 303, done.text[-2000:]
        self.open("GET", done.headers["Location"].removeprefix(self.url).removeprefix("http://localhost:5000"))


def task_path(mail: Mailbox, address: str) -> str:
    found = LINK.search(text_of(mail.next(address)))
    assert found
    return found.group(1)


def test_no_answer_log_metric_email_or_audit_detail_holds_personal_data_or_a_token(
        web, live_worker, settings, runtime, smtp):
    inbox = smtp[0]
    with runtime.transaction() as session:
        browser = Browser(web.url, create_token(session, "leaks"))
    secret = settings.mis_webhook_secret
    mail = Mailbox(inbox)
    browser.webhook(secret, factories.staff_upserted(DSL, ["dsl"]))
    browser.webhook(secret, factories.staff_upserted(MANAGER, ["manager"]))
    csc = browser.api("POST", "/api/v1/recipients", json={"name": "Children's Social Care",
                                                          "kind": "childrens_social_care", "email": CSC})
    assert csc.status_code == 201, csc.text
    case_id = browser.webhook(secret, factories.concern_raised("C-leak-1")).json()["case_id"]

    pages = {}  # token path -> the person it was emailed to
    pages[path := task_path(mail, DSL_EMAIL)] = DSL_EMAIL
    browser.answer(path, REFUSED_BY_MOTHER)
    pages[path := task_path(mail, MANAGER_EMAIL)] = MANAGER_EMAIL
    browser.answer(path, {"advice": "share", "rationale": "Risk is clear"})
    pages[path := task_path(mail, DSL_EMAIL)] = DSL_EMAIL
    browser.answer(path, share_form([csc.json()["id"]], family_notice="send", confirm="y"))
    pages[path := task_path(mail, CSC)] = CSC
    assert path.startswith("/disclosures/")
    assert browser.open("GET", path).status_code == 200
    assert browser.open("POST", path).status_code == 200  # email me a code
    revealed = browser.open("POST", path, data={"code": code_in(mail.next(CSC))})
    assert revealed.status_code == 200 and factories.CONCERN_FACTS in revealed.text  # the data did reach its recipient
    notice = mail.next(MOTHER)  # the family is told, as the share said
    for read in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/audit", "/api/v1/cases"):
        assert browser.api("GET", read).status_code == 200
    metrics = browser.open("GET", "/metrics")
    worker_log, web_log = live_worker.log(), (web.stop(), web.log())[1]
    with runtime.transaction() as session:
        audit_details = "\n".join(f"{e.action} {e.details}" for e in session.scalars(select(AuditEvent)))

    # The search is real: each place searched holds what a case leaves there.
    assert "succeeded" in worker_log and "infoshare." in worker_log
    assert "POST /webhooks/mis" in web_log and "infoshare_" in metrics.text and "share.decided" in audit_details
    assert notice["X-Infoshare-Case"] == case_id
    tokens = {path: path.rsplit("/", 1)[1] for path in pages}
    allowed_personal = {(s.method, s.path) for s in browser.seen if s.path in pages and s.path.startswith("/tasks/")}
    allowed_personal.add(("POST", next(p for p in pages if p.startswith("/disclosures/"))))

    for seen in browser.seen:
        if (seen.method, seen.path) not in allowed_personal:
            # The audited admin read of the case shows its decision records as the DSL wrote them
            # (who was asked for consent): that typed answer, never the MIS's pupil or concern.
            typed = RECORDED if seen.path == f"/api/v1/cases/{case_id}" else set()
            assert not [s for s in SECRETS if s in seen.text and s not in typed], (seen.method, seen.path)
        for path, token in tokens.items():
            if seen.path != path:
                assert token not in seen.text, f"{path}'s token in the answer to {seen.method} {seen.path}"
    for where, text in (("worker log", worker_log), ("web log", web_log), ("metrics", metrics.text),
                        ("audit details", audit_details)):
        assert not [s for s in SECRETS if s in text], where
        assert not [t for t in [*tokens.values(), browser.token] if t in text], where
    for message in inbox.messages:
        whole = message.as_string().replace(str(message["To"]), "")  # an email may name its own addressee
        assert not [s for s in SECRETS if s in whole], (message["To"], message["Subject"])
        carried = {t for t in tokens.values() if t in whole}
        assert len(carried) <= 1, "an email carrying another email's link"
        if carried:
            assert re.search(rf"/(tasks|disclosures)/{re.escape(carried.pop())}\b", whole)
