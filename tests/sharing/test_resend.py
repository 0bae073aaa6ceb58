"""A fresh link for an open step, and a new hand for it: an admin resends or reassigns, and the
holder of a dead link asks for a fresh one, which only ever goes to the assignee, at most once
per step every 10 minutes (golden rules 5, 6 and 7)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from infoshare_workflow.sharing.resend import (
    AssigneeUnreachable,
    CaseNotFound,
    InvalidReassignment,
    StepNotFound,
    StepNotOpen,
    StepUnassigned,
    find_step,
    reassign_step,
    request_fresh_link,
    resend_link,
)
from infoshare_workflow.storage.models import Case, Email, Reassignment, Staff, Step, utcnow
from infoshare_workflow.storage.runtime import build_runtime

from .. import factories
from ..audit_trail import audited
from ..workflow import DSL, DSL_EMAIL, MANAGER, consent_given, drain, latest_to, link_in, read_outbox, submit

OTHER_DSL, OTHER_DSL_EMAIL = "S-03", "s-03@school.example"


@pytest.fixture
def case_id(mis, app) -> str:
    """A school with two DSLs and a manager, and a case whose consent step S-02 holds (emailed)."""
    for staff_id, role in ((DSL, "dsl"), (OTHER_DSL, "dsl"), (MANAGER, "manager")):
        assert mis.post(factories.staff_upserted(staff_id, [role])).status_code == 202
    accepted = mis.post(factories.concern_raised("C-resend", assigned_dsl=DSL)).get_json()
    drain(app)
    return accepted["case_id"]


def step_id(runtime, kind: str = "consent") -> int:
    with runtime.transaction() as session:
        return session.scalars(select(Step.id).where(Step.kind == kind)).one()


def resend(runtime, kind: str = "consent", actor: str = "admin:ops") -> None:
    with runtime.transaction() as session:
        resend_link(session, session.get(Step, step_id(runtime, kind)), actor=actor)


def request(runtime, now=None) -> bool:
    with runtime.transaction() as session:
        return request_fresh_link(session, session.get(Step, step_id(runtime)), now=now)


def task_emails(runtime) -> list[str]:
    """Who each task email went to, oldest first."""
    with runtime.transaction() as session:
        return list(session.scalars(select(Email.to_label).where(Email.template == "task").order_by(Email.created_at)))


def test_resending_emails_the_assignee_a_fresh_link_and_the_old_one_answers_410(case_id, runtime, app, settings,
                                                                                 client):
    old_link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))

    resend(runtime)
    drain(app)

    new_link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))
    assert new_link != old_link
    assert client.get(old_link).status_code == 410
    assert client.get(new_link).status_code == 200


def test_every_older_link_of_the_step_dies_not_only_the_last(case_id, runtime, app, settings, client):
    first = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))
    resend(runtime)
    drain(app)
    second = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))

    resend(runtime)
    drain(app)

    assert [client.get(link).status_code for link in (first, second)] == [410, 410]
    assert client.get(link_in(latest_to(settings.outbox_dir, DSL_EMAIL))).status_code == 200


def test_the_resent_email_is_the_task_email_the_step_opened_with(case_id, runtime, app, settings):
    opened = latest_to(settings.outbox_dir, DSL_EMAIL)

    resend(runtime)
    drain(app)

    resent = latest_to(settings.outbox_dir, DSL_EMAIL)
    assert resent["Subject"] == opened["Subject"] and case_id in resent["Subject"]
    assert factories.PUPIL_GIVEN not in resent.as_string()


def test_a_resend_is_audited_by_step_with_the_actor(case_id, runtime):
    resend(runtime, actor="admin:ops")

    assert audited(runtime, "step.link_resent") == [
        ("admin:ops", case_id, {"step": "consent", "step_id": step_id(runtime), "assignee": DSL})]


def test_a_pending_step_cannot_be_resent(case_id, runtime):
    with pytest.raises(StepNotOpen, match="consultation step is pending"):
        resend(runtime, kind="consultation")
    assert audited(runtime, "step.link_resent") == []


def test_an_answered_step_cannot_be_resent(case_id, runtime, app, settings, client):
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)), consent_given())

    with pytest.raises(StepNotOpen, match="consent step is done"):
        resend(runtime)


def test_a_step_nobody_holds_cannot_be_resent_and_says_to_reassign_it(case_id, runtime, mis):
    mis.post(factories.staff_upserted(OTHER_DSL, ["dsl"], active=False))
    mis.post(factories.staff_upserted(DSL, ["dsl"], active=False))

    with pytest.raises(StepUnassigned, match="reassign it"):
        resend(runtime)


def test_an_assignee_without_an_email_address_is_refused_before_any_link_dies(case_id, runtime, settings, client):
    link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))
    with runtime.transaction() as session:
        session.get(Staff, DSL).email = None

    with pytest.raises(AssigneeUnreachable, match="reassign the step"):
        resend(runtime)
    assert client.get(link).status_code == 200


def test_find_step_knows_only_the_steps_of_the_case(case_id, runtime, mis):
    other = mis.post(factories.concern_raised("C-other", assigned_dsl=DSL)).get_json()["case_id"]
    with runtime.transaction() as session:
        mine = session.scalars(select(Step.id).join(Case).where(Case.case_id == case_id, Step.kind == "consent")).one()
        assert find_step(session, case_id, mine).id == mine
        with pytest.raises(CaseNotFound):
            find_step(session, "IS-NOPE", mine)
        with pytest.raises(StepNotFound):
            find_step(session, other, mine)
        with pytest.raises(StepNotFound):
            find_step(session, case_id, None)


# --- asking for a fresh link from a dead one ---------------------------------------------------

def test_asking_for_a_fresh_link_emails_only_the_assignee_and_kills_the_old_links(case_id, runtime, app, settings,
                                                                                   client):
    old_link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))
    before = len(read_outbox(settings.outbox_dir))

    assert request(runtime) is True
    drain(app)

    sent = read_outbox(settings.outbox_dir)[before:]
    assert [m["To"] for m in sent] == [DSL_EMAIL]
    assert client.get(old_link).status_code == 410
    assert client.get(link_in(sent[0])).status_code == 200


def test_a_second_request_within_ten_minutes_sends_nothing(case_id, runtime):
    now = utcnow()

    assert request(runtime, now) is True
    assert request(runtime, now + timedelta(minutes=9, seconds=59)) is False
    assert request(runtime, now + timedelta(minutes=10)) is True
    assert task_emails(runtime) == [f"staff:{DSL}"] * 3  # the opening email and two fresh links


def test_the_throttle_outlives_the_process(case_id, runtime, settings):
    assert request(runtime) is True

    restarted = build_runtime(settings)
    try:
        assert request(restarted) is False
    finally:
        restarted.engine.dispose()


@pytest.mark.postgresql_only
def test_of_two_requests_at_the_same_moment_only_one_sends(case_id, runtime):
    """Both read the step before either writes: the database, not the check in memory, decides."""
    ready, results = threading.Barrier(2), []

    def ask() -> None:
        with runtime.transaction() as session:
            step = session.get(Step, step_id(runtime))
            ready.wait(timeout=10)
            results.append(request_fresh_link(session, step))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [False, True]
    assert task_emails(runtime) == [f"staff:{DSL}"] * 2


def test_a_fresh_link_is_audited_without_saying_who_asked(case_id, runtime):
    request(runtime)

    assert audited(runtime, "step.link_requested") == [
        ("link-holder", case_id, {"step": "consent", "step_id": step_id(runtime), "assignee": DSL})]


def test_a_throttled_request_is_not_audited(case_id, runtime):
    request(runtime)
    request(runtime)
    assert len(audited(runtime, "step.link_requested")) == 1


def test_no_fresh_link_for_an_answered_step(case_id, runtime, settings, client):
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)), consent_given())

    with pytest.raises(StepNotOpen):
        request(runtime)
    assert task_emails(runtime).count(f"staff:{DSL}") == 1


def test_an_admin_resend_does_not_use_up_the_requests(case_id, runtime):
    resend(runtime)
    assert request(runtime) is True


# --- reassigning ------------------------------------------------------------------------------

def reassign(runtime, staff_id: str, reason: str = "DSL on leave this week", kind: str = "consent") -> None:
    with runtime.transaction() as session:
        reassign_step(session, session.get(Step, step_id(runtime, kind)), staff_id, reason=reason, actor="admin:ops")


def test_reassigning_moves_the_step_kills_the_old_link_and_emails_the_new_assignee(case_id, runtime, app, settings,
                                                                                    client):
    old_link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))

    reassign(runtime, OTHER_DSL)
    drain(app)

    with runtime.transaction() as session:
        assert session.get(Step, step_id(runtime)).assignee == OTHER_DSL
    assert client.get(old_link).status_code == 410
    assert client.get(link_in(latest_to(settings.outbox_dir, OTHER_DSL_EMAIL))).status_code == 200


def test_a_reassignment_is_audited_with_the_actor_and_its_reason_is_kept_encrypted_beside_the_event(case_id,
                                                                                                   runtime):
    reassign(runtime, OTHER_DSL, reason="  DSL on leave this week ")

    with runtime.transaction() as session:
        note = session.scalars(select(Reassignment)).one()
        kept = (note.id, note.step_id, note.actor, note.reason)
        stored = session.execute(text("SELECT reason FROM reassignments")).scalar_one()
    assert kept[1:] == (step_id(runtime), "admin:ops", "DSL on leave this week")
    assert "leave" not in stored  # encrypted at rest
    # The trail is kept for good, so it names the reason's row (erased with the case), not its words.
    assert audited(runtime, "step.reassigned") == [("admin:ops", case_id, {
        "step": "consent", "step_id": step_id(runtime), "from": DSL, "to": OTHER_DSL,
        "reason": "admin_request", "reassignment_id": kept[0]})]


@pytest.mark.parametrize("staff_id, message", [
    (MANAGER, "not an active designated safeguarding lead"),
    ("S-404", "not an active designated safeguarding lead"),
    (DSL, "already holds this step"),
])
def test_a_step_goes_only_to_another_active_holder_of_its_role(case_id, runtime, staff_id, message):
    with pytest.raises(InvalidReassignment) as raised:
        reassign(runtime, staff_id)

    assert list(raised.value.errors) == ["staff_id"] and message in raised.value.errors["staff_id"][0]
    assert audited(runtime, "step.reassigned") == []


def test_an_inactive_dsl_cannot_take_a_step(case_id, runtime, mis):
    mis.post(factories.staff_upserted(OTHER_DSL, ["dsl"], active=False))
    with pytest.raises(InvalidReassignment, match="not an active"):
        reassign(runtime, OTHER_DSL)


def test_a_consultation_goes_only_to_a_manager(case_id, runtime, app, settings, client, mis):
    mis.post(factories.staff_upserted("S-10", ["manager"]))
    submit(client, link_in(latest_to(settings.outbox_dir, DSL_EMAIL)), consent_given())
    with runtime.transaction() as session:
        holder = session.get(Step, step_id(runtime, "consultation")).assignee
    other_manager = "S-10" if holder == MANAGER else MANAGER

    with pytest.raises(InvalidReassignment, match="not an active manager"):
        reassign(runtime, OTHER_DSL, kind="consultation")
    reassign(runtime, other_manager, kind="consultation")

    with runtime.transaction() as session:
        assert session.get(Step, step_id(runtime, "consultation")).assignee == other_manager


def test_someone_without_an_email_address_cannot_take_a_step(case_id, runtime):
    with runtime.transaction() as session:
        session.get(Staff, OTHER_DSL).email = None
    with pytest.raises(InvalidReassignment, match="no email address"):
        reassign(runtime, OTHER_DSL)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reassignment_needs_a_reason(case_id, runtime, reason):
    with pytest.raises(InvalidReassignment) as raised:
        reassign(runtime, OTHER_DSL, reason=reason)
    assert list(raised.value.errors) == ["reason"]


def test_a_step_that_is_not_open_cannot_be_reassigned(case_id, runtime):
    with pytest.raises(StepNotOpen):
        reassign(runtime, OTHER_DSL, kind="share")
