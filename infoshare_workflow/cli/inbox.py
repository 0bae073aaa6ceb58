"""`infoshare inbox`: accepted MIS events not applied yet, and re-driving parked ones after a fix."""

from __future__ import annotations

import click

from infoshare_workflow.cli.context import cli_actor, migrated_runtime


@click.group(help="Accepted MIS events not applied yet, and parked ones whose applying failed.")
def inbox() -> None:
    pass


@inbox.command("list", help="Show accepted events waiting to be applied, oldest first, with their failures.")
@click.option("--parked", is_flag=True, help="Only events parked after every attempt failed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def inbox_list(parked: bool, as_json: bool) -> None:
    import json as json_module

    from infoshare_workflow.cases.inbox import entries

    with migrated_runtime().transaction() as session:
        rows = [e.as_dict() for e in entries(session, parked_only=parked)]
    if as_json:
        click.echo(json_module.dumps(rows, indent=2, default=lambda v: v.isoformat()))
        return
    if not rows:
        click.echo("no parked events" if parked else "no events waiting: every accepted event is applied")
        return
    click.echo(f"{'event':<36} {'type':<17} {'case':<14} {'received (UTC)':<16} {'tries':>5}  state")
    for row in rows:
        state = f"parked ({row['error']})" if row["parked"] else (
            f"retry after {row['next_attempt_at']:%H:%M:%S} ({row['error']})" if row["next_attempt_at"] else "waiting")
        click.echo(f"{row['event_id'][:36]:<36} {row['type']:<17} {row['case_id'] or '-':<14} "
                   f"{row['received_at']:%Y-%m-%d %H:%M} {row['attempts']:>5}  {state}")
    parked_count = sum(1 for row in rows if row["parked"])
    click.echo(f"{len(rows)} waiting, {parked_count} parked" + (
        ": fix the cause, then `infoshare inbox retry --all-parked`" if parked_count else ""))


@inbox.command("retry", help="Apply events again with fresh attempts (EVENT_ID... or --all-parked); "
                              "beat's next pass, within a second, applies them.")
@click.argument("event_ids", nargs=-1, metavar="[EVENT_ID]...")
@click.option("--all-parked", is_flag=True, help="Every parked event.")
def inbox_retry(event_ids: tuple[str, ...], all_parked: bool) -> None:
    from infoshare_workflow.cases.inbox import UnknownEvents, retry

    if bool(event_ids) == all_parked:
        raise click.UsageError("give EVENT_ID... or --all-parked (not both)")
    try:
        with migrated_runtime().transaction() as session:
            retried = retry(session, None if all_parked else list(event_ids), actor=cli_actor())
    except UnknownEvents as exc:
        raise click.UsageError(f"not waiting in the inbox: {', '.join(exc.event_ids)}") from None
    click.echo(f"{len(retried)} event(s) due again; `infoshare inbox list` shows what is still waiting"
               if retried else "no parked events")
