"""`infoshare steps resend|reassign`, run as an administrator would run them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from infoshare_workflow.storage.models import Reassignment, Step

from .. import factories
from ..audit_trail import audited
from ..workflow import DSL, DSL_EMAIL, MANAGER, drain, latest_to, link_in
from .test_main import one_line, run, run_in

OTHER_DSL, OTHER_DSL_EMAIL = "S-03", "s-03@school.example"


@pytest.fixture
def case_id(mis, app) -> str:
    """A school with two DSLs and a manager, and a case whose consent step S-02 holds (emailed)."""
    for staff_id, role in ((DSL, "dsl"), (OTHER_DSL, "dsl"), (MANAGER, "manager")):
        assert mis.post(factories.staff_upserted(staff_id, [role])).status_code == 202
    accepted = mis.post(factories.concern_raised("C-cli-steps", assigned_dsl=DSL)).get_json()
    drain(app)
    return accepted["case_id"]


def step_id(runtime, kind: str = "consent") -> str:
    with runtime.transaction() as session:
        return str(session.scalars(select(Step.id).where(Step.kind == kind)).one())


def test_resend_emails_a_fresh_link_says_so_in_one_line_and_is_audited(settings, runtime, app, client, case_id):
    old_link = link_in(latest_to(settings.outbox_dir, DSL_EMAIL))

    result = run(settings, "steps", "resend", case_id, step_id(runtime))
    drain(app)

    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"case {case_id} step {step_id(runtime)} (consent): a fresh link was emailed to {DSL}; "
                             "older links no longer work\n")
    assert client.get(old_link).status_code == 410
    assert client.get(link_in(latest_to(settings.outbox_dir, DSL_EMAIL))).status_code == 200
    [(actor, _, details)] = audited(runtime, "step.link_resent")
    assert actor.startswith("cli") and details["step_id"] == int(step_id(runtime))


def test_reassign_moves_the_step_says_so_in_one_line_and_is_audited_with_the_reason(settings, runtime, app, client,
                                                                                    case_id):
    result = run(settings, "steps", "reassign", case_id, step_id(runtime), "--to", OTHER_DSL,
                 "--reason", "DSL on leave this week")
    drain(app)

    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"case {case_id} step {step_id(runtime)} (consent): reassigned from {DSL} to "
                             f"{OTHER_DSL}, who was emailed a fresh link\n")
    assert client.get(link_in(latest_to(settings.outbox_dir, OTHER_DSL_EMAIL))).status_code == 200
    [(actor, _, details)] = audited(runtime, "step.reassigned")
    with runtime.transaction() as session:
        note = session.get(Reassignment, details["reassignment_id"])
        assert note is not None and (note.actor, note.reason) == (actor, "DSL on leave this week")
    assert actor.startswith("cli") and (details["to"], details["reason"]) == (OTHER_DSL, "admin_request")


def test_an_unknown_case_or_step_exits_2_with_one_line(settings, runtime, case_id):
    unknown_case = run(settings, "steps", "resend", "IS-NOPE", step_id(runtime))
    unknown_step = run(settings, "steps", "reassign", case_id, "999999", "--to", OTHER_DSL, "--reason", "x")

    assert (unknown_case.returncode, one_line(unknown_case)) == (2, "infoshare: no such case: IS-NOPE")
    assert (unknown_step.returncode, one_line(unknown_step)) == (2, f"infoshare: case {case_id} has no step 999999")


@pytest.mark.parametrize("command", [["resend"], ["reassign", "--to", OTHER_DSL, "--reason", "x"]])
def test_a_step_that_is_not_open_exits_1_with_one_line_saying_so(settings, runtime, case_id, command):
    result = run(settings, "steps", command[0], case_id, step_id(runtime, "share"), *command[1:])

    assert result.returncode == 1
    assert one_line(result) == ("infoshare: the share step is pending, not open: only an open step can be resent "
                                "or reassigned")


@pytest.mark.parametrize("options, named", [
    (["--to", MANAGER, "--reason", "x"], "--to: S-09 is not an active designated safeguarding lead"),
    (["--to", DSL, "--reason", "x"], "--to: S-02 already holds this step."),
    (["--to", OTHER_DSL, "--reason", "  "], "--reason: Must not be blank."),
    (["--reason", "x"], "--to"),
])
def test_a_bad_reassignment_exits_2_with_one_line_naming_the_option_and_changes_nothing(
        settings, runtime, case_id, options, named):
    result = run(settings, "steps", "reassign", case_id, step_id(runtime), *options)

    assert result.returncode == 2 and named in one_line(result)
    assert audited(runtime, "step.reassigned") == []


@pytest.mark.parametrize("step", ["one", "0", str(2**31)])
def test_a_step_id_that_is_not_a_row_id_exits_2(settings, runtime, case_id, step):
    result = run(settings, "steps", "resend", case_id, step)
    assert result.returncode == 2 and "STEP_ID" in one_line(result)


@pytest.mark.parametrize("command", [["steps"], ["steps", "resend"], ["steps", "reassign"]])
def test_every_steps_command_has_help(settings, command):
    result = run(settings, *command, "--help")
    assert result.returncode == 0 and "Usage: infoshare steps" in result.stdout


def test_the_group_run_bare_prints_its_help(tmp_path):
    result = run_in(tmp_path, "steps")
    assert result.returncode == 0 and "resend" in result.stdout and "reassign" in result.stdout


def test_on_a_database_not_migrated_it_says_so_and_leaves_nothing(tmp_path):
    result = run_in(tmp_path, "steps", "resend", "IS-NOPE", "1")
    assert result.returncode == 1
    assert one_line(result) == 'infoshare: the database is not migrated; run "infoshare db upgrade"'
    assert list(tmp_path.iterdir()) == []
