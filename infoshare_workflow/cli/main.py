"""The `infoshare` command (INTERFACES.md §4): one group per area, and one line per failure.

A bad argument exits 2 with one line; a database that is unreachable or not migrated, or
any other reason a command cannot go on, exits 1 with one line saying what to do; a group
run bare prints its help and exits 0. No command prints a traceback.
"""

from __future__ import annotations

import logging
import sys

import click
from sqlalchemy.exc import DBAPIError

from infoshare_workflow.cli import (
    admin,
    audit,
    calendar,
    cases,
    database,
    inbox,
    mail,
    recipients,
    report,
    schedule,
    server,
    steps,
)
from infoshare_workflow.cli.context import CommandFailed
from infoshare_workflow.monitoring import log_redaction
from infoshare_workflow.settings.config import ConfigError, database_url_of
from infoshare_workflow.storage.migrate import safe_url


@click.group(help="Safeguarding information-sharing workflow for schools.")
@click.version_option(package_name="infoshare-workflow")
def cli() -> None:
    # A command's output is its own lines; warnings and errors still show.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_redaction.install()


for command in (server.serve, server.demo, database.db, admin.admin, recipients.recipients, cases.cases,
                steps.steps, inbox.inbox, mail.mail, calendar.calendar, audit.audit, schedule.schedule, report.report):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="infoshare", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # a group run bare: its help is the answer
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        sys.exit(0)
    except click.UsageError as exc:
        click.echo(f"infoshare: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.Abort:
        sys.exit(1)
    except ConfigError as exc:
        click.echo(f"infoshare: {exc}", err=True)
        sys.exit(2)
    except CommandFailed as exc:
        click.echo(f"infoshare: {exc}", err=True)
        sys.exit(1)
    except DBAPIError as exc:  # the database went away mid-command
        click.echo(f"infoshare: the database at {safe_url(database_url_of())} failed "
                   f"({type(exc.orig).__name__}); check that it is running, then try again", err=True)
        sys.exit(1)
