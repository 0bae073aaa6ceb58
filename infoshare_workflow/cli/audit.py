"""`infoshare audit`: the tamper-evident audit trail (golden rule 7)."""

from __future__ import annotations

import sys

import click

from infoshare_workflow.cli.context import migrated_runtime


@click.group(help="The tamper-evident audit trail.")
def audit() -> None:
    pass


@audit.command("verify", help="Recompute the hash chain; exit 1 and name the first bad event if broken.")
def audit_verify() -> None:
    from infoshare_workflow.records import audit as audit_trail

    with migrated_runtime().transaction() as session:
        result = audit_trail.verify(session)
    if result.ok:
        click.echo(f"ok: {result.events} events, head {result.head}")
        return
    click.echo(f"broken: first bad event is seq {result.first_bad} ({result.events} checked)", err=True)
    sys.exit(1)
