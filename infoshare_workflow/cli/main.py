"""The `infoshare` command line (INTERFACES.md §4). A bad argument exits 2 with one line."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from infoshare_workflow.monitoring import log_redaction
from infoshare_workflow.settings.config import ConfigError, load_settings
from infoshare_workflow.storage.runtime import Runtime, build_runtime
from infoshare_workflow.vocabulary import RECIPIENT_KINDS


def _runtime() -> Runtime:
    return build_runtime(load_settings())


@click.group(help="Safeguarding information-sharing workflow for schools.")
@click.version_option(package_name="infoshare-workflow")
def cli() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_redaction.install()


@cli.command(help="Run the web app (on the embedded defaults with nothing set).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
def serve(host: str, port: int) -> None:
    from gunicorn.app.base import BaseApplication

    from infoshare_workflow.service.app import create_app
    from infoshare_workflow.storage.migrate import upgrade

    settings = load_settings()
    if settings.embedded:
        upgrade(build_runtime(settings).engine)
    flask_app = create_app(settings)
    if settings.embedded_broker:
        from infoshare_workflow.service.inprocess import InProcessWorker

        runtime = flask_app.extensions["infoshare"]

        def post_fork(server: Any, worker: Any) -> None:
            InProcessWorker(flask_app.extensions["infoshare.celery"], runtime).start()
    else:
        post_fork = None

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("workers", 1)
            self.cfg.set("logger_class", "infoshare_workflow.monitoring.log_redaction.GunicornLogger")
            if post_fork is not None:  # the embedded broker lives in the one worker process
                self.cfg.set("post_fork", post_fork)

        def load(self) -> Any:
            return flask_app

    click.echo(f"infoshare: serving on http://{host}:{port} (database {_safe_url(settings.database_url)})")
    Server().run()


@cli.command(help="Run the product on the embedded defaults with a small school and three concerns; "
                  "prints each emailed link. --auto answers every task and exits.")
@click.option("--auto", is_flag=True, help="Walk every case to its end, then exit 0 (1 if anything fails).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
def demo(auto: bool, host: str, port: int) -> None:
    from infoshare_workflow.cli.demo import run_demo

    logging.getLogger().setLevel(logging.WARNING)  # the demo's own lines are the output
    try:
        code = run_demo(load_settings(), auto=auto, host=host, port=port, echo=click.echo)
    except (RuntimeError, TimeoutError) as exc:
        click.echo(f"infoshare demo: {exc}", err=True)
        sys.exit(1)
    sys.exit(code)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.group(help="Database schema and keys.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply schema migrations up to the newest.")
def db_upgrade() -> None:
    from infoshare_workflow.storage.migrate import upgrade

    runtime = _runtime()
    upgrade(runtime.engine)
    click.echo(f"database {_safe_url(runtime.settings.database_url)} is up to date")


@db.command("reencrypt", help="Re-encrypt sensitive columns under the newest INFOSHARE_ENCRYPTION_KEYS key.")
def db_reencrypt() -> None:
    from infoshare_workflow.storage.key_rotation import reencrypt

    total = reencrypt(_runtime().engine, progress=click.echo)
    click.echo(f"{total} values re-encrypted under the newest key")


@cli.group(help="Administration.")
def admin() -> None:
    pass


@admin.command("create-token", help="Create an admin API token; it is printed once, stored hashed.")
@click.argument("name")
def create_token(name: str) -> None:
    from infoshare_workflow.access.admin_tokens import TokenNameTaken
    from infoshare_workflow.access.admin_tokens import create_token as create

    try:
        with _runtime().transaction() as session:
            token = create(session, name)
    except TokenNameTaken:
        raise click.UsageError(f"a token named {name!r} already exists") from None
    click.echo(token)


@cli.group(help="The recipient directory a share chooses from.")
def recipients() -> None:
    pass


def _cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (OSError, KeyError):  # no login name (e.g. a container with an unnamed uid)
        return "cli"


@recipients.command("add", help="Add an agency to the directory; prints its id and a one-line summary.")
@click.option("--name", required=True, help="The agency's name (1 to 200 characters).")
@click.option("--kind", required=True, type=click.Choice(RECIPIENT_KINDS), help="The agency kind.")
@click.option("--email", required=True, help="The secure address that receives disclosure links.")
def recipients_add(name: str, kind: str, email: str) -> None:
    from infoshare_workflow.sharing.recipients import InvalidRecipient, add_recipient

    try:
        with _runtime().transaction() as session:
            recipient = add_recipient(session, name, kind, email, actor=_cli_actor())
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

    with _runtime().transaction() as session:
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


@cli.group(help="Cases.")
def cases() -> None:
    pass


@cases.command("overdue", help="List open steps past their due time, oldest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def cases_overdue(as_json: bool) -> None:
    import json as json_module

    from infoshare_workflow.cases.queries import overdue_steps

    runtime = _runtime()
    with runtime.transaction() as session:
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


@cli.group(help="Accepted MIS events not applied yet, and parked ones whose applying failed.")
def inbox() -> None:
    pass


@inbox.command("list", help="Show accepted events waiting to be applied, oldest first, with their failures.")
@click.option("--parked", is_flag=True, help="Only events parked after every attempt failed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def inbox_list(parked: bool, as_json: bool) -> None:
    import json as json_module

    from infoshare_workflow.cases.inbox import entries

    with _runtime().transaction() as session:
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
        with _runtime().transaction() as session:
            retried = retry(session, None if all_parked else list(event_ids), actor=_cli_actor())
    except UnknownEvents as exc:
        raise click.UsageError(f"not waiting in the inbox: {', '.join(exc.event_ids)}") from None
    click.echo(f"{len(retried)} event(s) due again; `infoshare inbox list` shows what is still waiting"
               if retried else "no parked events")


@cli.group(help="The school calendar: closure days are not working days.")
def calendar() -> None:
    pass


@calendar.command("close", help="Record closure days (YYYY-MM-DD ...), e.g. an INSET day.")
@click.argument("days", nargs=-1, required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
def calendar_close(days: tuple[Any, ...]) -> None:
    from infoshare_workflow.records import audit as audit_trail
    from infoshare_workflow.timeliness.calendar import record_closures

    with _runtime().transaction() as session:
        added = record_closures(session, [d.date() for d in days], source="admin")
        audit_trail.append(session, actor="admin", action="calendar.closed",
                           details={"days": sorted(d.date().isoformat() for d in days)})
    click.echo(f"{added} closure day(s) added, {len(days) - added} already known")


@calendar.command("list", help="List closure days.")
def calendar_list() -> None:
    from sqlalchemy import select

    from infoshare_workflow.storage.models import ClosureDate

    with _runtime().transaction() as session:
        for closure in session.scalars(select(ClosureDate).order_by(ClosureDate.day)):
            click.echo(f"{closure.day.isoformat()}  ({closure.source})")


@cli.group(help="The tamper-evident audit trail.")
def audit() -> None:
    pass


@audit.command("verify", help="Recompute the hash chain; exit 1 and name the first bad event if broken.")
def audit_verify() -> None:
    from infoshare_workflow.records import audit as audit_trail

    with _runtime().transaction() as session:
        result = audit_trail.verify(session)
    if result.ok:
        click.echo(f"ok: {result.events} events, head {result.head}")
        return
    click.echo(f"broken: first bad event is seq {result.first_bad} ({result.events} checked)", err=True)
    sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="infoshare", standalone_mode=False)
    except click.UsageError as exc:
        click.echo(f"infoshare: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.Abort:
        sys.exit(1)
    except ConfigError as exc:
        click.echo(f"infoshare: {exc}", err=True)
        sys.exit(2)
