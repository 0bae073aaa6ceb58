"""`infoshare admin`: admin API tokens, printed once and stored hashed."""

from __future__ import annotations

import click

from infoshare_workflow.cli.context import migrated_runtime


def _token_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A name says who holds the token in the audit trail: it cannot be blank."""
    name = value.strip()
    if not name:
        raise click.BadParameter("give the token a name, such as the person or system that will use it")
    if len(name) > 50 or not name.isprintable():
        raise click.BadParameter("use at most 50 printable characters")
    return name


@click.group(help="Administration.")
def admin() -> None:
    pass


@admin.command("create-token", help="Create an admin API token; it is printed once, stored hashed.")
@click.argument("name", callback=_token_name)
def create_token(name: str) -> None:
    from infoshare_workflow.access.admin_tokens import TokenNameTaken
    from infoshare_workflow.access.admin_tokens import create_token as create

    try:
        with migrated_runtime().transaction() as session:
            token = create(session, name)
    except TokenNameTaken:
        raise click.UsageError(f"a token named {name!r} already exists") from None
    click.echo(token)
