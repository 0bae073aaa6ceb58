"""The `infoshare` command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from infoshare_workflow.cases.inbox import entries
from infoshare_workflow.mail.messages import mark_failed, queue_email
from infoshare_workflow.storage.models import Email

from .. import factories
from ..conftest import ROOT, answers, make_settings, wait_for
from ..parking import park, post_unapplied, spoil
from ..smtp import free_port

INFOSHARE = str(Path(sys.executable).with_name("infoshare"))


def run(settings, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INFOSHARE_DATABASE_URL": settings.database_url,
           "INFOSHARE_MIS_WEBHOOK_SECRET": settings.mis_webhook_secret,
           "INFOSHARE_SECRET_KEY": settings.secret_key,
           "INFOSHARE_ENCRYPTION_KEYS": ",".join(settings.encryption_keys),
           "INFOSHARE_SCHOOL_NAME": settings.school_name or ""}
    return subprocess.run([INFOSHARE, *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_create_token_prints_the_token_alone_and_it_opens_the_api(settings, runtime, client):
    result = run(settings, "admin", "create-token", "ops")
    assert result.returncode == 0
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith("isw_")
    assert client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_second_token_with_the_same_name_exits_2_with_one_line(settings, runtime):
    run(settings, "admin", "create-token", "ops")
    result = run(settings, "admin", "create-token", "ops")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["infoshare: a token named 'ops' already exists"]


def test_a_bad_argument_exits_2_with_one_line(settings):
    result = run(settings, "serve", "--port", "nope")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--port" in result.stderr


@pytest.mark.parametrize("command", [[], ["serve"], ["db"], ["db", "upgrade"], ["db", "reencrypt"],
                                     ["admin", "create-token"], ["audit", "verify"]])
def test_every_command_has_help(settings, command):
    result = run(settings, *command, "--help")
    assert result.returncode == 0 and "Usage: infoshare" in result.stdout


def test_audit_verify_exits_0_on_a_sound_chain_and_1_naming_the_bad_event(settings, runtime, mis):
    mis.post(factories.concern_raised())
    ok = run(settings, "audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ") and " events, head " in ok.stdout
    with runtime.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = 2"))
    broken = run(settings, "audit", "verify")
    assert broken.returncode == 1 and "seq 2" in broken.stderr


def test_db_upgrade_is_safe_to_run_again(settings, runtime):
    result = run(settings, "db", "upgrade")
    assert result.returncode == 0 and "up to date" in result.stdout


def test_inbox_list_shows_a_parked_event_and_retry_makes_it_due_again(settings, runtime, client):
    accepted = post_unapplied(client, settings, factories.concern_raised("C-cli-parked"))
    spoil(runtime, "C-cli-parked")
    park(runtime)

    listed = run(settings, "inbox", "list", "--parked")
    assert listed.returncode == 0
    assert accepted["event_id"] in listed.stdout and "parked (InvalidToken)" in listed.stdout
    assert accepted["case_id"] in listed.stdout and factories.PUPIL_GIVEN not in listed.stdout

    retried = run(settings, "inbox", "retry", accepted["event_id"])
    assert retried.returncode == 0 and "1 event(s) due again" in retried.stdout
    assert "parked" not in run(settings, "inbox", "list").stdout.split("\n")[1]
    with runtime.transaction() as session:
        assert [e.parked for e in entries(session)] == [False]


def test_inbox_retry_of_an_unknown_event_exits_2_with_one_line(settings, runtime):
    result = run(settings, "inbox", "retry", "msg_nope")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["infoshare: not waiting in the inbox: msg_nope"]


def test_mail_list_shows_a_failed_email_without_its_address_and_retry_queues_it_again(settings, runtime):
    with runtime.transaction() as session:
        email_id = queue_email(session, template="task", to_address="dsl@school.example", to_label="staff:S-02",
                               case_id="IS-ABCDEFGHJK", context={}).id
        mark_failed(session, email_id, "535")

    listed = run(settings, "mail", "list")
    assert listed.returncode == 0
    assert email_id in listed.stdout and "staff:S-02" in listed.stdout and "535" in listed.stdout
    assert "dsl@" not in listed.stdout and "infoshare mail retry --all-failed" in listed.stdout

    retried = run(settings, "mail", "retry", "--all-failed")
    assert retried.returncode == 0 and "1 email(s) queued again" in retried.stdout
    assert run(settings, "mail", "list").stdout.strip() == "no failed emails"
    with runtime.transaction() as session:
        assert session.get(Email, email_id).status == "queued"


def test_mail_retry_of_an_email_that_did_not_fail_exits_2_with_one_line(settings, runtime):
    result = run(settings, "mail", "retry", "no-such-email")
    assert result.returncode == 2
    assert one_line(result) == "infoshare: not a failed email that can be sent again: no-such-email"


def test_an_empty_inbox_says_so(settings, runtime):
    assert run(settings, "inbox", "list").stdout.strip() == "no events waiting: every accepted event is applied"


DATA_COMMANDS = [["admin", "create-token", "ops"], ["recipients", "list"], ["cases", "overdue"], ["inbox", "list"],
                 ["inbox", "retry", "--all-parked"], ["mail", "list"], ["mail", "retry", "--all-failed"],
                 ["calendar", "list"], ["calendar", "close", "2026-12-21"],
                 ["audit", "verify"], ["db", "reencrypt"], ["report", "annual"],
                 ["recipients", "add", "--name", "A", "--kind", "police", "--email", "a@police.example"]]


def run_in(directory: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run as a newcomer would: in `directory`, with no INFOSHARE_* setting but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INFOSHARE_")}
    return subprocess.run([INFOSHARE, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120,
                          cwd=directory)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_on_the_embedded_defaults_with_no_database_a_command_says_to_migrate_and_leaves_nothing(tmp_path, command):
    result = run_in(tmp_path, *command)
    assert result.returncode == 1
    assert one_line(result) == 'infoshare: the database is not migrated; run "infoshare db upgrade"'
    assert list(tmp_path.iterdir()) == []  # no empty database, no secrets file


def test_a_database_migrated_only_part_way_says_where_it_is(tmp_path):
    url = f"sqlite:///{tmp_path / 'school.db'}"
    env = {"INFOSHARE_DATABASE_URL": url}
    from sqlalchemy import create_engine

    from infoshare_workflow.storage.migrate import upgrade

    engine = create_engine(url)
    upgrade(engine, "0003")
    engine.dispose()
    result = run_in(tmp_path, "cases", "overdue", **env)
    assert result.returncode == 1
    assert one_line(result).startswith('infoshare: the database is not migrated (at 0003, the newest is ')


def test_an_unreachable_database_is_one_line_naming_it_without_its_password(tmp_path):
    settings = make_settings("postgresql://ops:hunter2@127.0.0.1:1/infoshare")
    env = {"INFOSHARE_DATABASE_URL": settings.database_url, "INFOSHARE_MIS_WEBHOOK_SECRET": settings.mis_webhook_secret,
           "INFOSHARE_SECRET_KEY": settings.secret_key, "INFOSHARE_ENCRYPTION_KEYS": settings.encryption_keys[0],
           "INFOSHARE_SCHOOL_NAME": "Northfield"}
    for command in (["audit", "verify"], ["db", "upgrade"]):
        result = run_in(tmp_path, *command, **env)
        assert result.returncode == 1
        line = one_line(result)
        assert "127.0.0.1:1/infoshare" in line and "hunter2" not in line and "database" in line


def test_a_failed_first_demo_leaves_no_database_or_secrets_behind(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_in(tmp_path, "demo", "--auto", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert "choose another with --port" in one_line(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "   "])
def test_a_token_needs_a_name(settings, runtime, name):
    result = run(settings, "admin", "create-token", name)
    assert result.returncode == 2
    assert "give the token a name" in one_line(result)


@pytest.mark.parametrize("group", [[], ["db"], ["admin"], ["recipients"], ["cases"], ["inbox"], ["calendar"],
                                   ["audit"]])
def test_a_group_run_bare_prints_its_help_and_exits_0(tmp_path, group):
    result = run_in(tmp_path, *group)
    assert result.returncode == 0 and result.stdout.startswith("Usage: infoshare") and result.stderr == ""


def test_calendar_close_names_its_dates_in_the_usage(tmp_path):
    usage = run_in(tmp_path, "calendar", "close", "--help").stdout
    assert "Usage: infoshare calendar close [OPTIONS] DATE..." in usage and "YYYY-MM-DD" in usage
    wrong = run_in(tmp_path, "calendar", "close", "21/12/2026")
    assert wrong.returncode == 2 and "DATE" in one_line(wrong)


def test_an_empty_calendar_says_so(settings, runtime):
    assert run(settings, "calendar", "list").stdout.startswith("no closure days")


def test_make_demo_passes_the_port():
    dry = subprocess.run(["make", "-n", "demo", "PORT=5077"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "infoshare demo --port 5077" in dry.stdout


@pytest.mark.slow
def test_serve_puts_its_port_in_emailed_links(tmp_path):
    port = free_port()
    server = subprocess.Popen([INFOSHARE, "serve", "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env={k: v for k, v in os.environ.items()
                                                             if not k.startswith("INFOSHARE_")})
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"))
        secret = json.loads((tmp_path / "infoshare.db.secrets.json").read_text())["INFOSHARE_MIS_WEBHOOK_SECRET"]
        for event in (factories.staff_upserted("S-02", ["dsl"]), factories.concern_raised("C-serve-port")):
            body = factories.body_of(event)
            response = requests.post(f"http://127.0.0.1:{port}/webhooks/mis", data=body, timeout=10,
                                     headers=factories.signed_headers(secret, body))
            assert response.status_code == 202
        wait_for(lambda: list((tmp_path / "outbox").glob("*.eml")))
    finally:
        server.terminate()
        server.wait(timeout=30)
    message = next((tmp_path / "outbox").glob("*.eml")).read_text()
    assert f"http://localhost:{port}/tasks/" in message
