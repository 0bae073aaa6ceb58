"""A 202 is a promise: whatever cannot be stored and applied is refused before anything is stored.

Each of these was answered 202, then failed in the worker until parked, and the case was
never seen (issue: "a 202 is a promise").
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from infoshare_workflow.storage.models import Case, ReceivedEvent

from .. import factories


def stored(runtime) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(ReceivedEvent))


def post(mis, event_or_body):
    body = event_or_body if isinstance(event_or_body, bytes) else json.dumps(event_or_body).encode()
    return mis.post(body)


@pytest.mark.parametrize(("where", "overrides"), [
    (("pupil", "year_group"), {"pupil": {"year_group": "Year\x007"}}),
    (("pupil", "mis_id"), {"pupil": {"mis_id": "P-\x001"}}),
    (("pupil", "given_name"), {"pupil": {"given_name": "Sam\x1b[2J"}}),
    (("facts",), {"facts": "She said \ud83d it hurt"}),
    (("opinion",), {"opinion": "Lone low surrogate \udc00 here"}),
    (("raised_at",), {"raised_at": "9999-12-31T23:59:59-14:00"}),
    (("raised_at",), {"raised_at": "0001-01-01T00:00:00+14:00"}),
    (("raised_at",), {"raised_at": "2099-01-01T00:00:00+00:00"}),
    (("pupil", "date_of_birth"), {"pupil": {"date_of_birth": "1066-10-14"}}),
    (("pupil", "contacts", "0", "relationship"), {"pupil": {"contacts": [{"name": "A B", "relationship": "x" * 65}]}}),
    (("pupil", "contacts", "0", "preferred_language"), {"pupil": {"contacts": [{"name": "A B",
                                                                              "preferred_language": "en\x00"}]}}),
])
def test_a_concern_that_could_not_be_stored_is_422_naming_the_field_and_stores_nothing(mis, runtime, where, overrides):
    response = post(mis, factories.concern_raised("C-bad-1", **overrides))

    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["data"]
    for key in where:  # the errors name the field, list items by position
        errors = errors[key]
    assert errors
    assert stored(runtime) == 0


def test_facts_keep_their_line_breaks_and_tabs(mis, runtime):
    response = post(mis, factories.concern_raised("C-lines", facts="08:10 seen at the gate.\n\tShe was crying.\r\n"))
    assert response.status_code == 202
    with runtime.transaction() as session:
        assert session.scalars(select(Case)).one().concern.facts.endswith("She was crying.\r\n")


def test_an_envelope_timestamp_from_the_far_future_is_422(mis, runtime):
    event = factories.staff_upserted("S-1", ["dsl"])
    event["timestamp"] = "2099-01-01T00:00:00+00:00"
    response = post(mis, event)
    assert response.status_code == 422
    assert "timestamp" in response.get_json()["errors"]
    assert stored(runtime) == 0


@pytest.mark.parametrize("depth", [20, 5_000, 100_000])
def test_json_nested_deeply_is_400_not_500(mis, runtime, depth):
    event = factories.concern_raised("C-deep")
    body = json.dumps(event).encode()[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    response = post(mis, body)
    assert response.status_code == 400
    assert "nested" in response.get_json()["message"]
    assert stored(runtime) == 0


def test_nan_is_not_json(mis, runtime):
    response = post(mis, b'{"type": "calendar.closures", "timestamp": NaN, "data": {"dates": ["2026-12-21"]}}')
    assert response.status_code == 400
    assert stored(runtime) == 0


def test_a_concern_with_every_field_at_its_limit_is_accepted_and_becomes_a_case(mis, runtime):
    contact = {"name": "N" * 200, "relationship": "r" * 64, "email": "a@" + "b" * 60 + ".example",
               "parental_responsibility": True, "preferred_language": "cy-GB"}
    event = factories.concern_raised(
        "C" * 64, summary="s" * 500, facts="f" * 20_000, opinion="o" * 20_000, assigned_dsl="D" * 64,
        raised_at="1900-01-01T00:00:00+00:00",
        pupil={"mis_id": "P" * 64, "given_name": "G" * 200, "family_name": "F" * 200, "year_group": "Y" * 32,
               "date_of_birth": "1900-01-01", "contacts": [contact] * 50},
        reported_by={"staff_id": "S" * 64, "name": "R" * 200})
    response = post(mis, event)
    assert response.status_code == 202, response.get_json()
    with runtime.transaction() as session:
        assert session.scalars(select(Case.case_id)).one() == response.get_json()["case_id"]
