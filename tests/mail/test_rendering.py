"""Rendering an email: the school named as settings say, and "your school" in plain words when
no name is set (the embedded defaults), never "the school" as if it were a name; the school's
own templates before the built-in ones."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from infoshare_workflow.mail.rendering import Renderer
from infoshare_workflow.service.app import create_app
from infoshare_workflow.storage.models import Email

from ..conftest import make_settings


def alert(case_id: str = "IS-ABCDEFGHJK") -> Email:
    return Email(id="e1", template="alert", to_address="head@school.example", to_label="manager",
                 case_id=case_id, context={}, status="queued")


@pytest.mark.parametrize(("name", "said"), [("Northfield Primary School", "raised at Northfield Primary School."),
                                            (None, "raised at your school.")])
def test_an_email_names_the_school_or_says_your_school(settings, name, said):
    message = Renderer(replace(settings, school_name=name)).render(alert())
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert said in text and said in html
    assert "the school." not in text


# The school's own templates (INFOSHARE_TEMPLATE_DIR) come before the built-in ones, for emails
# and pages alike; autoescaping stays on for .html wherever a template comes from.

def school_folder(tmp_path: Path, files: dict[str, str]) -> str:
    root = tmp_path / "school-templates"
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    return str(root)


@pytest.fixture
def plain_settings(tmp_path: Path):
    """For rendering alone: a database that is never opened."""
    return make_settings(f"sqlite:///{tmp_path / 'unused.db'}")


def test_extra_context_joins_the_emails_own_and_the_school_can_reword_an_email(plain_settings, tmp_path):
    folder = school_folder(tmp_path, {
        "email/alert.txt": "OUR ALERT for {{ case_id }}: {{ note }}",
        "email/alert.html": "<p>{{ school }} says {{ note }}</p>",
    })
    email = alert()
    email.context = {"note": "from the row"}
    settings = replace(plain_settings, template_dir=folder, school_name="Northfield <Primary>")
    message = Renderer(settings).render(email, extra={"note": "read at send time", "case_id": "IS-NOTTHISONE"})
    assert message.get_body(("plain",)).get_content().strip() == "OUR ALERT for IS-ABCDEFGHJK: read at send time"
    assert "<p>Northfield &lt;Primary&gt; says read at send time</p>" in message.get_body(("html",)).get_content()
    assert message["Subject"] == "URGENT: immediate safeguarding concern, case IS-ABCDEFGHJK"  # built in


def test_a_page_in_the_schools_folder_is_the_one_served(plain_settings, tmp_path):
    folder = school_folder(tmp_path, {"pages/not_found.html": (
        '{% extends "pages/base.html" %}{% block main %}<h1 class="govuk-heading-l">OUR OWN 404</h1>'
        "<p>Ask {{ school_name }}</p>{% endblock %}")})
    app = create_app(replace(plain_settings, template_dir=folder, school_name="Northfield <Primary>"))
    try:
        response = app.test_client().get("/tasks/not-a-real-token")
    finally:
        app.extensions["infoshare"].engine.dispose()
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "OUR OWN 404" in body and "Page not found" not in body
    assert "<p>Ask Northfield &lt;Primary&gt;</p>" in body
    assert "Skip to main content" in body  # the built-in base page and GOV.UK Frontend's macros still load
