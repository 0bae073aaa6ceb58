"""`infoshare calendar`: closure days, which are not working days for due dates."""

from __future__ import annotations

from typing import Any

import click

from infoshare_workflow.cli.context import cli_actor, migrated_runtime


@click.group(help="The school calendar: closure days are not working days.")
def calendar() -> None:
    pass


@calendar.command("close", help="Record closure days, each as YYYY-MM-DD, e.g. an INSET day.")
@click.argument("days", nargs=-1, required=True, metavar="DATE...", type=click.DateTime(formats=["%Y-%m-%d"]))
def calendar_close(days: tuple[Any, ...]) -> None:
    from infoshare_workflow.records import audit as audit_trail
    from infoshare_workflow.timeliness.calendar import record_closures

    with migrated_runtime().transaction() as session:
        added = record_closures(session, [d.date() for d in days], source="admin")
        audit_trail.append(session, actor=cli_actor(), action="calendar.closed",
                           details={"days": sorted(d.date().isoformat() for d in days)})
    click.echo(f"{added} closure day(s) added, {len(days) - added} already known")


@calendar.command("list", help="List closure days.")
def calendar_list() -> None:
    from sqlalchemy import select

    from infoshare_workflow.storage.models import ClosureDate

    with migrated_runtime().transaction() as session:
        closures = [(c.day, c.source) for c in session.scalars(select(ClosureDate).order_by(ClosureDate.day))]
    if not closures:
        click.echo("no closure days: add one with `infoshare calendar close DATE...`")
    for day, source in closures:
        click.echo(f"{day.isoformat()}  ({source})")
