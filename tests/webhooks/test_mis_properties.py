"""Whatever a (correctly signed) sender throws at the receiver: never a 500, never a partial write."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from infoshare_workflow.storage.models import Base

from .. import factories

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)

FIELDS = ["concern_id", "raised_at", "urgency", "threshold", "category", "summary", "facts", "opinion",
          "pupil", "reported_by", "assigned_dsl"]


@st.composite
def mutated_concerns(draw: Any) -> dict[str, Any]:
    """A valid concern with some fields replaced, removed, or nested values scrambled."""
    event = factories.concern_raised(draw(st.sampled_from(["C-prop-1", "C-prop-2"])))
    data = event["data"]
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            data[name] = draw(json_values)
        else:
            data.pop(name, None)
    if draw(st.booleans()):
        data["pupil"] = {**factories.pupil(), draw(st.sampled_from(["mis_id", "date_of_birth", "contacts"])):
                         draw(json_values)}
    if draw(st.booleans()):
        event["type"] = draw(st.sampled_from(["concern.raised", "concern.updated", "pupil.updated",
                                              "staff.upserted", "calendar.closures", "nonsense"]))
    return event


def row_counts(runtime: Any) -> dict[str, int]:
    with runtime.transaction() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables if t.name != "audit_events"}


SETTINGS = hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check(mis: Any, runtime: Any, body: bytes) -> None:
    before = row_counts(runtime)
    response = mis.post(body)
    assert response.status_code in (200, 202, 400, 413, 422), response.status_code
    assert response.is_json
    if response.status_code >= 400:
        assert row_counts(runtime) == before, "a rejected event changed the database"


@SETTINGS
@given(payload=json_values)
def test_random_json_never_breaks_the_receiver(mis, runtime, payload):
    check(mis, runtime, json.dumps(payload).encode())


@SETTINGS
@given(payload=st.binary(max_size=300))
def test_random_bytes_never_break_the_receiver(mis, runtime, payload):
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        # Cannot be signed as text; the receiver must still answer cleanly.
        response = mis.client.post("/webhooks/mis", data=payload, headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        return
    check(mis, runtime, payload)


@SETTINGS
@given(event=mutated_concerns())
def test_near_valid_concerns_are_accepted_whole_or_rejected_whole(mis, runtime, event):
    check(mis, runtime, json.dumps(event).encode())


# Any code point, unpaired surrogates and control characters included (sent as JSON escapes).
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)
TEXT_FIELDS = [("concern_id",), ("summary",), ("facts",), ("opinion",), ("category",), ("urgency",),
               ("raised_at",), ("assigned_dsl",), ("pupil", "mis_id"), ("pupil", "given_name"),
               ("pupil", "family_name"), ("pupil", "date_of_birth"), ("pupil", "year_group"), ("pupil", "email"),
               ("reported_by", "staff_id"), ("reported_by", "name")]


def nested(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@st.composite
def unicode_concerns(draw: Any) -> dict[str, Any]:
    """A valid concern with some text fields replaced by arbitrary Unicode, some wrapped in nesting."""
    event = factories.concern_raised(f"C-uni-{draw(st.integers(0, 3))}")
    for path in draw(st.lists(st.sampled_from(TEXT_FIELDS), min_size=1, max_size=4, unique=True)):
        target = event["data"]
        for key in path[:-1]:
            target = target[key]
        value: Any = draw(any_text)
        if draw(st.integers(0, 9)) == 0:
            value = nested(value, draw(st.sampled_from([1, 2, 15, 17, 40])))
        target[path[-1]] = value
    if draw(st.integers(0, 19)) == 0:  # thousands deep: written as text, too deep to build as objects
        event["data"]["facts"] = DEEP
    return event


DEEP = "__deep__"


def body_of(event: dict[str, Any]) -> bytes:
    """ensure_ascii: surrogates and control characters travel as \\u escapes, as JSON allows."""
    return json.dumps(event).replace(json.dumps(DEEP), "[" * 5000 + "]" * 5000).encode()


@SETTINGS
@given(event=unicode_concerns())
def test_any_unicode_or_nesting_is_refused_whole_or_becomes_a_case(mis, runtime, event):
    from infoshare_workflow.storage.models import Case

    before = row_counts(runtime)
    response = mis.post(body_of(event))

    assert response.status_code in (200, 202, 400, 422), response.status_code
    if response.status_code == 202:  # a 202 is a promise: mis.post has applied it
        with runtime.transaction() as session:
            assert session.scalars(select(Case.case_id).where(Case.case_id == response.get_json()["case_id"])).one()
    elif response.status_code >= 400:
        assert row_counts(runtime) == before, "a rejected event changed the database"
