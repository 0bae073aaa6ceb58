"""`infoshare mail`: emails that failed for good, and sending them again once the cause is fixed."""

from __future__ import annotations

import click

from infoshare_workflow.cli.context import cli_actor, migrated_runtime


@click.group(help="Emails that failed for good (a refused address, a wrong SMTP password, a long outage).")
def mail() -> None:
    pass


@mail.command("list", help="Show failed emails that can be sent again, oldest failure first (never an address).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def mail_list(as_json: bool) -> None:
    import json as json_module

    from infoshare_workflow.mail.failures import failed_emails

    with migrated_runtime().transaction() as session:
        rows = [e.as_dict() for e in failed_emails(session)]
    if as_json:
        click.echo(json_module.dumps(rows, indent=2, default=lambda v: v.isoformat()))
        return
    if not rows:
        click.echo("no failed emails")
        return
    click.echo(f"{'email':<36} {'template':<18} {'to':<16} {'case':<14} {'failed (UTC)':<16} {'tries':>5}  error")
    for row in rows:
        failed = f"{row['failed_at']:%Y-%m-%d %H:%M}" if row["failed_at"] else "-"
        click.echo(f"{row['email_id']:<36} {row['template'][:18]:<18} {row['to'][:16]:<16} "
                   f"{row['case_id'] or '-':<14} {failed:<16} {row['attempts']:>5}  {row['error'] or '-'}")
    click.echo(f"{len(rows)} failed: fix the cause, then `infoshare mail retry --all-failed`")


@mail.command("retry", help="Send failed emails again with fresh attempts (EMAIL_ID... or --all-failed); "
                             "a worker sends them within seconds.")
@click.argument("email_ids", nargs=-1, metavar="[EMAIL_ID]...")
@click.option("--all-failed", is_flag=True, help="Every email `infoshare mail list` shows.")
def mail_retry(email_ids: tuple[str, ...], all_failed: bool) -> None:
    from infoshare_workflow.mail.failures import UnknownEmails, resend

    if bool(email_ids) == all_failed:
        raise click.UsageError("give EMAIL_ID... or --all-failed (not both)")
    try:
        with migrated_runtime().transaction() as session:
            queued = resend(session, None if all_failed else list(email_ids), actor=cli_actor())
    except UnknownEmails as exc:
        raise click.UsageError(f"not a failed email that can be sent again: {', '.join(exc.email_ids)}") from None
    click.echo(f"{len(queued)} email(s) queued again; `infoshare mail list` shows what is still failed"
               if queued else "no failed emails")
