"""The `infoshare` command line, run as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from infoshare_workflow.cases.inbox import entries

from .. import factories
from ..parking import park, post_unapplied, spoil

INFOSHARE = str(Path(sys.executable).with_name("infoshare"))


def run(settings, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INFOSHARE_DATABASE_URL": settings.database_url,
           "INFOSHARE_MIS_WEBHOOK_SECRET": settings.mis_webhook_secret,
           "INFOSHARE_SECRET_KEY": settings.secret_key,
           "INFOSHARE_ENCRYPTION_KEYS": ",".join(settings.encryption_keys)}
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


def test_an_empty_inbox_says_so(settings, runtime):
    assert run(settings, "inbox", "list").stdout.strip() == "no events waiting: every accepted event is applied"
