"""The recipient directory: validated entries, audited changes, deactivated and never deleted."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from infoshare_workflow.records import audit
from infoshare_workflow.sharing.decision import active_recipients
from infoshare_workflow.sharing.recipients import (
    InvalidRecipient,
    RecipientNotFound,
    add_recipient,
    deactivate_recipient,
    get_recipient,
    list_recipients,
    reactivate_recipient,
    update_recipient,
)
from infoshare_workflow.storage.models import AuditEvent, Case, DecisionRecord, Disclosure, Recipient, utcnow

from .. import factories
from ..audit_trail import actions
from ..concurrency import meeting_after, side_by_side

MASH = {"name": "Northshire MASH", "kind": "childrens_social_care", "email": "mash@northshire.gov.example"}


def add(runtime, **overrides):
    values = {**MASH, **overrides}
    with runtime.transaction() as session:
        return add_recipient(session, values.pop("name"), values.pop("kind"), values.pop("email"),
                             actor="admin:test", **values)


def recipient_events(runtime):
    with runtime.transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("recipient.%")).order_by(AuditEvent.seq)
        ).all()
        return [(e.actor, e.action, json.loads(e.details)) for e in events]


def disclose_to(runtime, mis, recipient_id):
    """A real case with a disclosure row pointing at the recipient, as an executed share leaves."""
    case_id = mis.post(factories.concern_raised()).get_json()["case_id"]
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        record = DecisionRecord(case_pk=case.id, kind="share", recorded_by="S-02",
                                payload={"decision": "share", "recipients": [recipient_id]})
        session.add(record)
        session.flush()
        disclosure = Disclosure(case_pk=case.id, decision_id=record.id, recipient_id=recipient_id,
                                link_id="d" * 43, items=["summary"], content={"summary": "x"},
                                snapshot_hash="0" * 64, expires_at=utcnow() + timedelta(days=14))
        session.add(disclosure)
        session.flush()
        return disclosure.id


def test_a_new_recipient_is_active_and_its_addition_is_audited(runtime):
    recipient = add(runtime)

    assert recipient.id and (recipient.name, recipient.kind, recipient.email, recipient.active) == (
        MASH["name"], MASH["kind"], MASH["email"], True)
    assert recipient_events(runtime) == [("admin:test", "recipient.added", {
        "recipient_id": recipient.id, "name": MASH["name"], "kind": MASH["kind"], "active": True})]


def test_a_recipient_can_be_added_inactive(runtime):
    assert add(runtime, active=False).active is False


def test_surrounding_whitespace_is_trimmed_from_name_and_email(runtime):
    recipient = add(runtime, name="  Northshire MASH ", email=" mash@northshire.gov.example  ")
    assert (recipient.name, recipient.email) == (MASH["name"], MASH["email"])


@pytest.mark.parametrize("field, value", [
    ("name", ""), ("name", "   "), ("name", "x" * 201), ("name", "Two\nlines"), ("name", "Tab\there"),
    ("kind", "social_services"), ("kind", ""), ("email", "not-an-address"), ("email", "a@b.org\nBcc: x@y.org"),
    ("email", ""),
])
def test_a_bad_value_is_refused_naming_its_field(runtime, field, value):
    with pytest.raises(InvalidRecipient) as refused:
        add(runtime, **{field: value})
    assert set(refused.value.errors) == {field}
    with runtime.transaction() as session:
        assert session.scalars(select(Recipient)).all() == []
    assert recipient_events(runtime) == []


def test_every_wrong_field_is_named_at_once(runtime):
    with pytest.raises(InvalidRecipient) as refused:
        add(runtime, name="", kind="nope", email="nope")
    assert set(refused.value.errors) == {"name", "kind", "email"}
    assert "email" in str(refused.value)


def test_a_name_may_be_200_characters_long(runtime):
    assert len(add(runtime, name="x" * 200).name) == 200


def test_the_directory_lists_by_name_regardless_of_case_and_engine(runtime):
    for name in ("police Scotland", "Health visitors", "Early Help Hub", "army welfare"):
        add(runtime, name=name)
    with runtime.transaction() as session:
        names = [r.name for r in list_recipients(session)]
    assert names == ["army welfare", "Early Help Hub", "Health visitors", "police Scotland"]


def test_inactive_entries_are_listed_unless_asked_not_to(runtime):
    kept, retired = add(runtime, name="A"), add(runtime, name="B")
    with runtime.transaction() as session:
        deactivate_recipient(session, retired.id, actor="admin:test")
    with runtime.transaction() as session:
        assert [r.id for r in list_recipients(session)] == [kept.id, retired.id]
        assert [r.id for r in list_recipients(session, include_inactive=False)] == [kept.id]


def test_an_update_changes_only_the_given_fields_and_audits_which(runtime):
    recipient = add(runtime)
    with runtime.transaction() as session:
        changed = update_recipient(session, recipient.id, {"kind": "early_help", "email": "hub@example.org"},
                                   actor="admin:ops")
    assert (changed.name, changed.kind, changed.email) == (MASH["name"], "early_help", "hub@example.org")
    assert recipient_events(runtime)[-1] == ("admin:ops", "recipient.updated", {
        "recipient_id": recipient.id, "fields": ["email", "kind"], "kind": "early_help"})


def test_an_update_that_changes_nothing_is_not_audited(runtime):
    recipient = add(runtime)
    with runtime.transaction() as session:
        update_recipient(session, recipient.id, {"name": MASH["name"], "active": True}, actor="admin:test")
    assert [action for _, action, _ in recipient_events(runtime)] == ["recipient.added"]


@pytest.mark.parametrize("changes, field", [
    ({}, "_schema"), ({"colour": "blue"}, "colour"), ({"email": "nope"}, "email"), ({"name": None}, "name"),
    ({"active": "no"}, "active"), ({"kind": "mash"}, "kind"),
])
def test_a_bad_update_is_refused_naming_its_field_and_changes_nothing(runtime, changes, field):
    recipient = add(runtime)
    with runtime.transaction() as session, pytest.raises(InvalidRecipient) as refused:
        update_recipient(session, recipient.id, changes, actor="admin:test")
    assert field in refused.value.errors
    with runtime.transaction() as session:
        assert get_recipient(session, recipient.id).email == MASH["email"]


@pytest.mark.parametrize("recipient_id", [0, -1, 999_999, 2**31, 10**20, True, "1"])
def test_an_unknown_id_is_not_found(runtime, recipient_id):
    add(runtime)
    with runtime.transaction() as session:
        with pytest.raises(RecipientNotFound):
            update_recipient(session, recipient_id, {"name": "x"}, actor="admin:test")
        with pytest.raises(RecipientNotFound):
            deactivate_recipient(session, recipient_id, actor="admin:test")


def test_deactivating_keeps_the_entry_but_takes_it_off_the_list_a_share_chooses_from(runtime):
    recipient = add(runtime)
    with runtime.transaction() as session:
        deactivate_recipient(session, recipient.id, actor="admin:ops")
    with runtime.transaction() as session:
        assert get_recipient(session, recipient.id).active is False
        assert active_recipients(session) == []
    assert recipient_events(runtime)[-1] == ("admin:ops", "recipient.deactivated", {
        "recipient_id": recipient.id, "name": MASH["name"], "kind": MASH["kind"]})


def test_deactivating_twice_records_one_event(runtime):
    recipient = add(runtime)
    for _ in range(2):
        with runtime.transaction() as session:
            deactivate_recipient(session, recipient.id, actor="admin:test")
    assert [action for _, action, _ in recipient_events(runtime)] == ["recipient.added", "recipient.deactivated"]


@pytest.mark.postgresql_only
def test_deactivating_twice_at_the_same_moment_records_one_event_and_one_revocation(runtime, mis):
    """Each request is held just after reading the entry until the other has read it too (or a
    second has passed, when it rightly waits for the other): both see it active."""
    recipient = add(runtime)
    disclose_to(runtime, mis, recipient.id)
    def deactivate() -> bool:
        with runtime.transaction() as session:
            return deactivate_recipient(session, recipient.id, actor="admin:test").active

    outcomes = side_by_side(runtime, {"after_cursor_execute": meeting_after("SELECT recipients", "admin")},
                            admin_1=deactivate, admin_2=deactivate)

    assert outcomes == {"admin_1": False, "admin_2": False}
    assert [action for _, action, _ in recipient_events(runtime)] == ["recipient.added", "recipient.deactivated"]
    assert actions(runtime, "disclosure.").count("disclosure.revoked") == 1


def test_a_recipient_that_received_a_disclosure_keeps_its_record_when_deactivated(runtime, mis):
    recipient = add(runtime)
    disclosure_id = disclose_to(runtime, mis, recipient.id)

    with runtime.transaction() as session:
        deactivate_recipient(session, recipient.id, actor="admin:test")

    with runtime.transaction() as session:
        disclosure = session.get(Disclosure, disclosure_id)
        assert disclosure.recipient.id == recipient.id and disclosure.recipient.name == MASH["name"]
        assert disclosure.recipient.active is False


def test_reactivating_brings_an_entry_back_to_the_share_list(runtime):
    recipient = add(runtime)
    with runtime.transaction() as session:
        deactivate_recipient(session, recipient.id, actor="admin:test")
    with runtime.transaction() as session:
        reactivate_recipient(session, recipient.id, actor="admin:test")
    with runtime.transaction() as session:
        assert [r.id for r in active_recipients(session)] == [recipient.id]
    assert recipient_events(runtime)[-1][1:] == ("recipient.reactivated", {
        "recipient_id": recipient.id, "name": recipient.name, "kind": recipient.kind})


def test_the_audit_trail_never_holds_an_email_address_and_stays_sound(runtime):
    recipient = add(runtime, email="jane.doe@police.example")
    with runtime.transaction() as session:
        update_recipient(session, recipient.id, {"email": "john.roe@police.example"}, actor="admin:test")
        deactivate_recipient(session, recipient.id, actor="admin:test")
    trail = json.dumps(recipient_events(runtime))
    assert "jane.doe" not in trail and "john.roe" not in trail
    with runtime.transaction() as session:
        assert audit.verify(session).ok
