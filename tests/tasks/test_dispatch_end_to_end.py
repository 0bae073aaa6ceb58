"""Reminders and escalations with a real worker and beat on Redis, on a policy of seconds:
each email is sent exactly once."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from infoshare_workflow.settings.policy import load_policy
from infoshare_workflow.storage.models import Step

from .. import factories
from ..conftest import REDIS_URL, WorkerProcess, wait_for
from ..workflow import DSL_EMAIL, MANAGER_EMAIL, set_up_school

POLICY = """
[steps.standard]
consent = "8 seconds"
consultation = "8 seconds"
share = "8 seconds"
reminders = [0.5, 1.0]
escalate_after = "4 seconds"
"""


pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(settings, smtp, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return replace(settings, broker_url=REDIS_URL, smtp_url=smtp[1], dispatch_interval=1,
                   policy_file=str(path), policy=load_policy(str(path)))


def test_a_case_left_unanswered_is_reminded_twice_then_escalated_each_email_once(
        mis, runtime, smtp, settings, tmp_path):
    inbox = smtp[0]
    set_up_school(mis, runtime)
    worker = WorkerProcess(settings, tmp_path / "worker.log", beat=True)
    worker.start()
    try:
        case_id = mis.post(factories.concern_raised("C-clock")).get_json()["case_id"]
        wait_for(lambda: len(inbox.to(MANAGER_EMAIL)) >= 1, timeout=60)
        time.sleep(4)  # several more beats: nothing is sent again
    finally:
        worker.kill()

    dsl = [m["Subject"].strip() for m in inbox.to(DSL_EMAIL)]
    assert len(dsl) == 3, dsl
    assert dsl[0].startswith("Consent decision") and all(s.startswith("Reminder: Consent") for s in dsl[1:])
    managers = [m["Subject"].strip() for m in inbox.to(MANAGER_EMAIL)]
    assert len(managers) == 1 and managers[0].startswith(f"Overdue: Consent decision for case {case_id}")
    with runtime.transaction() as session:
        consent = session.scalars(select(Step).where(Step.kind == "consent")).one()
        assert (consent.reminders_sent, consent.escalated) == (2, True)
