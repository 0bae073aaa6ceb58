"""`infoshare cases`: what waits on whom."""

from __future__ import annotations

import click

from infoshare_workflow.cli.context import migrated_runtime


@click.group(help="Cases.")
def cases() -> None:
    pass


@cases.command("overdue", help="List open steps past their due time, oldest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def cases_overdue(as_json: bool) -> None:
    import json as json_module

    from infoshare_workflow.cases.queries import overdue_steps

    with migrated_runtime().transaction() as session:
        rows = [{"case_id": s.case.case_id, "step": s.kind, "assignee": s.assignee, "due_at": s.due_at.isoformat(),
                 "reminders_sent": s.reminders_sent, "escalated": s.escalated} for s in overdue_steps(session)]
    if as_json:
        click.echo(json_module.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no overdue steps")
        return
    click.echo(f"{'case':<14} {'step':<13} {'assignee':<10} {'due (UTC)':<17} {'reminders':>9}  escalated")
    for row in rows:
        click.echo(f"{row['case_id']:<14} {row['step']:<13} {row['assignee'] or '-':<10} {row['due_at'][:16]:<17} "
                   f"{row['reminders_sent']:>9}  {'yes' if row['escalated'] else 'no'}")
    click.echo(f"{len(rows)} overdue")
