"""Every page on a phone (390×844) and a desktop (1280×900), in headless Chromium: nothing
scrolls sideways, controls are big enough to tap, keyboard focus is visible, axe-core finds
no serious or critical problem, and a recipient's page says who shared what, when, why, and
whom to call. Presentation only: PostgreSQL alone keeps the file fast."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from infoshare_workflow.review import sweep

from .. import factories
from ..review.school import Report, due_cases, no_progress, staff
from ..sharing.family import FATHER, HOLD, MOTHER, ask_again, family_mail, shared_without_consent
from ..workflow import DSL_EMAIL, MANAGER_EMAIL, drain, latest_to, link_in
from .browser_steps import (
    CONTINUE,
    RECORDED,
    SUBMIT,
    assert_accessible,
    assert_no_sideways_scroll,
    fill_consent_given,
    fill_share,
    press,
    section,
)
from .conftest import School

pytestmark = pytest.mark.postgresql_only


def walk_every_page(school: School, page: Any, check: Any) -> None:
    """Consent (with errors), consultation, share (with errors, then checked), the recipient's
    three pages, the dead link with its way back, the fresh-link page and an unknown link."""
    consent = school.url + school.task_path(DSL_EMAIL)
    page.goto(consent)
    check(page, "consent")
    page.get_by_role("radio", name="Consent given").check()
    assert press(page, SUBMIT).status == 422
    check(page, "consent with errors")
    fill_consent_given(page)
    assert press(page, SUBMIT).status == 200
    check(page, "confirmation")

    page.goto(school.url + school.task_path(MANAGER_EMAIL))
    check(page, "consultation")
    page.get_by_role("group", name="Your advice").get_by_label("Share", exact=True).check()
    page.get_by_label("Your reasons").fill("Meets the threshold")
    assert press(page, SUBMIT).status == 200

    page.goto(school.url + school.task_path(DSL_EMAIL))
    check(page, "share")
    page.get_by_role("group", name="Do you share this information?").get_by_label("Share", exact=True).check()
    assert press(page, CONTINUE).status == 422
    check(page, "share with errors")
    fill_share(page, ["Children's Social Care"])
    assert press(page, CONTINUE).status == 200
    check(page, "check your answers")
    assert press(page, "Send").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)

    page.goto(school.url + school.task_path("csc@council.example"))
    check(page, "disclosure landing")
    assert press(page, "Email me a code").status == 200
    check(page, "disclosure code")
    page.get_by_label("Code").fill("12ab")
    assert press(page, "Show the information").status == 422
    check(page, "disclosure code with an error")
    page.get_by_label("Code").fill(school.emailed_code("csc@council.example"))
    assert press(page, "Show the information").status == 200
    check(page, "disclosure")

    gone = page.goto(consent)
    assert gone is not None and gone.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
    check(page, "answered link (410)")

    unknown = page.goto(school.url + "/tasks/not-a-real-token")
    assert unknown is not None and unknown.status == 404
    check(page, "not found (404)")


def test_every_page_passes_an_axe_core_scan(school, axe_page):
    walk_every_page(school, axe_page, assert_accessible)


def test_every_page_fits_the_screen(school, device):
    walk_every_page(school, device, assert_no_sideways_scroll)


def test_controls_are_big_enough_to_tap_and_long_addresses_wrap(app, mis, runtime, settings, server_url, device):
    # Concerns quote what was seen online: one long unbroken address must not widen the page.
    address = "https://video.example/watch/" + "Qx7" * 40
    school = School(app, mis, runtime, settings, server_url, summary=f"Shared {address} with a friend",
                    facts=f"Showed staff {address} at 08:10")
    device.goto(school.url + school.task_path(DSL_EMAIL))
    assert_no_sideways_scroll(device, "consent with a long address")
    width = device.viewport_size["width"]
    box = device.get_by_role("button", name=SUBMIT).bounding_box()
    assert box is not None and box["height"] >= 24 and box["x"] + box["width"] <= width, box
    device.get_by_role("radio", name="Consent given").check()
    for control in (device.get_by_label("The consent was explicit"), device.get_by_label("Consent given")):
        target = control.bounding_box()  # WCAG 2.2 target size: at least 24 by 24 CSS pixels
        assert target is not None and min(target["width"], target["height"]) >= 24, target
    device.set_viewport_size({"width": 320, "height": 640})  # WCAG 1.4.10 reflow: 320 CSS pixels
    assert_no_sideways_scroll(device, "consent at 320px")


def test_keyboard_reaches_every_control_with_visible_focus(school, page):
    page.goto(school.url + school.task_path(DSL_EMAIL))

    def focused() -> dict[str, Any]:
        return page.evaluate("""() => {
            const el = document.activeElement, box = el.getBoundingClientRect();
            // A GOV.UK radio or checkbox shows its focus on its label's drawn circle or box.
            const drawn = ["radio", "checkbox"].includes(el.type) && el.nextElementSibling;
            const style = drawn ? getComputedStyle(el.nextElementSibling, "::before") : getComputedStyle(el);
            return {tag: el.tagName.toLowerCase(), type: el.type || null, id: el.id, text: el.textContent.trim(),
                    outline: style.outlineStyle, shadow: style.boxShadow, visible: box.width > 0 && box.height > 0};
        }""")

    page.keyboard.press("Tab")
    skip = focused()
    assert (skip["tag"], skip["text"]) == ("a", "Skip to main content") and skip["visible"], skip
    page.keyboard.press("Enter")
    assert focused()["id"] == "main-content"
    page.get_by_role("radio", name="Consent not sought").check()
    page.locator("#outcome").focus()
    seen = [focused()]
    for _ in range(40):
        if seen[-1]["tag"] == "button":
            break
        page.keyboard.press("Tab")
        seen.append(focused())
    assert seen[-1]["tag"] == "button" and seen[-1]["text"] == SUBMIT, [s["id"] for s in seen]
    for control in seen:  # GOV.UK Frontend's focus style: an outline or a yellow box shadow
        assert control["visible"] and (control["outline"] != "none" or control["shadow"] != "none"), control
    assert {"not_sought_reason", "explanation"} <= {s["id"] for s in seen}


def test_the_recipient_sees_who_shared_what_when_and_why_and_whom_to_call(school, page):
    school.consent_by_helper()
    school.advice_by_helper()
    page.goto(school.url + school.task_path(DSL_EMAIL))
    fill_share(page, ["Children's Social Care", "Police Safeguarding Hub"])
    press(page, CONTINUE)
    press(page, "Send")

    landing = page.goto(school.url + school.task_path("csc@council.example"))
    assert landing is not None and landing.status == 200
    body = page.locator("body").inner_text()
    for secret in (factories.CONCERN_SUMMARY, factories.CONCERN_FACTS, factories.PUPIL_GIVEN):
        assert secret not in body, secret
    assert all(d.accessed_at is None for d in school.disclosures()), "GET must not record receipt"
    press(page, "Email me a code")
    page.get_by_label("Code").fill(school.emailed_code("csc@council.example"))
    assert press(page, "Show the information").status == 200

    about = page.locator(".govuk-summary-list").first.inner_text()
    for expected in (school.settings.school_name, "Date shared", "Section 17 assessment",
                     "Designated safeguarding lead", "Staff S-02"):
        assert expected in about, (expected, about)
    facts, opinion = section(page, "Facts"), page.locator(".app-opinion")
    expect(facts).to_contain_text(factories.CONCERN_FACTS)
    expect(facts).not_to_contain_text(factories.CONCERN_OPINION)
    expect(opinion).to_contain_text(factories.CONCERN_OPINION)
    expect(page.get_by_role("heading", name="If this reached you by mistake")).to_be_visible()
    shown_text = page.locator("main").inner_text()
    for withheld in (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.CONTACT_NAME):
        assert withheld not in shown_text, f"{withheld!r} was not chosen, yet it was shown"
    received = {d.recipient_id: d.accessed_at for d in school.disclosures()}
    assert received[school.recipients["csc"]] is not None and received[school.recipients["police"]] is None


def test_the_review_list_fits_the_screen_shows_the_date_only_to_keep_and_passes_axe(
        app, mis, runtime, settings, server_url, axe_page):
    staff(mis)
    [case_id] = due_cases(mis, runtime, 1)
    sweep.retention_sweep(runtime, 1, no_progress, Report())
    drain(app)
    page = axe_page
    page.goto(server_url + link_in(latest_to(settings.outbox_dir, "s-02@school.example")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Retention review")
    next_review = page.get_by_role("group", name="When is it next reviewed?")
    expect(next_review).to_be_hidden()
    page.get_by_label("Keep it, and review it again later").check()
    expect(next_review).to_be_visible()
    assert_no_sideways_scroll(page, "review list")
    assert_accessible(page, "review list")
    assert press(page, "Record these answers").status == 422
    assert_accessible(page, "review list with errors")
    expect(page.locator(".govuk-error-summary")).to_contain_text(f"Enter when case {case_id} is next reviewed")


def test_the_reconsideration_page_shows_what_was_held_back_and_tells_the_family_only_when_asked(
        app, mis, runtime, settings, client, server_url, axe_page):
    shared_without_consent(mis, runtime, app, settings, client, **HOLD)
    ask_again(runtime, app)
    page = axe_page
    page.goto(server_url + link_in(latest_to(settings.outbox_dir, DSL_EMAIL)))
    expect(page.get_by_role("heading", level=1)).to_have_text("Telling the family: decide again")
    expect(page.locator(".govuk-summary-list").first).to_contain_text(HOLD["suppress_reason"])
    reason = page.get_by_label("Why would telling the family still put the child at risk?")
    expect(reason).to_be_hidden()
    page.get_by_label("Do not tell them yet: it would still put the child at risk").check()
    expect(reason).to_be_visible()
    assert_no_sideways_scroll(page, "reconsideration")
    assert_accessible(page, "reconsideration")
    assert press(page, SUBMIT).status == 422
    assert_accessible(page, "reconsideration with errors")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why telling the family would still put")
    assert family_mail(settings) == []

    page.get_by_label("Tell the family now").check()
    assert press(page, SUBMIT).status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text(RECORDED)
    drain(app)
    assert sorted(m["To"] for m in family_mail(settings)) == sorted([MOTHER, FATHER])
