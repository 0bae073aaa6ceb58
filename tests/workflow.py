"""Test helpers for the sharing workflow: a small school, the outbox run in-process, emails read back.

The functional tests run each queued task in-process (`drain`) with the emails written to
the outbox folder; the end-to-end tests use a real worker, Redis and an SMTP server instead.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from infoshare_workflow.storage.models import Recipient
from infoshare_workflow.storage.outbox import claim_due
from infoshare_workflow.vocabulary import PRINCIPLES

from . import factories

DSL, MANAGER = "S-02", "S-09"
DSL_EMAIL, MANAGER_EMAIL = "s-02@school.example", "s-09@school.example"
LINK = re.compile(r"https?://[^\s/]+(/(?:tasks|disclosures)/[A-Za-z0-9_.\-]+)")


def set_up_school(mis: Any, runtime: Any) -> dict[str, int]:
    """A DSL, a manager and two recipients; returns recipient ids by short name."""
    assert mis.post(factories.staff_upserted(DSL, ["dsl"])).status_code == 202
    assert mis.post(factories.staff_upserted(MANAGER, ["manager"])).status_code == 202
    with runtime.transaction() as session:
        csc = Recipient(name="Children's Social Care", kind="childrens_social_care", email="csc@council.example")
        police = Recipient(name="Police Safeguarding Hub", kind="police", email="hub@police.example")
        session.add_all([csc, police])
        session.flush()
        return {"csc": csc.id, "police": police.id}


def drain(app: Flask, rounds: int = 20) -> list[str]:
    """Run every published outbox task in-process until none is left; returns task names run."""
    runtime, celery = app.extensions["infoshare"], app.extensions["infoshare.celery"]
    celery.loader.import_default_modules()
    ran: list[str] = []
    for _ in range(rounds):
        with runtime.transaction() as session:
            due = [(m.id, m.task, dict(m.kwargs)) for m in claim_due(session, timedelta(0))]
        if not due:
            return ran
        for message_id, task, kwargs in due:
            result = celery.tasks[task].apply(kwargs={**kwargs, "outbox_id": message_id})
            assert result.successful(), result.traceback
            ran.append(task)
    raise AssertionError("the outbox did not drain")


def read_outbox(folder: str | Path) -> list[EmailMessage]:
    path = Path(folder)
    if not path.exists():
        return []
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(path.glob("*.eml"))]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


def link_in(message: EmailMessage) -> str:
    found = LINK.search(text_of(message))
    assert found, "no link in the email"
    return found.group(1)


def latest_to(folder: str | Path, address: str) -> EmailMessage:
    matching = [m for m in read_outbox(folder) if m["To"] == address]
    assert matching, f"no email to {address}"
    return matching[-1]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token in the form"
    return found.group(1)


def submit(client: FlaskClient, path: str, form: dict[str, Any]) -> Any:
    """Answer a task as a client posting directly: a share answer comes confirmed (`confirm`), as
    from the check-your-answers page (tests of that page post without it)."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    confirmed = {"confirm": "y"} if "decision" in form and "confirm" not in form else {}
    return client.post(path, data={"csrf_token": csrf_of(page.get_data(as_text=True)), **form, **confirmed})


CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


def code_in(message: EmailMessage) -> str:
    found = CODE.search(text_of(message))
    assert found, "no one-time code in the email"
    return found.group(1)


def reveal(client: FlaskClient, app: Flask, path: str, outbox_dir: str | Path, address: str) -> Any:
    """Open a disclosure as its recipient does: press the button, read the emailed code, enter it."""
    asked = client.post(path)
    assert asked.status_code == 200, asked.status_code
    drain(app)
    return client.post(path, data={"code": code_in(latest_to(outbox_dir, address))})


def consent_given() -> dict[str, Any]:
    return {"outcome": "given", "party": "parent_carer", "party_name": factories.CONTACT_NAME,
            "sought_at": "2026-11-24T09:30", "explicit": "y", "freely_given": "y"}


def share_form(recipients: list[int], **overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"decision": "share", "reasons": "Risk of neglect needs an assessment",
                            "recipients": [str(r) for r in recipients], "purpose": "Section 17 assessment",
                            "lawful_basis": "public_task",
                            "condition": "safeguarding_children_and_individuals_at_risk",
                            "items": ["summary", "facts", "opinion"]}
    form.update({p: "y" for p in PRINCIPLES})
    form.update(overrides)
    return form


def open_case(mis: Any, app: Flask, **overrides: Any) -> str:
    case_id = mis.post(factories.concern_raised("C-wf-1", **overrides)).get_json()["case_id"]
    drain(app)
    return case_id  # type: ignore[no-any-return]


def answer(client: FlaskClient, settings: Any, app: Flask, address: str, form: dict[str, Any]) -> Any:
    """Answer the latest task emailed to `address`, then run what it caused."""
    response = submit(client, link_in(latest_to(settings.outbox_dir, address)), form)
    if response.status_code == 303:
        drain(app)
    return response


def walk_to_share(mis: Any, runtime: Any, app: Flask, settings: Any, client: FlaskClient,
                  consent: dict[str, Any], **concern: Any) -> tuple[dict[str, int], str]:
    """A case answered up to its share step: consent as given, then the manager advises sharing."""
    recipients = set_up_school(mis, runtime)
    case_id = open_case(mis, app, **concern)
    answer(client, settings, app, DSL_EMAIL, consent)
    answer(client, settings, app, MANAGER_EMAIL, {"advice": "share", "rationale": "Risk is clear"})
    return recipients, case_id


REFUSED = {"outcome": "refused", "party": "parent_carer", "party_name": "A parent", "sought_at": "2026-11-24T10:00"}
