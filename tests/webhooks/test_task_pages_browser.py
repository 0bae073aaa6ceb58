"""The task and disclosure pages in a real browser: headless Chromium driven by Playwright.

The pages are what a DSL, a manager and a recipient actually use, often on a phone, with a
keyboard or a screen reader. These tests fill the real forms by their labels, check errors
are announced beside their fields, that the consultation page hides the pupil's identity,
that a recipient's link shows nothing until the button is pressed, that keyboard focus is
visible, that nothing scrolls sideways on a phone, and scan every page with axe-core.

Chromium is Debian's (`apt-get install chromium`; Playwright cannot download browsers here)
and axe-core comes from npm (`npm ci` at the project root); `.ci/run` installs both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium; "
                ".ci/run does this)", allow_module_level=True)

from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from infoshare_workflow.storage.models import DecisionRecord, Disclosure  # noqa: E402

from .. import factories  # noqa: E402
from ..conftest import ROOT  # noqa: E402
from ..workflow import (  # noqa: E402
    DSL_EMAIL,
    MANAGER_EMAIL,
    code_in,
    consent_given,
    drain,
    latest_to,
    link_in,
    set_up_school,
    submit,
)

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # The test machines have no outside network: without these Chromium's background
    # fetches (component updates, sync, field trials) fail and slow or break the launch.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PERSONAL = [factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.PUPIL_DOB, "19 Jul 2013",
            factories.CONTACT_NAME, *factories.CONTACT_NAME.split()]
SUBMIT = "Record my answer"
RECORDED = "Your answer is recorded"
# The form tests run on both engines, as every database test does. The phone and axe-core
# tests look at presentation only, which no engine changes: PostgreSQL alone keeps the file fast.
PRESENTATION_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def playwright_() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_: Playwright) -> Iterator[Browser]:
    browser = playwright_.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def server_url(app: Any) -> Iterator[str]:
    """The real app on a real socket, so the browser talks HTTP to it (headers, CSP and all)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


class Watched:
    """A page, and the Content-Security-Policy violations the browser reported on it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.csp_violations: list[str] = []
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)


def _open_page(browser: Browser, **options: Any) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London", **options)
    context.set_default_timeout(10_000)
    watched = Watched(context.new_page())
    yield watched.page
    context.close()
    # Under the real policy (default-src 'none'), nothing our pages load may be refused.
    if not options.get("bypass_csp"):
        assert watched.csp_violations == [], watched.csp_violations


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page under the pages' real Content-Security-Policy."""
    yield from _open_page(browser, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (iPhone 12-14 logical size), touch and all."""
    yield from _open_page(browser, viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)


@pytest.fixture
def axe_page(browser: Browser) -> Iterator[Page]:
    """A page where axe-core can run.

    The pages send `Content-Security-Policy: default-src 'none'`, which (rightly) blocks the
    inline script `add_script_tag` injects. `bypass_csp=True` is Playwright's switch for
    exactly this: it lets the test inject its own script without weakening the product's policy.
    """
    assert AXE.exists(), f"{AXE} is missing: run `npm ci` in {ROOT}"
    yield from _open_page(browser, viewport={"width": 1280, "height": 900}, bypass_csp=True)


class School:
    """A school with a DSL, a manager and two recipients, and one standard concern raised."""

    def __init__(self, app: Any, mis: Any, runtime: Any, settings: Any, server_url: str, **concern: Any) -> None:
        self.app, self.mis, self.runtime, self.settings, self.url = app, mis, runtime, settings, server_url
        self.recipients = set_up_school(mis, runtime)
        response = mis.post(factories.concern_raised("C-browser-1", **concern))
        assert response.status_code == 202, response.get_data(as_text=True)
        self.case_id = response.get_json()["case_id"]
        drain(app)

    def task_path(self, address: str) -> str:
        drain(self.app)
        return link_in(latest_to(self.settings.outbox_dir, address))

    def consent_by_helper(self) -> None:
        client = self.app.test_client()
        assert submit(client, self.task_path(DSL_EMAIL), consent_given()).status_code == 303

    def advice_by_helper(self) -> None:
        client = self.app.test_client()
        form = {"advice": "share", "rationale": "Neglect indicators meet the early help threshold"}
        assert submit(client, self.task_path(MANAGER_EMAIL), form).status_code == 303

    def decisions(self, kind: str) -> list[dict[str, Any]]:
        with self.runtime.transaction() as session:
            return [d.payload for d in session.scalars(select(DecisionRecord).where(DecisionRecord.kind == kind))]

    def emailed_code(self, address: str) -> str:
        drain(self.app)
        return code_in(latest_to(self.settings.outbox_dir, address))

    def disclosures(self) -> list[Disclosure]:
        with self.runtime.transaction() as session:
            found = list(session.scalars(select(Disclosure).order_by(Disclosure.recipient_id)))
            session.expunge_all()
            return found


@pytest.fixture
def school(app: Any, mis: Any, runtime: Any, settings: Any, server_url: str) -> School:
    return School(app, mis, runtime, settings, server_url)


# --- helpers --------------------------------------------------------------------------------

def yesterday_local() -> str:
    """A `datetime-local` value on the school's clock, safely in the past."""
    return (datetime.now(ZoneInfo("Europe/London")) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def submit_form(page: Page) -> Any:
    """Press the form's button; returns the response the browser finally showed."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=SUBMIT).click()
    return navigation.value


def fill_consent_given(page: Page, party_name: str = factories.CONTACT_NAME) -> None:
    page.get_by_role("radio", name="Consent given").check()
    page.get_by_role("group", name="Who was asked?").get_by_label("Parent or carer").check()
    page.get_by_label("Their name").fill(party_name)
    page.get_by_label("When was consent sought?").fill(yesterday_local())
    page.get_by_label("The consent was explicit").check()
    page.get_by_label("The consent was freely given").check()


def fill_share(page: Page, recipients: list[str]) -> None:
    page.get_by_role("group", name="Do you share this information?").get_by_label("Share", exact=True).check()
    page.get_by_label("Your reasons").fill("Risk of neglect needs an assessment")
    who = page.get_by_role("group", name="Who receives it?")
    for name in recipients:
        who.get_by_label(name).check()
    page.get_by_label("For what purpose?").fill("Section 17 assessment")
    page.get_by_label("Lawful basis (UK GDPR Art. 6)").select_option(label="Public task (Art. 6(1)(e))")
    page.get_by_label("Special category condition").select_option(
        label="Safeguarding of children and individuals at risk (DPA 2018 Sch. 1 Pt. 2 para. 18)")
    what = page.get_by_role("group", name="What do you share?")
    for item in ("Summary of the concern", "Facts", "Opinion"):
        what.get_by_label(item, exact=True).check()
    principles = page.get_by_role("group", name="Confirm each principle (golden rule 6)")
    for principle in ("Necessary for the purpose", "Proportionate to the need and the risk",
                      "Relevant, and only to those who need it", "Adequate for its purpose",
                      "Accurate and up to date, fact and opinion apart", "Shared in a timely fashion",
                      "Shared securely"):
        principles.get_by_label(principle).check()


def section(page: Page, heading: str) -> Locator:
    """The panel that follows an h2 on the disclosure page."""
    return page.get_by_role("heading", name=heading, exact=True, level=2).locator("xpath=following-sibling::*[1]")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    assert len(result["passes"]) >= 5, "axe-core checked almost nothing: is the page empty?"
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]]} for v in result["violations"]]


def assert_accessible(page: Page, name: str) -> None:
    serious = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert serious == [], f"axe-core on the {name} page ({page.url}):\n" + "\n".join(map(str, serious))


def assert_no_sideways_scroll(page: Page, name: str) -> None:
    # A mobile browser zooms out to fit a page that is too wide (innerWidth grows with it),
    # so the page must also fit the device's own width.
    device = page.viewport_size["width"] if page.viewport_size else PHONE["width"]
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner and scroll <= device, (
        f"the {name} page scrolls sideways on a phone: {scroll}px wide in a {device}px screen (innerWidth {inner}px)")


# --- tests ----------------------------------------------------------------------------------

def test_consent_form_filled_by_its_labels_is_recorded(school, page):
    response = page.goto(school.url + school.task_path(DSL_EMAIL))

    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent decision")
    fill_consent_given(page)
    shown = submit_form(page)

    assert shown.status == 200 and shown.request.redirected_from is not None
    assert shown.request.redirected_from.method == "POST"
    assert shown.request.redirected_from.response().status == 303
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)
    expect(page.locator("main")).to_contain_text(school.case_id)
    [record] = school.decisions("consent")
    assert record["outcome"] == "given" and record["party"] == "parent_carer"
    assert record["party_name"] == factories.CONTACT_NAME
    assert record["explicit"] is True and record["freely_given"] is True


def test_consent_given_without_its_details_shows_each_error_beside_its_field(school, page):
    page.goto(school.url + school.task_path(DSL_EMAIL))
    page.get_by_role("radio", name="Consent given").check()
    page.get_by_label("Their name").fill("Ottoline Q")

    shown = submit_form(page)

    assert shown.status == 422
    assert page.title().startswith("Error:")
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary).to_be_focused()  # keyboard and screen reader users start from the problems
    wrong = {  # field -> the element that carries aria-describedby
        "party": page.get_by_role("group", name="Who was asked?"),
        "sought_at": page.get_by_label("When was consent sought?"),
        "explicit": page.get_by_label("The consent was explicit"),
        "freely_given": page.get_by_label("The consent was freely given"),
    }
    for name, control in wrong.items():
        link = summary.locator(f'a[href="#field-{name}"]')
        expect(link).to_have_count(1)
        described = (control.get_attribute("aria-describedby") or "").split()
        assert f"{name}-error" in described, (name, described)
        message = page.locator(f"#{name}-error")
        expect(message).to_be_visible()
        expect(message).to_contain_text("Error:")
    expect(page.locator("#sought_at-error")).to_contain_text("This field is required.")
    expect(page.locator("#explicit-error")).to_contain_text("explicit and freely given")
    # What was typed and chosen is kept, and a field without an error is not marked as one.
    expect(page.get_by_label("Their name")).to_have_value("Ottoline Q")
    expect(page.get_by_role("radio", name="Consent given")).to_be_checked()
    expect(page.locator("#party_name-error")).to_have_count(0)
    # The summary's links take you to the field.
    summary.locator('a[href="#field-explicit"]').click()
    assert page.evaluate("() => location.hash") == "#field-explicit"
    expect(page.get_by_label("The consent was explicit")).to_be_focused()
    expect(page.get_by_label("The consent was explicit")).to_have_attribute("aria-invalid", "true")
    # An empty name is an error of its own, once the rest is fixed.
    page.get_by_label("Their name").fill("")
    page.get_by_role("group", name="Who was asked?").get_by_label("Parent or carer").check()
    page.get_by_label("When was consent sought?").fill(yesterday_local())
    page.get_by_label("The consent was explicit").check()
    page.get_by_label("The consent was freely given").check()
    assert submit_form(page).status == 422
    expect(page.get_by_role("alert").locator("li")).to_have_count(1)
    assert "party_name-error" in (page.get_by_label("Their name").get_attribute("aria-describedby") or "")
    expect(page.get_by_label("Their name")).to_have_attribute("aria-invalid", "true")
    assert school.decisions("consent") == []


def test_consultation_page_hides_identity_and_records_advice(school, page):
    school.consent_by_helper()
    response = page.goto(school.url + school.task_path(MANAGER_EMAIL))

    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Manager consultation")
    text, html = page.locator("body").inner_text(), page.content()
    for personal in PERSONAL:
        assert personal not in text and personal not in html, personal
    assert factories.CONCERN_FACTS in text and factories.CONCERN_OPINION in text
    assert "Year 7" in text
    page.get_by_role("group", name="Your advice").get_by_label("Share", exact=True).check()
    page.get_by_label("Your rationale").fill("Neglect indicators meet the early help threshold")
    shown = submit_form(page)

    assert shown.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)
    expect(page.locator("main")).to_contain_text("Manager consultation")
    [record] = school.decisions("consultation")
    assert record == {"advice": "share", "rationale": "Neglect indicators meet the early help threshold"}


def test_share_form_then_the_recipient_opens_only_with_the_button(school, page):
    school.consent_by_helper()
    school.advice_by_helper()
    page.goto(school.url + school.task_path(DSL_EMAIL))
    expect(page.get_by_role("heading", level=1)).to_have_text("Share decision")

    fill_share(page, ["Children's Social Care", "Police Safeguarding Hub"])
    shown = submit_form(page)

    assert shown.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)
    [record] = school.decisions("share")
    assert record["decision"] == "share"
    assert sorted(record["recipients"]) == sorted(school.recipients.values())
    assert record["items"] == ["summary", "facts", "opinion"]
    assert (record["lawful_basis"], record["condition"]) == (
        "public_task", "safeguarding_children_and_individuals_at_risk")

    disclosure_path = school.task_path("csc@council.example")
    assert disclosure_path.startswith("/disclosures/")
    landing = page.goto(school.url + disclosure_path)
    assert landing is not None and landing.status == 200
    button = page.get_by_role("button", name="Email me a code")
    expect(button).to_be_visible()
    body = page.locator("body").inner_text()
    for secret in (factories.CONCERN_SUMMARY, factories.CONCERN_FACTS, factories.CONCERN_OPINION,
                   factories.PUPIL_GIVEN, factories.PUPIL_FAMILY):
        assert secret not in body and secret not in page.content(), secret
    assert all(d.accessed_at is None for d in school.disclosures()), "GET must not record receipt"

    with page.expect_navigation():
        button.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    assert all(d.accessed_at is None for d in school.disclosures()), "asking for a code must not record receipt"
    page.get_by_label("Code").fill(school.emailed_code("csc@council.example"))
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Show the information").click()

    assert navigation.value.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text(school.case_id)
    facts, opinion = section(page, "Facts"), section(page, "Opinion")
    expect(facts).to_contain_text(factories.CONCERN_FACTS)
    expect(facts).not_to_contain_text(factories.CONCERN_OPINION)
    expect(opinion).to_contain_text(factories.CONCERN_OPINION)
    expect(opinion).not_to_contain_text(factories.CONCERN_FACTS)
    expect(section(page, "Summary")).to_contain_text(factories.CONCERN_SUMMARY)
    shown_text = page.locator("main").inner_text()
    for withheld in (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.CONTACT_NAME, "19 Jul 2013"):
        assert withheld not in shown_text, f"{withheld!r} was not chosen, yet it was shown"
    received = {d.recipient_id: d.accessed_at for d in school.disclosures()}
    assert received[school.recipients["csc"]] is not None
    assert received[school.recipients["police"]] is None


def test_keyboard_reaches_every_control_with_visible_focus(school, page):
    page.goto(school.url + school.task_path(DSL_EMAIL))

    def focused() -> dict[str, Any]:
        return page.evaluate("""() => {
            const el = document.activeElement, style = getComputedStyle(el);
            return {tag: el.tagName.toLowerCase(), type: el.type || null, id: el.id, text: el.textContent.trim(),
                    outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                    visible: el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().height > 0};
        }""")

    page.keyboard.press("Tab")
    skip = focused()
    assert (skip["tag"], skip["text"]) == ("a", "Skip to main content")
    assert skip["visible"] and skip["outline"] != "none" and skip["width"] > 0, skip
    page.keyboard.press("Enter")
    assert focused()["id"] == "main"

    page.keyboard.press("Tab")
    first = focused()
    assert (first["tag"], first["type"], first["id"]) == ("input", "radio", "field-outcome"), first
    seen = [first]
    for _ in range(40):
        if seen[-1]["tag"] == "button":
            break
        page.keyboard.press("Tab")
        seen.append(focused())
    assert seen[-1]["tag"] == "button" and seen[-1]["text"] == SUBMIT, [s["id"] for s in seen]
    for control in seen:
        assert control["outline"] != "none" and control["width"] >= 2 and control["visible"], (
            "\n".join(map(str, seen)))
    reached = {s["id"] for s in seen}
    for field in ("field-outcome", "field-party", "field-party_name", "field-sought_at", "field-explicit",
                  "field-freely_given", "field-not_sought_reason", "field-explanation"):
        assert field in reached, (field, [s["id"] for s in seen])

    # A keyboard-only answer: arrow keys in the radio group and the list, typing, then Enter.
    def tab_to(element_id: str) -> None:
        for _ in range(40):
            if focused()["id"] == element_id:
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached #{element_id}")

    page.locator("#field-outcome").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="Consent not sought")).to_be_checked()
    tab_to("field-not_sought_reason")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Why was consent not sought?")).to_have_value("undue_delay")
    tab_to("field-explanation")
    page.keyboard.type("Immediate risk; the family could not be reached in time")
    page.keyboard.press("Tab")
    assert focused()["text"] == SUBMIT
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)
    [record] = school.decisions("consent")
    assert (record["outcome"], record["not_sought_reason"]) == ("not_sought", "undue_delay")
    assert record["explanation"] == "Immediate risk; the family could not be reached in time"


@PRESENTATION_ONLY
def test_pages_work_on_a_phone(app, mis, runtime, settings, server_url, phone):
    # Concerns quote what was seen online: one long unbroken address must not widen the page.
    address = "https://video.example/watch/" + "Qx7" * 40
    school = School(app, mis, runtime, settings, server_url, summary=f"Shared {address} with a friend",
                    facts=f"Showed staff {address} at 08:10")
    update = factories.concern_updated("C-browser-1", facts_addendum=f"Sent {address} again")  # the chronology
    assert mis.post(update).status_code in (200, 202)
    consent = school.url + school.task_path(DSL_EMAIL)
    phone.goto(consent)
    assert_no_sideways_scroll(phone, "consent")
    button = phone.get_by_role("button", name=SUBMIT)
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"], box
    for control in (phone.get_by_label("The consent was explicit"), phone.get_by_label("Consent given")):
        target = control.bounding_box()  # WCAG 2.2 target size: at least 24 by 24 CSS pixels
        assert target is not None and min(target["width"], target["height"]) >= 24, target
    phone.set_viewport_size({"width": 320, "height": 640})  # WCAG 1.4.10 reflow: 320 CSS pixels
    assert_no_sideways_scroll(phone, "consent at 320px")
    phone.set_viewport_size(PHONE)

    phone.get_by_role("radio", name="Consent given").tap()
    assert submit_form(phone).status == 422
    assert_no_sideways_scroll(phone, "consent with errors")

    fill_consent_given(phone)
    assert submit_form(phone).status == 200
    assert_no_sideways_scroll(phone, "confirmation")

    phone.goto(school.url + school.task_path(MANAGER_EMAIL))
    assert_no_sideways_scroll(phone, "consultation")
    phone.get_by_role("group", name="Your advice").get_by_label("Share", exact=True).check()
    phone.get_by_label("Your rationale").fill(f"Meets the threshold: see {address}")
    assert submit_form(phone).status == 200

    phone.goto(school.url + school.task_path(DSL_EMAIL))
    assert_no_sideways_scroll(phone, "share")  # the rationale is among the earlier decisions
    fill_share(phone, ["Children's Social Care"])
    phone.get_by_role("group", name="What do you share?").get_by_label("Chronology", exact=True).check()
    assert submit_form(phone).status == 200

    phone.goto(school.url + school.task_path("csc@council.example"))
    assert_no_sideways_scroll(phone, "disclosure landing")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Email me a code").tap()
    assert_no_sideways_scroll(phone, "disclosure code")
    phone.get_by_label("Code").fill(school.emailed_code("csc@council.example"))
    with phone.expect_navigation():
        phone.get_by_role("button", name="Show the information").tap()
    expect(section(phone, "Facts")).to_contain_text(address)
    assert_no_sideways_scroll(phone, "disclosure")

    gone = phone.goto(consent)
    assert gone is not None and gone.status == 410
    assert_no_sideways_scroll(phone, "link gone")


@PRESENTATION_ONLY
def test_every_page_passes_an_axe_core_scan(school, axe_page):
    page = axe_page
    consent = school.url + school.task_path(DSL_EMAIL)
    page.goto(consent)
    assert_accessible(page, "consent")
    page.get_by_role("radio", name="Consent given").check()
    assert submit_form(page).status == 422
    assert_accessible(page, "consent with errors")
    fill_consent_given(page)
    assert submit_form(page).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(RECORDED)
    assert_accessible(page, "confirmation")

    page.goto(school.url + school.task_path(MANAGER_EMAIL))
    assert_accessible(page, "consultation")
    page.get_by_role("group", name="Your advice").get_by_label("Share", exact=True).check()
    page.get_by_label("Your rationale").fill("Meets the threshold")
    assert submit_form(page).status == 200

    page.goto(school.url + school.task_path(DSL_EMAIL))
    assert_accessible(page, "share")
    page.get_by_role("group", name="Do you share this information?").get_by_label("Share", exact=True).check()
    assert submit_form(page).status == 422
    assert_accessible(page, "share with errors")
    fill_share(page, ["Children's Social Care"])
    assert submit_form(page).status == 200

    page.goto(school.url + school.task_path("csc@council.example"))
    assert_accessible(page, "disclosure landing")
    with page.expect_navigation():
        page.get_by_role("button", name="Email me a code").click()
    assert_accessible(page, "disclosure code")
    page.get_by_label("Code").fill("12ab")
    with page.expect_navigation():
        page.get_by_role("button", name="Show the information").click()
    assert_accessible(page, "disclosure code with an error")
    page.get_by_label("Code").fill(school.emailed_code("csc@council.example"))
    with page.expect_navigation():
        page.get_by_role("button", name="Show the information").click()
    assert_accessible(page, "disclosure")

    gone = page.goto(consent)
    assert gone is not None and gone.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
    assert_accessible(page, "link gone (410)")

    unknown = page.goto(school.url + "/tasks/not-a-real-token")
    assert unknown is not None and unknown.status == 404
    assert_accessible(page, "not found (404)")


@PRESENTATION_ONLY
def test_the_try_again_page_passes_an_axe_core_scan(school, axe_page):
    page = axe_page
    page.goto(school.url + school.task_path(DSL_EMAIL))
    page.locator("input[name=csrf_token]").evaluate("input => { input.value = 'forged'; }")
    fill_consent_given(page)

    assert submit_form(page).status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Please try again")
    assert_accessible(page, "please try again (400)")
    assert school.decisions("consent") == []
