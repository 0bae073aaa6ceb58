"""The task pages in a real browser (headless Chromium driven by Playwright), as a DSL and a
manager use them: filled by their labels, conditional sections shown only with their
choice, every error at once in our words, dates typed as day, month and year, a share
checked before it leaves the school, and the same forms working with JavaScript off."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from .. import factories
from ..workflow import DSL_EMAIL, MANAGER_EMAIL
from .browser_steps import (
    CONTINUE,
    LIBRARY_WORDS,
    PERSONAL,
    RECORDED,
    SUBMIT,
    fill_consent_given,
    fill_date,
    fill_share,
    press,
    yesterday,
)


def hidden(page: Any, text: str) -> Any:
    return expect(page.get_by_text(text, exact=True).first).to_be_hidden()


def shown(page: Any, text: str) -> Any:
    return expect(page.get_by_text(text, exact=True).first).to_be_visible()


def test_consent_typed_as_day_month_year_is_recorded_as_that_moment(school, page):
    response = page.goto(school.url + school.task_path(DSL_EMAIL))
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent decision")
    when = yesterday()

    fill_consent_given(page, when=when)
    answered = press(page, SUBMIT)

    assert answered.status == 200 and answered.request.redirected_from is not None
    assert answered.request.redirected_from.response().status == 303
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)
    [record] = school.decisions("consent")
    assert record["outcome"] == "given" and record["party"] == "parent_carer"
    assert record["party_name"] == factories.CONTACT_NAME and record["explicit"] and record["freely_given"]
    assert record["sought_at"] == when.isoformat()  # the day, month, year and time typed, on the school's clock


def test_each_consent_choice_shows_only_the_questions_it_needs(school, page):
    page.goto(school.url + school.task_path(DSL_EMAIL))
    for question in ("Who was asked?", "Their name", "The consent was explicit", "Why was consent not sought?"):
        hidden(page, question)

    page.get_by_role("radio", name="Consent refused").check()
    shown(page, "Who was asked?")
    shown(page, "Their name")
    hidden(page, "The consent was explicit")
    hidden(page, "Why was consent not sought?")

    page.get_by_role("radio", name="Consent given").check()
    shown(page, "The consent was explicit")
    shown(page, "Who was asked?")

    page.get_by_role("radio", name="Consent not sought").check()
    shown(page, "Why was consent not sought?")
    hidden(page, "Who was asked?")
    hidden(page, "The consent was explicit")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3200, height  # it was 3,200 px on a phone with every section open


def test_consent_errors_come_all_at_once_in_our_words(school, page):
    page.goto(school.url + school.task_path(DSL_EMAIL))
    page.get_by_role("radio", name="Consent given").check()
    page.get_by_label("Their name").fill("Ottoline Q")

    answered = press(page, SUBMIT)

    assert answered.status == 422 and page.title().startswith("Error:")
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary).to_be_focused()  # keyboard and screen reader users start from the problems
    expect(summary.locator("li")).to_have_text([
        "Choose who was asked for consent", "Enter when consent was sought",
        "Confirm that the consent was explicit", "Confirm that the consent was freely given"])
    for name in ("explicit", "freely_given", "party", "sought_at-day"):
        expect(summary.locator(f'a[href="#{name}"]')).to_have_count(1)
    messages = page.locator(".govuk-error-message").all_inner_texts()
    assert len(messages) == 4 and len(set(messages)) == 4, messages  # one beside each field, never twice
    text = page.locator("body").inner_text()
    assert not [words for words in LIBRARY_WORDS if words in text]
    # What was typed and chosen is kept; a field without an error is not marked as one.
    expect(page.get_by_label("Their name")).to_have_value("Ottoline Q")
    expect(page.get_by_role("radio", name="Consent given")).to_be_checked()
    expect(page.locator("#party_name-error")).to_have_count(0)
    summary.locator('a[href="#explicit"]').click()
    expect(page.get_by_label("The consent was explicit")).to_be_focused()
    assert school.decisions("consent") == []


def test_a_date_that_is_not_a_date_is_explained(school, page):
    page.goto(school.url + school.task_path(DSL_EMAIL))
    fill_consent_given(page)
    group = page.get_by_role("group", name="When was consent sought?")
    group.get_by_label("Day").fill("31")
    group.get_by_label("Month").fill("2")

    assert press(page, SUBMIT).status == 422
    expect(page.locator("#sought_at-error")).to_contain_text("Enter a real date and time, for example 27 3 2026")
    expect(group.get_by_label("Day")).to_have_value("31")  # kept as typed


def test_the_dsl_sees_what_the_manager_will_see_before_it_is_sent(school, page):
    page.goto(school.url + school.task_path(DSL_EMAIL))
    details = page.locator("details", has_text="What the manager will see when consulted")
    expect(details).not_to_have_attribute("open", "")  # collapsed until asked for
    details.locator("summary").click()
    inside = details.inner_text()
    assert "identity withheld for consultation" in inside and factories.CONCERN_FACTS in inside
    for personal in PERSONAL:
        assert personal not in inside, personal


def test_consultation_page_hides_identity_and_records_advice(school, page):
    school.consent_by_helper()
    response = page.goto(school.url + school.task_path(MANAGER_EMAIL))

    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Manager consultation")
    text, html = page.locator("body").inner_text(), page.content()
    for personal in PERSONAL:
        assert personal not in text and personal not in html, personal
    assert factories.CONCERN_FACTS in text and factories.CONCERN_OPINION in text and "Year 7" in text
    page.get_by_role("group", name="Your advice").get_by_label("Share", exact=True).check()
    page.get_by_label("Your reasons").fill("Neglect indicators meet the early help threshold")

    assert press(page, SUBMIT).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)
    expect(page.locator("main")).to_contain_text("share decision")  # what happens next, and with whom
    [record] = school.decisions("consultation")
    assert record == {"advice": "share", "rationale": "Neglect indicators meet the early help threshold"}


def test_a_wrong_share_form_shows_every_error_at_once_in_our_words(school, page):
    school.consent_by_helper({"outcome": "refused", "party": "parent_carer", "party_name": "A parent",
                              "sought_at": yesterday().strftime("%Y-%m-%dT%H:%M")})
    school.advice_by_helper()
    page.goto(school.url + school.task_path(DSL_EMAIL))
    hidden(page, "Who receives it?")
    page.get_by_role("group", name="Do you share this information?").get_by_label("Share", exact=True).check()
    shown(page, "Who receives it?")
    page.get_by_role("group", name="You are sharing without consent. Is the family told?").get_by_label(
        "Do not tell the family now: it would put the child at risk").check()

    assert press(page, CONTINUE).status == 422
    errors = page.locator(".govuk-error-summary li").all_inner_texts()
    assert errors == [
        "Enter your reasons for sharing or not sharing", "Choose at least one recipient", "Enter the purpose of sharing",
        "Choose the lawful basis for sharing", "Choose the special category condition",
        "Choose at least one item to share",
        *[f"Confirm that sharing is {p}" for p in ("necessary", "proportionate", "relevant", "adequate",
                                                    "accurate", "timely", "secure")],
        "Enter why telling the family would put the child at risk", "Enter the date to reconsider telling the family",
    ]
    text = page.locator("body").inner_text()
    assert not [words for words in LIBRARY_WORDS if words in text]
    assert school.decisions("share") == []


def test_check_your_answers_then_change_then_send_records_exactly_one_share(school, page):
    school.consent_by_helper()
    school.advice_by_helper()
    page.goto(school.url + school.task_path(DSL_EMAIL))
    fill_share(page, ["Children's Social Care"])

    checking = press(page, CONTINUE)

    assert checking.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before sending")
    answers = page.locator(".govuk-summary-list").inner_text()
    for expected in ("Children's Social Care", "Section 17 assessment", "Public task", "Facts", "Shared securely"):
        assert expected in answers, expected
    assert "Police Safeguarding Hub" not in answers
    assert school.decisions("share") == [] and school.disclosures() == []  # nothing sent by looking

    with page.expect_navigation():
        page.get_by_role("button", name="Change purpose").click()
    expect(page.get_by_label("For what purpose?")).to_have_value("Section 17 assessment")  # what was entered is kept
    expect(page.get_by_role("group", name="Who receives it?").get_by_label("Children's Social Care")).to_be_checked()
    page.get_by_label("For what purpose?").fill("Early help assessment")
    assert press(page, CONTINUE).status == 200
    expect(page.locator(".govuk-summary-list")).to_contain_text("Early help assessment")

    sent = press(page, "Send")

    assert sent.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)
    expect(page.locator("main")).to_contain_text("shared with Children's Social Care")
    [record] = school.decisions("share")
    assert record["purpose"] == "Early help assessment" and record["recipients"] == [school.recipients["csc"]]
    assert len(school.disclosures()) == 0  # sent by the worker after the commit, never before it


def test_with_javascript_off_every_section_shows_and_only_the_chosen_answers_are_kept(school, scriptless):
    page = scriptless
    page.goto(school.url + school.task_path(DSL_EMAIL))
    for question in ("Who was asked?", "The consent was explicit", "Why was consent not sought?"):
        shown(page, question)
    page.get_by_role("radio", name="Consent refused").check()
    page.get_by_role("group", name="Who was asked?").get_by_label("Parent or carer").check()
    page.get_by_label("Their name").fill("A parent")
    fill_date(page, "When was consent sought?", yesterday(), with_time=True)
    page.get_by_label("Explain the grounds").fill("typed, then the choice changed")  # a section not chosen

    assert press(page, SUBMIT).status == 200
    [record] = school.decisions("consent")
    assert record["outcome"] == "refused" and record["party_name"] == "A parent"
    assert "explanation" not in record and "explicit" not in record
