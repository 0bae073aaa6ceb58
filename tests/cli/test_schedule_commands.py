"""`infoshare schedule add|list|remove|run`, run as an administrator would run them."""

from __future__ import annotations

import json
import os
import pty
import re
import select as select_fd
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from infoshare_workflow.cli.schedule import schedule
from infoshare_workflow.storage.models import AuditEvent, Schedule, ScheduleRun, utcnow

from ..audit_trail import actions
from ..conftest import ROOT
from ..schedule_jobs import registered_test_jobs
from .test_main import run

WEEKLY = ["--job", "retention_sweep", "--cron", "0 2 * * 1"]


def env_of(settings) -> dict[str, str]:
    return {"INFOSHARE_DATABASE_URL": settings.database_url, "INFOSHARE_MIS_WEBHOOK_SECRET": settings.mis_webhook_secret,
            "INFOSHARE_SECRET_KEY": settings.secret_key, "INFOSHARE_ENCRYPTION_KEYS": ",".join(settings.encryption_keys),
            "INFOSHARE_SCHOOL_NAME": settings.school_name or ""}


def test_add_prints_the_id_the_timing_in_words_and_the_next_run_and_is_audited(settings, runtime):
    result = run(settings, "schedule", "add", *WEEKLY, "--timezone", "Europe/London")

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"schedule 1 added: retention_sweep at 02:00, only on Monday \(Europe/London\); "
                        r"next run \d{4}-\d\d-\d\d 02:00 (GMT|BST)\n", result.stdout), result.stdout
    with runtime.transaction() as session:
        added = session.scalars(select(Schedule)).one()
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "schedule.created")).one()
    assert (added.job, added.cron, added.timezone) == ("retention_sweep", "0 2 * * 1", "Europe/London")
    assert event.actor.startswith("cli")


@pytest.mark.parametrize("args, named", [
    (["--job", "annual_report", "--cron", "0 2 * * 1"], "--job"),
    (["--job", "retention_sweep", "--cron", "0 2 * *"], "--cron"),
    (["--job", "retention_sweep", "--cron", "0 2 31 2 *"], "--cron"),
    (WEEKLY + ["--timezone", "Mars/Olympus"], "--timezone"),
    (["--job", "retention_sweep"], "--cron"),
])
def test_a_bad_argument_exits_2_with_one_line_naming_it_and_adds_nothing(settings, runtime, args, named):
    result = run(settings, "schedule", "add", *args)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and named in result.stderr, result.stderr
    with runtime.transaction() as session:
        assert session.scalars(select(Schedule)).all() == []


def test_list_shows_a_readable_table_with_the_timing_in_words(settings, runtime):
    run(settings, "schedule", "add", *WEEKLY)
    run(settings, "schedule", "add", "--job", "retention_sweep", "--cron", "*/30 * * * *", "--timezone", "UTC")

    result = run(settings, "schedule", "list")

    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split("  ")[0:2] == ["ID", "JOB"] and "WHEN" in header and "NEXT RUN" in header
    assert rows[0].startswith("1 ") and "At 02:00, only on Monday" in rows[0] and "Europe/London" in rows[0]
    assert rows[1].startswith("2 ") and "Every 30 minutes" in rows[1] and " UTC" in rows[1]
    assert rows[1].index("Every 30 minutes") == header.index("WHEN")


def test_list_json_matches_the_api(settings, runtime, client, admin_token):
    run(settings, "schedule", "add", *WEEKLY)
    result = run(settings, "schedule", "list", "--json")
    api = client.get("/api/v1/schedules", headers={"Authorization": f"Bearer {admin_token}"}).get_json()
    assert result.returncode == 0 and json.loads(result.stdout) == api and len(api["items"]) == 1


def test_list_with_no_schedules_says_how_to_add_one(settings, runtime):
    result = run(settings, "schedule", "list")
    assert result.returncode == 0
    assert result.stdout == "no schedules yet: add one with `infoshare schedule add`\n"


def test_remove_deletes_the_schedule_and_keeps_its_runs(settings, runtime):
    run(settings, "schedule", "add", *WEEKLY)
    assert run(settings, "schedule", "run", "1").returncode == 0

    result = run(settings, "schedule", "remove", "1")

    assert result.returncode == 0 and result.stdout == "schedule 1 (retention_sweep) removed; its runs are kept\n"
    assert run(settings, "schedule", "list").stdout.startswith("no schedules yet")
    with runtime.transaction() as session:
        assert len(session.scalars(select(ScheduleRun)).all()) == 1


@pytest.mark.parametrize("command", [["remove", "7"], ["run", "7"], ["remove", "nope"], ["run", "0"]])
def test_an_unknown_schedule_exits_2_with_one_line(settings, runtime, command):
    result = run(settings, "schedule", *command)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_run_does_the_sweep_here_at_once_and_says_how_it_went(settings, runtime):
    run(settings, "schedule", "add", *WEEKLY)

    result = run(settings, "schedule", "run", "1")

    assert result.returncode == 0, result.stderr
    *progress, last = result.stdout.splitlines()
    assert progress == ["retention_sweep: 0/0"], result.stdout  # nothing due: the total, at once
    assert re.fullmatch(r"run 1 of schedule 1 \(retention_sweep\) succeeded: .+", last)
    with runtime.transaction() as session:
        done = session.scalars(select(ScheduleRun)).one()
        assert done.status == "succeeded" and done.requested_by.startswith("cli")
    assert actions(runtime, "schedule.run_") == ["schedule.run_requested", "schedule.run_started",
                                                 "schedule.run_finished"]


def test_run_prints_plain_progress_lines_when_not_on_a_terminal(settings, runtime):
    with registered_test_jobs():
        run(settings, "schedule", "add", *WEEKLY)
        with runtime.transaction() as session:
            session.get(Schedule, 1).job = "test_recording"
        result = CliRunner().invoke(schedule, ["run", "1"], env=env_of(settings))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "test_recording: 1/3" and lines[-2] == "test_recording: 3/3"
    assert lines[-1] == "run 1 of schedule 1 (test_recording) succeeded: disposed 3, listed 0"


def with_test_jobs(settings, *args: str) -> tuple[list[str], dict[str, Any]]:
    """`infoshare ARGS` as a process of its own with the test jobs registered in it: (argv, Popen options)."""
    program = ("import sys\nfrom tests.schedule_jobs import registered_test_jobs\n"
               "from infoshare_workflow.cli.main import main\n"
               "with registered_test_jobs():\n    main(sys.argv[1:])\n")
    return [sys.executable, "-c", program, *args], {
        "cwd": ROOT, "env": {**os.environ, **env_of(settings), "PYTHONPATH": str(ROOT)}}


def test_a_failed_run_exits_1_with_one_line_naming_the_error_class(settings, runtime):
    run(settings, "schedule", "add", *WEEKLY)
    with runtime.transaction() as session:
        session.get(Schedule, 1).job = "test_failing"

    argv, options = with_test_jobs(settings, "schedule", "run", "1")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, **options)

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["infoshare: run 1 of schedule 1 (test_failing) failed (JobBroke)"]
    assert "Sam Taylor" not in result.stdout + result.stderr
    with runtime.transaction() as session:
        assert session.scalars(select(ScheduleRun)).one().error == "JobBroke"


def test_a_run_while_the_same_sweep_is_running_exits_1_naming_the_running_one(settings, runtime):
    run(settings, "schedule", "add", *WEEKLY)
    with runtime.transaction() as session:  # the scheduled run, taken by a worker a minute ago
        session.add(ScheduleRun(schedule_id=1, due_at=utcnow(), status="running", attempts=1,
                                claimed_until=utcnow() + timedelta(minutes=9), counts={}))

    result = run(settings, "schedule", "run", "1")

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["infoshare: run 2 of schedule 1 (retention_sweep) skipped: run 1 of the "
                                          "same job is still running; run it again once that has finished"]
    with runtime.transaction() as session:
        assert session.get(ScheduleRun, 2).status == "skipped" and session.get(ScheduleRun, 1).status == "running"


def test_run_shows_a_progress_bar_on_a_terminal(settings, runtime):
    """The command on a terminal (a pseudo-terminal here), with a job that reports progress."""
    run(settings, "schedule", "add", *WEEKLY)
    with runtime.transaction() as session:
        session.get(Schedule, 1).job = "test_recording"
    argv, options = with_test_jobs(settings, "schedule", "run", "1")
    leader, follower = pty.openpty()
    process = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower, **options)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select_fd.select([leader], [], [], 60)
        try:
            chunk = os.read(leader, 4096) if ready else b""
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0, output
    text = output.decode()
    assert re.search(r"test_recording +\[#+\] +3/3", text), text  # click's bar, filled
    assert "test_recording: 1/3" not in text  # a bar, not plain lines
    assert "run 1 of schedule 1 (test_recording) succeeded: disposed 3, listed 0" in text


@pytest.mark.parametrize("command", [["schedule"], ["schedule", "add"], ["schedule", "list"], ["schedule", "remove"],
                                     ["schedule", "run"]])
def test_every_schedule_command_has_help(settings, command):
    result = run(settings, *command, "--help")
    assert result.returncode == 0 and "Usage: infoshare" in result.stdout
