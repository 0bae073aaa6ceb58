"""The OpenAPI document is the contract: schemathesis, with every check it has, against the
running app (gunicorn, PostgreSQL), finds no failure. Webhook requests are signed as the MIS
signs them (tests/schemathesis_hooks.py), so events reach validation and the database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from infoshare_workflow.access.admin_tokens import create_token
from infoshare_workflow.storage.models import ReceivedEvent, Recipient

from .. import factories
from ..conftest import ROOT, apply_accepted

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


@pytest.fixture
def database_url(postgresql_url: str) -> str:
    return postgresql_url


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


def test_schemathesis_with_every_check_finds_no_failure(web, settings, runtime, tmp_path):
    seed(web, settings, runtime)
    with runtime.transaction() as session:
        token = create_token(session, "schemathesis")
    result = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(ROOT / "tests" / "schemathesis.toml"), "run",
         f"{web.url}/api/v1/openapi.json", "--checks", "all", "-H", f"Authorization: Bearer {token}",
         "--max-examples", os.environ.get("INFOSHARE_SCHEMATHESIS_EXAMPLES", "40"), "--workers", "1",
         "--seed", os.environ.get("INFOSHARE_SCHEMATHESIS_SEED", "20261125"), "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(ROOT),
             "INFOSHARE_MIS_WEBHOOK_SECRET": settings.mis_webhook_secret},
    )
    assert result.returncode == 0, result.stdout[-15000:] + result.stderr[-3000:]
    assert "Failures:" not in result.stdout
    with runtime.transaction() as session:  # signed events really reached validation and the inbox
        assert session.scalar(select(func.count()).select_from(ReceivedEvent)) > 3
