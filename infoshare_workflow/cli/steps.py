"""`infoshare steps`: send an open step's link again, or give the step to someone else.

The same domain as the admin API (`sharing.resend`), audited with who ran the command
(golden rule 7); a task never waits on a lost email or an absent colleague (golden rule 5).
An unknown case or step, or a bad --to or --reason, is a bad argument (exit 2); a step that
is not open, or whose assignee cannot be emailed, cannot go on (exit 1). One line either way.
"""

from __future__ import annotations

import click

from infoshare_workflow.cli.context import CommandFailed, cli_actor, migrated_runtime

STEP_ID = click.IntRange(1, 2**31 - 1)  # an INTEGER primary key


@click.group(help="An open step's link and assignee.")
def steps() -> None:
    pass


@steps.command("resend", short_help="Email the step's assignee a fresh link.",
               help="Email the step's assignee a fresh link; every older link of the step stops working. "
                    "Step ids are in `GET /api/v1/cases/CASE_ID`.")
@click.argument("case_id")
@click.argument("step_id", type=STEP_ID)
def steps_resend(case_id: str, step_id: int) -> None:
    from infoshare_workflow.sharing.resend import CaseNotFound, StepNotFound, StepUnavailable, find_step, resend_link

    try:
        with migrated_runtime().transaction() as session:
            step = find_step(session, case_id, step_id)
            resend_link(session, step, actor=cli_actor())
            line = (f"case {case_id} step {step_id} ({step.kind}): a fresh link was emailed to {step.assignee}; "
                    f"older links no longer work")
    except CaseNotFound:
        raise click.UsageError(f"no such case: {case_id}") from None
    except StepNotFound:
        raise click.UsageError(f"case {case_id} has no step {step_id}") from None
    except StepUnavailable as exc:
        raise CommandFailed(_as_line(exc)) from None
    click.echo(line)


@steps.command("reassign", short_help="Give an open step to another DSL or manager.",
               help="Give an open step to another active DSL (consent, information, share) or manager "
                    "(consultation), who is emailed a fresh link; the old links stop working.")
@click.argument("case_id")
@click.argument("step_id", type=STEP_ID)
@click.option("--to", "staff_id", required=True, metavar="STAFF_ID", help="The MIS staff id of who takes the step.")
@click.option("--reason", required=True, help="Why, on one line (kept encrypted with the case, erased with it).")
def steps_reassign(case_id: str, step_id: int, staff_id: str, reason: str) -> None:
    from infoshare_workflow.sharing.resend import (
        CaseNotFound,
        InvalidReassignment,
        StepNotFound,
        StepUnavailable,
        find_step,
        reassign_step,
    )

    try:
        with migrated_runtime().transaction() as session:
            step = find_step(session, case_id, step_id)
            former = step.assignee
            reassign_step(session, step, staff_id, reason=reason, actor=cli_actor())
            line = (f"case {case_id} step {step_id} ({step.kind}): reassigned from {former or 'nobody'} to "
                    f"{step.assignee}, who was emailed a fresh link")
    except CaseNotFound:
        raise click.UsageError(f"no such case: {case_id}") from None
    except StepNotFound:
        raise click.UsageError(f"case {case_id} has no step {step_id}") from None
    except StepUnavailable as exc:
        raise CommandFailed(_as_line(exc)) from None
    except InvalidReassignment as exc:
        field, messages = next(iter(exc.errors.items()))
        option = {"staff_id": "--to", "reason": "--reason"}.get(field, field)
        raise click.UsageError(f"{option}: {' '.join(map(str, messages))}") from None
    click.echo(line)


def _as_line(exc: Exception) -> str:
    """The domain's sentence as the CLI's lines read: `infoshare: the share step is pending, ...`."""
    text = str(exc).rstrip(".")
    return text[:1].lower() + text[1:]
