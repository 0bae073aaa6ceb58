"""Whatever is posted to a form behind an emailed link: never a 500; a form with errors is a 422
whose error summary names the fields, and changes nothing in the database; a valid form is
accepted once, and the same post again changes nothing.

The links are real (the workflow run in-process to each step, tests/abuse/forms.py), the
CSRF token is the page's own, and the database is compared row for row before and after.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

from ..workflow import consent_given, csrf_of, share_form
from .forms import (
    KINDS,
    Desk,
    consent_forms,
    consultation_forms,
    database,
    disclosure_forms,
    error_targets,
    information_forms,
    on_the_page,
    reconsideration_forms,
    review_forms,
    share_forms,
)

pytestmark = pytest.mark.postgresql_only

EXAMPLES = int(os.environ.get("INFOSHARE_FORM_EXAMPLES", "20"))
SETTINGS = hsettings(max_examples=EXAMPLES, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DATE_PART = re.compile(r"-(day|month|year|time)$")
IN_THE_FUTURE = (date.today() + timedelta(days=90)).isoformat()

STRATEGIES = {
    "consent": lambda desk: consent_forms(),
    "consultation": lambda desk: consultation_forms(),
    "information": lambda desk: information_forms(),
    "share": lambda desk: share_forms(list(desk.recipients.values())),
    "reconsideration": lambda desk: reconsideration_forms(),
    "review": lambda desk: review_forms(),
    "disclosure": lambda desk: disclosure_forms(),
}
VALID = {
    "consent": lambda desk: consent_given(),
    "consultation": lambda desk: {"advice": "share", "rationale": "Risk is clear"},
    "information": lambda desk: {"response": "No sibling at the school"},
    "share": lambda desk: share_form([desk.recipients["csc"]], confirm="y"),
    "reconsideration": lambda desk: {"reconsider": "send_now"},
    "review": lambda desk: {"decision_A": "retain", "reason_A": "Still relevant", "review_on_A": IN_THE_FUTURE},
}


@pytest.fixture
def desk(app, mis, runtime, settings) -> Desk:
    return Desk(app, mis, runtime, settings)


def named(html: str) -> set[str]:
    """The fields the page offers (a date's parts as the date's own name)."""
    return {DATE_PART.sub("", name) for name in re.findall(r'name="([^"]+)"', html)}


def opened(desk: Desk, kind: str, form: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """Open the link as a person would: its path, its page, and `form` with the page's CSRF token."""
    path = desk.link(kind)
    page = desk.client.get(path)
    assert page.status_code == 200, (kind, page.status_code)
    html = page.get_data(as_text=True)
    if kind == "review":
        form = on_the_page(form, re.findall(r'name="decision_([^"]+)"', html))
    return path, html, form if kind == "disclosure" else {**form, "csrf_token": csrf_of(html)}


def check(desk: Desk, kind: str, form: dict[str, Any]) -> int:
    path, page, data = opened(desk, kind, form)
    before = database(desk.runtime)
    response = desk.client.post(path, data=data)
    status = response.status_code

    assert status in (303, 422) or (status == 200 and kind == "share" and "confirm" not in form), status
    if status == 422:
        targets = error_targets(response.get_data(as_text=True))
        posted = {DATE_PART.sub("", key) for key in data}
        assert targets, "a 422 that names no field"
        # Each error links to a field on the page or posted; one the form has no field for, to the page.
        assert targets - {"main-content"} <= named(page) | posted, targets
        assert ("main-content" in targets) <= bool(posted - named(page)), targets
    if status != 303:
        assert database(desk.runtime) == before, f"a {status} changed the database"
        return status
    after = database(desk.runtime)
    assert after != before, "an accepted form recorded nothing"
    replay = desk.client.post(path, data=data)
    assert replay.status_code in (410, 422), replay.status_code
    assert database(desk.runtime) == after, "the same form, posted again, changed the database"
    desk.answered(kind)
    return status


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "disclosure"])
def test_any_answer_to_a_task_form_is_refused_whole_or_accepted_once(desk, kind):
    assert check(desk, kind, VALID[kind](desk)) == 303

    @SETTINGS
    @given(form=STRATEGIES[kind](desk))
    def any_answer(form: dict[str, Any]) -> None:
        check(desk, kind, form)

    any_answer()


@SETTINGS
@given(form=disclosure_forms())
def test_any_code_typed_on_a_disclosure_is_a_422_and_only_a_real_try_is_counted(desk, form):
    path, _, data = opened(desk, "disclosure", form)
    before = database(desk.runtime)
    response = desk.client.post(path, data=data)

    assert response.status_code == 422  # no code was sent: nothing typed can open it
    assert error_targets(response.get_data(as_text=True)) == {"code"}
    if not re.fullmatch(r"\d{6}", form["code"].replace(" ", "")):  # not a code at all: not even a try
        assert database(desk.runtime) == before
