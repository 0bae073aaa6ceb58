"""`infoshare schedule`: the sweeps an admin schedules, and running one at once.

"Review retained information regularly": the same domain as the admin API
(`infoshare_workflow.schedules`), audited with who ran the command (golden rule 7). `run`
does the job here, in this process, not through Celery, and shows how far it has got: a
progress bar on a terminal, a plain line now and then ("retention_sweep: 1200/5000")
otherwise. A bad argument or an unknown schedule exits 2, a failed run exits 1; one line each.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any

import click

from infoshare_workflow.cli.context import CommandFailed, cli_actor, migrated_runtime
from infoshare_workflow.cli.progress import Progress

SCHEDULE_ID = click.IntRange(1, 2**31 - 1)  # an INTEGER primary key
OPTIONS = {"job": "--job", "cron": "--cron", "timezone": "--timezone"}


@click.group(help="Scheduled sweeps (the retention review).")
def schedule() -> None:
    pass


@schedule.command("add", help="Schedule a sweep; prints its id, its timing in words and its next run.")
@click.option("--job", required=True, help="The sweep to run, e.g. retention_sweep.")
@click.option("--cron", "cron_expression", required=True, metavar="EXPRESSION",
              help='Five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * 1" (02:00 on Mondays).')
@click.option("--timezone", help="An IANA time zone such as Europe/London (default: INFOSHARE_TIMEZONE).")
def schedule_add(job: str, cron_expression: str, timezone: str | None) -> None:
    from infoshare_workflow.schedules.management import InvalidSchedule, create_schedule, schedule_view

    values = {"job": job, "cron": cron_expression, **({"timezone": timezone} if timezone is not None else {})}
    try:
        with migrated_runtime().transaction() as session:
            view = schedule_view(create_schedule(session, values, actor=cli_actor()))
    except InvalidSchedule as exc:
        field, messages = next(iter(exc.errors.items()))
        raise click.UsageError(f"{OPTIONS.get(field, field)}: {' '.join(map(str, messages))}") from None
    click.echo(f"schedule {view['id']} added: {view['job']} {view['description'][:1].lower()}"
               f"{view['description'][1:]} ({view['timezone']}); next run {_local(view['next_run_at'], view)}")


@schedule.command("list", help="Show the scheduled sweeps, with their timing in words and next run.")
@click.option("--json", "as_json", is_flag=True, help='Print {"items": [...]} as the API does.')
def schedule_list(as_json: bool) -> None:
    import json

    from infoshare_workflow.schedules.management import list_schedules, schedule_view
    from infoshare_workflow.schemas.schedules import ScheduleSchema

    with migrated_runtime().transaction() as session:
        views = [schedule_view(s) for s in list_schedules(session)]
    if as_json:
        click.echo(json.dumps({"items": ScheduleSchema(many=True).dump(views)}, indent=2))
        return
    if not views:
        click.echo("no schedules yet: add one with `infoshare schedule add`")
        return
    rows = [("ID", "JOB", "CRON", "WHEN", "TIMEZONE", "ENABLED", "NEXT RUN", "LAST RUN")] + [
        (str(v["id"]), v["job"], v["cron"], v["description"], v["timezone"], "yes" if v["enabled"] else "no",
         _local(v["next_run_at"], v), _local(v["last_run_at"], v)) for v in views]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@schedule.command("remove", help="Delete a schedule: it never runs again; its runs and reports are kept.")
@click.argument("schedule_id", type=SCHEDULE_ID)
def schedule_remove(schedule_id: int) -> None:
    from infoshare_workflow.schedules.management import ScheduleNotFound, delete_schedule

    try:
        with migrated_runtime().transaction() as session:
            job = delete_schedule(session, schedule_id, actor=cli_actor()).job
    except ScheduleNotFound:
        raise click.UsageError(f"no such schedule: {schedule_id}") from None
    click.echo(f"schedule {schedule_id} ({job}) removed; its runs are kept")


@schedule.command("run", help="Run a schedule's sweep now, in this process, showing its progress.")
@click.argument("schedule_id", type=SCHEDULE_ID)
def schedule_run(schedule_id: int) -> None:
    from infoshare_workflow.schedules.execution import execute_run
    from infoshare_workflow.schedules.management import ScheduleNotFound, get_schedule
    from infoshare_workflow.schedules.runs import run_now

    runtime = migrated_runtime()
    try:
        with runtime.transaction() as session:
            job = get_schedule(session, schedule_id).job
            run_id = run_now(session, schedule_id, cli_actor(), enqueue=False).id
    except ScheduleNotFound:
        raise click.UsageError(f"no such schedule: {schedule_id}") from None
    progress = Progress(job, sys.stdout.isatty())
    log = logging.getLogger("infoshare_workflow.schedules")
    level = log.level
    log.setLevel(logging.ERROR)  # the outcome is this command's line
    try:
        outcome = execute_run(runtime, run_id, progress)
    finally:
        progress.close()
        log.setLevel(level)
    with runtime.transaction() as session:
        from infoshare_workflow.storage.models import ScheduleRun

        run = session.get(ScheduleRun, run_id)
        assert run is not None
        counts, error, overlapping = dict(run.counts or {}), run.error, run.overlapping_run_id
    if overlapping is not None:
        raise CommandFailed(f"run {run_id} of schedule {schedule_id} ({job}) skipped: run {overlapping} of the "
                            f"same job is still running; run it again once that has finished")
    if outcome != "succeeded":
        raise CommandFailed(f"run {run_id} of schedule {schedule_id} ({job}) failed ({error or outcome})")
    summary = ", ".join(f"{name} {value}" for name, value in counts.items()) or "nothing counted"
    click.echo(f"run {run_id} of schedule {schedule_id} ({job}) succeeded: {summary}")


def _local(moment: datetime | None, view: dict[str, Any]) -> str:
    """A time on the schedule's own clock, e.g. "2026-12-07 02:00 GMT"; "-" for none."""
    from infoshare_workflow.schedules.cron import zone

    return "-" if moment is None else moment.astimezone(zone(view["timezone"])).strftime("%Y-%m-%d %H:%M %Z")
