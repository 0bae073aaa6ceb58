"""What a person does on the pages, by labels and roles as they read them, for the browser tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .. import factories
from .conftest import AXE, PHONE

SUBMIT = "Record my answer"
CONTINUE = "Continue"
RECORDED = "Your answer is recorded"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PERSONAL = [factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.PUPIL_DOB, "19 Jul 2013",
            factories.CONTACT_NAME, *factories.CONTACT_NAME.split()]
PRINCIPLE_LABELS = ("Necessary for the purpose", "Proportionate to the need and the risk",
                    "Relevant, and only to those who need it", "Adequate for its purpose",
                    "Accurate and up to date, fact and opinion apart", "Shared in a timely fashion",
                    "Shared securely")
# What marshmallow says when nobody wrote a message: never shown to a person.
LIBRARY_WORDS = ("Missing data for required field", "Not a valid", "Must be one of", "Unknown field",
                 "This field is required", "Longer than maximum length", "Field may not be null")


def yesterday() -> datetime:
    """A moment on the school's clock, safely in the past, to the minute."""
    return (datetime.now(ZoneInfo("Europe/London")) - timedelta(days=1)).replace(second=0, microsecond=0)


def press(page: Any, name: str) -> Any:
    """Press a button; returns the response the browser finally showed."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=name).click()
    return navigation.value


def fill_date(page: Any, legend: str, when: datetime, with_time: bool = False) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(when.day))
    group.get_by_label("Month").fill(str(when.month))
    group.get_by_label("Year").fill(str(when.year))
    if with_time:
        page.get_by_label("Time (24-hour clock)").fill(when.strftime("%H:%M"))


def fill_consent_given(page: Any, party_name: str = factories.CONTACT_NAME, when: datetime | None = None) -> None:
    page.get_by_role("radio", name="Consent given").check()
    page.get_by_role("group", name="Who was asked?").get_by_label("Parent or carer").check()
    page.get_by_label("Their name").fill(party_name)
    fill_date(page, "When was consent sought?", when or yesterday(), with_time=True)
    page.get_by_label("The consent was explicit").check()
    page.get_by_label("The consent was freely given").check()


def fill_share(page: Any, recipients: list[str]) -> None:
    page.get_by_role("group", name="Do you share this information?").get_by_label("Share", exact=True).check()
    page.get_by_label("Your reasons").fill("Risk of neglect needs an assessment")
    who = page.get_by_role("group", name="Who receives it?")
    for name in recipients:
        who.get_by_label(name).check()
    page.get_by_label("For what purpose?").fill("Section 17 assessment")
    page.get_by_role("group", name="Lawful basis (UK GDPR Article 6)").get_by_label(
        "Public task (Art. 6(1)(e))").check()
    page.get_by_role("group", name="Special category condition").get_by_label(
        "Safeguarding of children and individuals at risk (DPA 2018 Sch. 1 Pt. 2 para. 18)").check()
    what = page.get_by_role("group", name="What do you share?")
    for item in ("Summary of the concern", "Facts", "Opinion"):
        what.get_by_label(item, exact=True).check()
    principles = page.get_by_role("group", name="Confirm each principle (golden rule 6)")
    for principle in PRINCIPLE_LABELS:
        principles.get_by_label(principle).check()


def section(page: Any, heading: str) -> Any:
    """What follows an h2 on the disclosure page, up to the next heading."""
    return page.get_by_role("heading", name=heading, exact=True, level=2).locator("xpath=following-sibling::*[1]")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    assert len(result["passes"]) >= 5, "axe-core checked almost nothing: is the page empty?"
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]]} for v in result["violations"]]


def assert_accessible(page: Any, name: str) -> None:
    serious = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert serious == [], f"axe-core on the {name} page ({page.url}):\n" + "\n".join(map(str, serious))


def assert_no_sideways_scroll(page: Any, name: str) -> None:
    # A mobile browser zooms out to fit a page that is too wide (innerWidth grows with it),
    # so the page must also fit the device's own width.
    device = page.viewport_size["width"] if page.viewport_size else PHONE["width"]
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner and scroll <= device, (
        f"the {name} page scrolls sideways: {scroll}px wide in a {device}px screen (innerWidth {inner}px)")
