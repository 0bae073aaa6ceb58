"""Rendering an email: the school named as settings say, and "your school" in plain words when
no name is set (the embedded defaults), never "the school" as if it were a name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from infoshare_workflow.mail.rendering import Renderer
from infoshare_workflow.storage.models import Email


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
