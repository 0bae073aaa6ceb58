"""A desk of open forms for the form properties: one live link per kind of form, a fresh case
(or review list) made only when the last one was answered; and what each form's fields may hold.

Every form a person reaches by an emailed link is here: consent, consultation, the manager's
question (information), share, reconsideration of a notice held back, a retention review
list, and a disclosure's one-time code.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from infoshare_workflow import vocabulary as vocab
from infoshare_workflow.review import sweep
from infoshare_workflow.storage.models import Base

from .. import factories
from .. import workflow as wf
from ..review.school import Report, due_cases, no_progress
from ..sharing.family import HOLD, ask_again

CSC_EMAIL = "csc@council.example"
KINDS = ("consent", "consultation", "information", "share", "reconsideration", "review", "disclosure")


class Desk:
    """Live links to every form, made on demand through the real workflow (in-process)."""

    def __init__(self, app: Any, mis: Any, runtime: Any, settings: Any) -> None:
        self.app, self.mis, self.runtime, self.settings = app, mis, runtime, settings
        self.client = app.test_client()
        self.recipients = wf.set_up_school(mis, runtime)
        self.links: dict[str, str] = {}
        self.made = 0

    def link(self, kind: str) -> str:
        if kind not in self.links:
            self.links[kind] = self._make(kind)
        return self.links[kind]

    def answered(self, kind: str) -> None:
        """The form was accepted: its link is spent unless the page still has more to answer."""
        if self.client.get(self.links[kind]).status_code != 200:
            del self.links[kind]

    def _answer(self, address: str, form: dict[str, Any]) -> None:
        response = wf.answer(self.client, self.settings, self.app, address, form)
        assert response.status_code == 303, response.status_code

    def _latest(self, address: str) -> str:
        wf.drain(self.app)
        return wf.link_in(wf.latest_to(self.settings.outbox_dir, address))

    def _make(self, kind: str) -> str:
        self.made += 1
        if kind == "review":
            due_cases(self.mis, self.runtime, 2, prefix=f"C-rev{self.made}")
            sweep.retention_sweep(self.runtime, self.made, no_progress, Report())
            wf.drain(self.app)
            mails = [m for m in wf.read_outbox(self.settings.outbox_dir) if "Retention review" in m["Subject"]]
            return wf.link_in(mails[-1])
        response = self.mis.post(factories.concern_raised(f"C-form-{self.made}",
                                                          pupil={"mis_id": f"P-form-{self.made}"}))
        assert response.status_code == 202, response.get_json()
        if kind == "consent":
            return self._latest(wf.DSL_EMAIL)
        wf.drain(self.app)
        self._answer(wf.DSL_EMAIL, wf.REFUSED if kind == "reconsideration" else wf.consent_given())
        if kind == "consultation":
            return self._latest(wf.MANAGER_EMAIL)
        more = kind == "information"
        self._answer(wf.MANAGER_EMAIL, {"advice": "more_information" if more else "share",
                                     "rationale": "Is there a sibling at the school?" if more else "Risk is clear"})
        if kind in ("information", "share"):
            return self._latest(wf.DSL_EMAIL)
        held = HOLD if kind == "reconsideration" else {}
        self._answer(wf.DSL_EMAIL, wf.share_form([self.recipients["csc"]], **held))
        if kind == "disclosure":
            return self._latest(CSC_EMAIL)
        ask_again(self.runtime, self.app)
        return self._latest(wf.DSL_EMAIL)


def database(runtime: Any) -> list[str]:
    """Every row of every table, as text: "changes nothing" means this is the same after."""
    with runtime.engine.connect() as connection:
        return [f"{table.name}: {sorted(' '.join(map(str, row)) for row in connection.execute(table.select()))}"
                for table in Base.metadata.sorted_tables]


def error_targets(html: str) -> set[str]:
    """The fields the page's error summary links to (its `#field` anchors)."""
    summary = re.search(r'class="govuk-list govuk-error-summary__list">.*?</ul>', html, re.DOTALL)
    assert summary, "a 422 page without an error summary"
    return {re.sub(r"-day$", "", anchor) for anchor in re.findall(r'href="#([^"]+)"', summary.group(0))}


# Anything a browser (or something pretending to be one) can post: any character but lone
# surrogates (which no form encoding can carry), NUL and control characters included.
any_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
long_text = st.just("x" * 5001)


def value(*good: str) -> st.SearchStrategy[str]:
    """Usually a value the form offers, otherwise blank, arbitrary or too long."""
    offered = st.sampled_from(good) if good else st.text(min_size=1, max_size=30)
    return st.one_of(offered, offered, st.just(""), any_text, long_text)


def date_parts(name: str, *, with_time: bool = False, future: bool = False) -> st.SearchStrategy[dict[str, str]]:
    """A date as GOV.UK's day, month and year inputs (and a time), or as ISO in the field itself."""
    real = date.today() + timedelta(days=30 if future else -1)
    parts = {"day": value(str(real.day)), "month": value(str(real.month)), "year": value(str(real.year), "0", "99999")}
    if with_time:
        parts["time"] = value("09:30", "25:00", "9.3")
    iso = st.fixed_dictionaries({name: value(real.isoformat() + ("T09:30" if with_time else ""), "2026-02-30")})
    split = st.fixed_dictionaries({}, optional={f"{name}-{p}": s for p, s in parts.items()})
    return st.one_of(iso, split, st.just({}))


def multi(*good: str) -> st.SearchStrategy[list[str]]:
    return st.lists(value(*good), max_size=4)


@st.composite
def fields(draw: Any, declared: dict[str, st.SearchStrategy[Any]],
           dates: tuple[st.SearchStrategy[dict[str, str]], ...] = ()) -> dict[str, Any]:
    """Some of the form's fields (each may be left out), its dates, and now and then a stranger."""
    form = draw(st.fixed_dictionaries({}, optional=declared))
    for strategy in dates:
        form.update(draw(strategy))
    if draw(st.integers(0, 9)) == 0:
        form[draw(st.text(min_size=1, max_size=12))] = draw(any_text)
    return form


def consent_forms() -> st.SearchStrategy[dict[str, Any]]:
    return fields({"outcome": value(*vocab.CONSENT_OUTCOMES), "party": value(*vocab.CONSENT_PARTIES),
                   "party_name": value(factories.CONTACT_NAME), "explicit": value("y"), "freely_given": value("y"),
                   "not_sought_reason": value(*vocab.NOT_SOUGHT_REASONS), "explanation": value()},
                  (date_parts("sought_at", with_time=True),))


def consultation_forms() -> st.SearchStrategy[dict[str, Any]]:
    return fields({"advice": value(*vocab.ADVICE), "rationale": value()})


def information_forms() -> st.SearchStrategy[dict[str, Any]]:
    return fields({"response": value()})


def share_forms(recipient_ids: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    ids = [str(i) for i in recipient_ids] + ["0", "-1", "99999999999999999999"]
    return fields({"decision": value(*vocab.SHARE_DECISIONS), "reasons": value(), "recipients": multi(*ids),
                   "purpose": value(), "lawful_basis": value(*vocab.LAWFUL_BASES),
                   "condition": value(*vocab.CONDITIONS), "items": multi(*vocab.SHARE_ITEMS),
                   **{p: value("y") for p in vocab.PRINCIPLES}, "family_notice": value(*vocab.FAMILY_NOTICE),
                   "suppress_reason": value(), "confirm": value("y")},
                  (date_parts("reconsider_on", future=True),))


def reconsideration_forms() -> st.SearchStrategy[dict[str, Any]]:
    return fields({"reconsider": value(*vocab.RECONSIDER), "suppress_reason": value()},
                  (date_parts("reconsider_on", future=True),))


SLOTS = ("A", "B")  # the review page's cases, by place: filled in with their ids when posted


def review_forms() -> st.SearchStrategy[dict[str, Any]]:
    declared: dict[str, st.SearchStrategy[Any]] = {}
    dates = []
    for slot in SLOTS:
        declared[f"decision_{slot}"] = value("retain", "dispose")
        declared[f"reason_{slot}"] = value()
        dates.append(date_parts(f"review_on_{slot}", future=True))
    return fields(declared, tuple(dates))


def on_the_page(form: dict[str, Any], case_ids: list[str]) -> dict[str, Any]:
    """A review form's slots named after the cases the page shows."""
    named = {}
    for key, item in form.items():
        for slot, case_id in zip(SLOTS, case_ids, strict=False):
            key = re.sub(rf"_{slot}(-|$)", rf"_{case_id}\1", key)
        named[key] = item
    return named


def disclosure_forms() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"code": st.one_of(value("123456", "12 34 56", "12345", "1234567"),
                                                    st.text(alphabet="0123456789 ", max_size=8))})
