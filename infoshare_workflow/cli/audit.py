"""`infoshare audit`: the tamper-evident audit trail (golden rule 7).

`verify` can take a while on a long chain (seconds per million events), so it shows how far
it has got as `schedule run` does (a bar on a terminal, otherwise a line at most once a
second, "audit verify: 120000/1000000"), but on stderr: stdout keeps the one result line
that scripts read.
"""

from __future__ import annotations

import sys

import click

from infoshare_workflow.cli.context import migrated_runtime
from infoshare_workflow.cli.progress import Progress


@click.group(help="The tamper-evident audit trail.")
def audit() -> None:
    pass


@audit.command("verify", help="Recompute the hash chain, showing progress on stderr; exit 1 and name the "
                              "first bad event if broken.")
def audit_verify() -> None:
    from infoshare_workflow.records import audit as audit_trail

    progress = Progress("audit verify", sys.stderr.isatty(), err=True)
    try:
        with migrated_runtime().transaction() as session:
            result = audit_trail.verify(session, progress)
    finally:
        progress.close()
    if result.ok:
        click.echo(f"ok: {result.events} events, head {result.head}")
        return
    click.echo(f"broken: first bad event is seq {result.first_bad} ({result.events} checked)", err=True)
    sys.exit(1)
