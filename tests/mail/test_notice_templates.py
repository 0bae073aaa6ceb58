"""Notices to families (golden rule 2, "be open and honest"), rendered from templates the school
owns, in the addressee's language.

A notice email names no one: it may reach the wrong inbox, so it says "your child" and gives
the school's reference. The built-in notices are in English and Welsh; a school's folder
(INFOSHARE_TEMPLATE_DIR) comes first, so it can reword a notice, change its plain words, or add
a language of its own. What the designated safeguarding lead typed (the purpose) is shown as
text, never as HTML.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jinja2 import meta

from infoshare_workflow.mail import notices, rendering
from infoshare_workflow.mail.rendering import Renderer, notice_language
from infoshare_workflow.settings.config import TEMPLATES
from infoshare_workflow.settings.policy import Policy, d
from infoshare_workflow.storage.models import Email

from .. import factories
from ..conftest import make_settings
from .test_rendering import school_folder

NOTICES = ("privacy_notice", "sharing_notice")
ADDRESSEES = ("contact", "pupil")
REFERENCE = "IS-7C4P7RMFXZ"


@pytest.fixture
def settings(tmp_path: Path):
    """Rendering needs no database: these settings name one that is never opened."""
    return make_settings(f"sqlite:///{tmp_path / 'unused.db'}", school_name="Northfield Primary School",
                         school_contact="01632 960000, safeguarding@northfield.example")


def sharing(**overrides: Any) -> dict[str, Any]:
    """A sharing notice's content as family_notice.notice_content writes it."""
    return {"case_id": REFERENCE, "shared_at": "2026-07-12T13:30:00+00:00",  # 14:30 in London (BST)
            "items": ["summary", "facts", "pupil_identity", "reporter_identity"],
            "agencies": [{"name": "Northshire Children's Services", "kind": "childrens_social_care"},
                         {"name": "Northshire Police", "kind": "police"}],
            "purpose": "So that children's social care can assess the risk and plan support.",
            "lawful_basis": "public_task", "condition": "safeguarding_children_and_individuals_at_risk",
            **overrides}


def notice_email(template: str, language: str | None = "en") -> Email:
    context: dict[str, Any] = {"notice_id": 7}
    if language is not None:
        context["language"] = language
    return Email(id="n1", template=template, to_address="parent@example.org", to_label="contact:notice",
                 case_id=REFERENCE if template == "sharing_notice" else None, context=context, status="queued")


def render(settings, template: str, language: str | None = "en", addressee: str = "contact", **content: Any):
    notice = sharing(**content) if template == "sharing_notice" else {}
    return Renderer(settings).render(notice_email(template, language), extra={"notice": notice, "addressee": addressee})


def parts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def words_of(text: str) -> str:
    """The text as one line: where a plain-text notice wraps is no part of what it says."""
    return " ".join(text.split())


def test_every_notice_that_is_queued_is_rendered_as_a_notice_in_english_and_welsh():
    assert rendering.NOTICE_TEMPLATES == set(notices.TEMPLATES.values()) == set(NOTICES)
    for name in NOTICES:
        for language in ("en", "cy"):
            for part in rendering.NOTICE_PARTS:
                assert (TEMPLATES / "notices" / language / f"{name}.{part}").is_file()


@pytest.mark.parametrize("addressee", ADDRESSEES)
@pytest.mark.parametrize("template", NOTICES)
@pytest.mark.parametrize(("language", "ico"), [("en", "Information Commissioner's Office"),
                                               ("cy", "Swyddfa'r Comisiynydd Gwybodaeth")])
def test_every_built_in_notice_renders_in_english_and_welsh_as_text_and_html(settings, template, language, ico,
                                                                             addressee):
    message = render(settings, template, language, addressee)
    text, html = parts(message)
    assert message["Subject"].strip() and "\n" not in message["Subject"]
    assert message["Content-Language"] == language
    assert f'<html lang="{language}">' in html and "<title>" in html
    for part in (text, html):
        assert "Northfield Primary School" in part
        assert "01632 960000, safeguarding@northfield.example" in words_of(part)  # whom to contact
        assert ico in words_of(part).replace("&#39;", "'") and "0303 123 1113" in words_of(part)
        assert "{{" not in part and "{%" not in part
    if template == "sharing_notice":
        assert REFERENCE in message["Subject"] and REFERENCE in text and REFERENCE in html


def test_the_sharing_notice_says_what_kinds_with_whom_when_why_and_on_what_basis(settings):
    text, html = parts(render(settings, "sharing_notice"))
    text = words_of(text)
    for said in ("A short summary of the concern", "Your child's name and year group",
                 "Who told the school about the concern",
                 "Northshire Children's Services (children's social care at the local council)",
                 "Northshire Police (the police)",
                 "12 July 2026 at 14:30",  # the school's clock: 13:30 UTC is 14:30 in London in July
                 "So that children's social care can assess the risk and plan support.",
                 "Public task", "Article 6(1)(e)", "Schedule 1, paragraph 18",
                 "contact the designated safeguarding lead at Northfield Primary School"):
        assert said in text
    assert "Your child&#39;s name and year group" in html
    assert "What school staff think" not in text  # only the kinds that were shared


def test_the_welsh_sharing_notice_gives_the_date_in_welsh(settings):
    text = words_of(parts(render(settings, "sharing_notice", "cy", shared_at="2026-01-05T09:05:00+00:00"))[0])
    assert "5 Ionawr 2026 am 09:05" in text
    assert "Northshire Police (yr heddlu)" in text


def test_a_notice_to_a_pupil_speaks_to_them_and_one_to_a_parent_speaks_of_their_child(settings):
    for template in NOTICES:
        to_pupil = words_of(parts(render(settings, template, addressee="pupil"))[0])
        to_parent = words_of(parts(render(settings, template, addressee="contact"))[0])
        assert "your child" not in to_pupil.lower() and "Hello," in to_pupil
        assert "your child" in to_parent and "Dear parent or carer," in to_parent
    privacy_to_pupil = words_of(parts(render(settings, "privacy_notice", addressee="pupil"))[0])
    assert "until you are 25 years old" in privacy_to_pupil


def test_what_the_lead_typed_is_shown_as_text_never_as_html(settings):
    purpose = '<script>alert(1)</script> & "x"'
    agency = {"name": "<b>Bold</b> Services", "kind": "health"}
    for language in ("en", "cy"):
        text, html = parts(render(settings, "sharing_notice", language, purpose=purpose, agencies=[agency]))
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;" in html
        assert "<script" not in html and "<b>" not in html and "&lt;b&gt;Bold&lt;/b&gt; Services" in html
        assert purpose in text  # the plain-text part is text: shown as typed


@pytest.mark.parametrize(("asked", "used"), [("cy", "cy"), ("CY", "cy"), ("en", "en"), ("fr", "en"), (None, "en"),
                                             ("", "en"), ("../en", "en")])
def test_a_notice_comes_in_the_addressees_language_or_else_in_english(settings, asked, used):
    env = Renderer(settings).environment()
    assert notice_language(env, "privacy_notice", asked) == used
    message = render(settings, "privacy_notice", asked)
    assert message["Content-Language"] == used


def test_other_emails_carry_no_content_language(settings):
    alert = Email(id="e1", template="alert", to_address="head@school.example", to_label="manager",
                  case_id=REFERENCE, context={}, status="queued")
    assert Renderer(settings).render(alert)["Content-Language"] is None


def test_retention_periods_come_from_the_policy_in_each_language(settings):
    policy = replace(Policy(), retention={"child_protection": d("30 years"), "early_help": d("7 years"),
                                          "low_level": d("1 year")})
    settings = replace(settings, policy=policy)
    english = words_of(parts(render(settings, "privacy_notice"))[0])
    assert "until your child is 30 years old" in english
    assert "Early help records: 7 years after the case is closed." in english
    assert "Other safeguarding records: 1 year after the case is closed." in english
    welsh = words_of(parts(render(settings, "privacy_notice", "cy"))[0])
    assert "nes bod eich plentyn yn 30 oed" in welsh
    assert "Cofnodion cymorth cynnar: 7 o flynyddoedd ar ôl cau'r achos." in welsh
    assert "Cofnodion diogelu eraill: 1 flwyddyn ar ôl cau'r achos." in welsh


def test_the_defaults_retention_periods_are_said_in_plain_words(settings):
    text = words_of(parts(render(settings, "privacy_notice"))[0])
    assert "Child protection records: until your child is 25 years old." in text
    assert "Early help records: 6 years after the case is closed." in text
    assert "Other safeguarding records: 1 year after the case is closed." in text


# The school's own folder ------------------------------------------------------------------

def test_a_notice_in_the_schools_folder_wins_over_the_built_in_one(settings, tmp_path):
    folder = school_folder(tmp_path, {"notices/en/privacy_notice.txt": "OUR-OWN-PRIVACY-NOTICE {{ school }}"})
    text, html = parts(render(replace(settings, template_dir=folder), "privacy_notice"))
    assert text.strip() == "OUR-OWN-PRIVACY-NOTICE Northfield Primary School"
    assert "How we keep and share safeguarding information" in html  # the parts not overridden are built in


def test_a_language_the_school_adds_is_used_for_contacts_who_prefer_it(settings, tmp_path):
    folder = school_folder(tmp_path, {
        "notices/pl/privacy_notice.subject.txt": "Informacja o prywatności",
        "notices/pl/privacy_notice.txt": "POLSKA-INFORMACJA {{ school }}",
        "notices/pl/privacy_notice.html": "<p>POLSKA-INFORMACJA {{ school }}</p>",
        "notices/de/privacy_notice.txt": "NUR-TEXT",  # a translation missing parts is not used
    })
    settings = replace(settings, template_dir=folder)
    polish = render(settings, "privacy_notice", "pl")
    assert polish["Content-Language"] == "pl" and polish["Subject"] == "Informacja o prywatności"
    assert "POLSKA-INFORMACJA Northfield Primary School" in parts(polish)[0]
    german = render(settings, "privacy_notice", "de")
    assert german["Content-Language"] == "en" and "NUR-TEXT" not in parts(german)[0]


def test_the_plain_words_are_the_schools_to_change(settings, tmp_path):
    words = (TEMPLATES / "notices/en/_words.jinja").read_text()
    folder = school_folder(tmp_path, {"notices/en/_words.jinja": words.replace(
        '"police": "the police"', '"police": "the police (our local neighbourhood team)"')})
    text = words_of(parts(render(replace(settings, template_dir=folder), "sharing_notice"))[0])
    assert "Northshire Police (the police (our local neighbourhood team))" in text


def test_a_school_copies_the_welsh_notices_as_a_start_for_its_own(settings, tmp_path):
    """The built-in folders are complete examples: copied under another language they render."""
    folder = tmp_path / "school"
    shutil.copytree(TEMPLATES / "notices/cy", folder / "notices/gd")
    message = render(replace(settings, template_dir=str(folder)), "sharing_notice", "gd")
    assert message["Content-Language"] == "gd"


# No names -------------------------------------------------------------------------------

ALLOWED = {"notice", "addressee", "case_id", "school", "school_name", "school_contact", "retention", "language"}


@pytest.mark.parametrize("path", sorted(str(p.relative_to(TEMPLATES)) for p in (TEMPLATES / "notices").rglob("*.*")))
def test_a_notice_template_can_reach_nothing_but_the_notice_the_school_and_the_reference(settings, path):
    """No pupil's or contact's name is in a notice's context, and no template asks for one."""
    env = Renderer(settings).environment()
    source = env.loader.get_source(env, path)[0]
    assert meta.find_undeclared_variables(env.parse(source)) <= ALLOWED


def test_a_rendered_notice_holds_no_name_even_when_one_is_at_hand(settings):
    """Whatever else is in the context, a notice prints only what it is written to print."""
    names = {"pupil_name": f"{factories.PUPIL_GIVEN} {factories.PUPIL_FAMILY}", "contact_name": factories.CONTACT_NAME,
             "date_of_birth": factories.PUPIL_DOB}
    for template in NOTICES:
        for language in ("en", "cy"):
            notice = sharing() if template == "sharing_notice" else {}
            message = Renderer(settings).render(notice_email(template, language),
                                                extra={"notice": {**notice, **names}, "addressee": "contact", **names})
            whole = message["Subject"] + "".join(parts(message))
            for value in names.values():
                assert value not in whole
