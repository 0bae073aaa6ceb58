"""The OpenAPI document is the contract: schemathesis, with every check it has, against the
running app (gunicorn, PostgreSQL), finds no failure. Webhook requests are signed as the MIS
signs them (tests/schemathesis_hooks.py), so events reach validation and the database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select

from infoshare_workflow.access.admin_tokens import create_token
from infoshare_workflow.storage.models import (
    Case,
    Disclosure,
    ReceivedEvent,
    Recipient,
    ScheduleRun,
    Step,
)

from .. import factories
from ..conftest import ROOT, apply_accepted
from ..workflow import DSL_EMAIL, MANAGER_EMAIL, answer, consent_given, drain, share_form

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


pytestmark = pytest.mark.postgresql_only


def seed(web, settings, runtime) -> None:
    """A school with a case, so the reads have something to read."""
    for event in (factories.staff_upserted("S-02", ["dsl"]), factories.staff_upserted("S-09", ["manager"]),
                  factories.concern_raised("C-contract-1")):
        body = factories.body_of(event)
        response = requests.post(f"{web.url}/webhooks/mis", data=body, timeout=10,
                                 headers=factories.signed_headers(settings.mis_webhook_secret, body))
        assert response.status_code == 202
    apply_accepted(runtime)
    with runtime.transaction() as session:
        session.add(Recipient(name="Children's Social Care", kind="childrens_social_care",
                              email="csc@council.example"))


def shared_case(mis, app, runtime, settings, client) -> None:
    """A second case taken through to a share, so it has a disclosure to revoke and done steps."""
    response = mis.post(factories.concern_raised("C-contract-2", pupil={"mis_id": "P-contract-2"}))
    assert response.status_code == 202
    drain(app)
    answer(client, settings, app, DSL_EMAIL, consent_given())
    answer(client, settings, app, MANAGER_EMAIL, {"advice": "share", "rationale": "Risk is clear"})
    with runtime.transaction() as session:
        csc = session.scalars(select(Recipient.id)).first()
    assert answer(client, settings, app, DSL_EMAIL, share_form([csc])).status_code == 303


def a_run(client, token: str) -> int:
    """A schedule run by hand, so the schedule and run reads have something to read, made last:
    the lowest ids go to schedules for the DELETE to delete (the first one's id is returned), as
    schemathesis's boundary values try id 1 whatever the dictionaries say, and a recipient's id
    (the same path parameter) may equal a schedule's."""
    auth = {"Authorization": f"Bearer {token}"}
    made = [client.post("/api/v1/schedules", json={"job": "retention_sweep", "cron": "0 2 * * 1"}, headers=auth)
            for _ in range(4)]
    assert [m.status_code for m in made] == [201] * 4
    assert client.post(f"/api/v1/schedules/{made[-1].get_json()['id']}/run", headers=auth).status_code == 202
    return made[0].get_json()["id"]  # type: ignore[no-any-return]


def known_ids(runtime, tmp_path: Path, doomed_schedule: int) -> Path:
    """The contract's configuration, plus the ids the seeded school really has: schemathesis draws
    a path's id from them three times in four, so every operation on a case, step, disclosure,
    schedule or run reaches the code behind its 404 (and its answers are checked against the
    document), not only the 404. A DELETE draws from ids kept for it, so the reads keep theirs."""
    with runtime.transaction() as session:
        doomed = Recipient(name="Old Team", kind="other", email="old@team.example")
        session.add(doomed)
        session.flush()
        ids = {"case_id": [c for c in session.scalars(select(Case.case_id))],
               "step_id": list(session.scalars(select(Step.id))),
               "disclosure_id": list(session.scalars(select(Disclosure.id))),
               "id": [*session.scalars(select(Recipient.id).where(Recipient.id != doomed.id)),
                      *session.scalars(select(ScheduleRun.schedule_id))],
               "run_id": list(session.scalars(select(ScheduleRun.id))),
               "doomed": [doomed.id, doomed_schedule]}
    assert all(ids.values()), ids
    lines = [(ROOT / "tests" / "schemathesis.toml").read_text(), ""]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines += ["[[operations]]", 'include-method = "DELETE"',
              'parameters = { "path.id" = { dictionary = "doomed", probability = 0.75 } }', ""]
    lines += ["[parameters]"] + [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.75 }}'
                                 for name in ids if name != "doomed"]
    config = tmp_path / "schemathesis.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def only_refused(operations: list[tuple[str, str]], har: Path) -> list[tuple[str, str]]:
    """The operations whose every call in the run's HAR record was refused before reaching the
    operation's own code: not found, not signed, not allowed (401, 404, 405, 429)."""
    calls = [(e["request"]["method"], urlsplit(e["request"]["url"]).path, e["response"]["status"])
             for e in json.loads(har.read_text())["log"]["entries"]]
    refused = []
    for method, template in operations:
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$")
        statuses = {status for m, path, status in calls if m == method and pattern.match(path)}
        if not statuses - {401, 404, 405, 429}:
            refused.append((method, template))
    return refused


def test_schemathesis_with_every_check_finds_no_failure(web, settings, runtime, tmp_path, mis, app, client):
    seed(web, settings, runtime)
    shared_case(mis, app, runtime, settings, client)
    with runtime.transaction() as session:
        token = create_token(session, "schemathesis")
    doomed_schedule = a_run(client, token)
    result = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(known_ids(runtime, tmp_path, doomed_schedule)), "run",
         f"{web.url}/api/v1/openapi.json", "--checks", "all", "-H", f"Authorization: Bearer {token}",
         "--max-examples", os.environ.get("INFOSHARE_SCHEMATHESIS_EXAMPLES", "40"), "--workers", "1",
         "--seed", os.environ.get("INFOSHARE_SCHEMATHESIS_SEED", "20261125"), "--no-color",
         "--report", "har", "--report-har-path", str(tmp_path / "calls.har")],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(ROOT),
             "INFOSHARE_MIS_WEBHOOK_SECRET": settings.mis_webhook_secret},
    )
    assert result.returncode == 0, result.stdout[-15000:] + result.stderr[-3000:]
    assert "Failures:" not in result.stdout
    # Every operation in the document was run, and each got past its 404s to the code behind them.
    document = requests.get(f"{web.url}/api/v1/openapi.json", timeout=10).json()
    operations = [(method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "put", "post", "patch", "delete")]
    assert f"Selected: {len(operations)}/{len(operations)}" in result.stdout
    assert f"Tested: {len(operations)}\n" in result.stdout
    assert not only_refused(operations, tmp_path / "calls.har")
    with runtime.transaction() as session:  # signed events really reached validation and the inbox
        assert session.scalar(select(func.count()).select_from(ReceivedEvent)) > 3
