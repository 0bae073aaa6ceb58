"""`infoshare recipients`: the directory of agencies a share chooses from."""

from __future__ import annotations

import click

from infoshare_workflow.cli.context import cli_actor, migrated_runtime
from infoshare_workflow.vocabulary import RECIPIENT_KINDS


@click.group(help="The recipient directory a share chooses from.")
def recipients() -> None:
    pass


@recipients.command("add", help="Add an agency to the directory; prints its id and a one-line summary.")
@click.option("--name", required=True, help="The agency's name (1 to 200 characters).")
@click.option("--kind", required=True, type=click.Choice(RECIPIENT_KINDS), help="The agency kind.")
@click.option("--email", required=True, help="The secure address that receives disclosure links.")
def recipients_add(name: str, kind: str, email: str) -> None:
    from infoshare_workflow.sharing.recipients import InvalidRecipient, add_recipient

    try:
        with migrated_runtime().transaction() as session:
            recipient = add_recipient(session, name, kind, email, actor=cli_actor())
    except InvalidRecipient as exc:
        field, messages = next(iter(exc.errors.items()))
        raise click.UsageError(f"--{field}: {' '.join(map(str, messages))}" if field in ("name", "kind", "email")
                               else str(exc)) from None
    click.echo(f"recipient {recipient.id} added: {recipient.name} ({recipient.kind}) <{recipient.email}>")


@recipients.command("list", help="Show the directory, active and inactive entries, by name.")
@click.option("--json", "as_json", is_flag=True, help='Print {"items": [...]} as the API does.')
def recipients_list(as_json: bool) -> None:
    import json

    from infoshare_workflow.schemas.recipients import RecipientSchema
    from infoshare_workflow.sharing.recipients import list_recipients

    with migrated_runtime().transaction() as session:
        items = RecipientSchema(many=True).dump(list_recipients(session))
    if as_json:
        click.echo(json.dumps({"items": items}, indent=2))
        return
    if not items:
        click.echo("no recipients yet: add one with `infoshare recipients add`")
        return
    rows = [("ID", "NAME", "KIND", "EMAIL", "ACTIVE")] + [
        (str(r["id"]), r["name"], r["kind"], r["email"], "yes" if r["active"] else "no") for r in items
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
