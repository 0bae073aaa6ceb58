"""`infoshare recipients add|list`, run as an administrator would run them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from infoshare_workflow.storage.models import AuditEvent, Recipient

from .test_main import run

MASH = ["--name", "Northshire MASH", "--kind", "childrens_social_care", "--email", "mash@northshire.gov.example"]


def test_add_prints_the_new_id_and_a_one_line_summary_and_is_audited(settings, runtime):
    result = run(settings, "recipients", "add", *MASH)

    assert result.returncode == 0, result.stderr
    with runtime.transaction() as session:
        recipient = session.scalars(select(Recipient)).one()
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "recipient.added")).one()
    assert result.stdout == (f"recipient {recipient.id} added: Northshire MASH (childrens_social_care) "
                             "<mash@northshire.gov.example>\n")
    assert recipient.active is True
    assert event.actor.startswith("cli") and json.loads(event.details)["recipient_id"] == recipient.id


def test_list_shows_a_readable_table_by_name(settings, runtime):
    run(settings, "recipients", "add", *MASH)
    run(settings, "recipients", "add", "--name", "Health visitors", "--kind", "health", "--email", "hv@nhs.example")

    result = run(settings, "recipients", "list")

    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "KIND", "EMAIL", "ACTIVE"]
    assert [row.split("  ")[0].strip() for row in rows] == ["2", "1"]
    assert "Health visitors" in rows[0] and "hv@nhs.example" in rows[0] and rows[0].rstrip().endswith("yes")
    assert rows[1].index("childrens_social_care") == header.index("KIND")


def test_list_json_matches_the_api(settings, runtime, client, admin_token):
    run(settings, "recipients", "add", *MASH)

    result = run(settings, "recipients", "list", "--json")

    api = client.get("/api/v1/recipients", headers={"Authorization": f"Bearer {admin_token}"}).get_json()
    assert result.returncode == 0 and json.loads(result.stdout) == api
    assert api["items"][0]["name"] == "Northshire MASH"


def test_list_of_an_empty_directory_says_so(settings, runtime):
    result = run(settings, "recipients", "list")
    assert result.returncode == 0 and "no recipients" in result.stdout
    assert json.loads(run(settings, "recipients", "list", "--json").stdout) == {"items": []}


@pytest.mark.parametrize("args, named", [
    (["--name", "X", "--kind", "social_services", "--email", "x@example.org"], "--kind"),
    (["--name", "X", "--kind", "police", "--email", "not-an-address"], "--email"),
    (["--name", " ", "--kind", "police", "--email", "x@example.org"], "--name"),
    (["--name", "X", "--kind", "police"], "--email"),
])
def test_a_bad_argument_exits_2_with_one_line_naming_it_and_adds_nothing(settings, runtime, args, named):
    result = run(settings, "recipients", "add", *args)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and named in result.stderr
    with runtime.transaction() as session:
        assert session.scalars(select(Recipient)).all() == []


@pytest.mark.parametrize("command", [["recipients"], ["recipients", "add"], ["recipients", "list"]])
def test_every_recipients_command_has_help(settings, command):
    result = run(settings, *command, "--help")
    assert result.returncode == 0 and "Usage: infoshare" in result.stdout
