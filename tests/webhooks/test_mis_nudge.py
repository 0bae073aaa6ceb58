"""A nudge that cannot be sent never costs the MIS its 202: the event is stored, the failure
counted, and the next apply run (beat's, every second) takes the event."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from infoshare_workflow.storage.models import Case, Email, ReceivedEvent, Step

from .. import factories
from ..conftest import wait_for
from ..smtp import free_port
from ..workflow import DSL, DSL_EMAIL


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """Redis nowhere: nothing listens on the broker's port, so every nudge fails."""
    return replace(settings, broker_url=f"redis://127.0.0.1:{free_port()}/15")


def nudges(client: Any) -> dict[str, float]:
    """The nudge counts by outcome, as Prometheus scrapes them."""
    text = client.get("/metrics").get_data(as_text=True)
    return {sample.labels["outcome"]: sample.value for family in text_string_to_metric_families(text)
            if family.name == "infoshare_mis_apply_nudges" for sample in family.samples
            if sample.name.endswith("_total")}


def since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {outcome: value - before.get(outcome, 0) for outcome, value in after.items()
            if value - before.get(outcome, 0)}


def post(client: Any, secret: str, event: dict[str, Any]) -> Any:
    body = factories.body_of(event)
    return client.post("/webhooks/mis", data=body, headers=factories.signed_headers(secret, body))


def test_with_redis_unreachable_the_webhook_answers_202_and_the_next_apply_run_takes_the_event(app, client, runtime,
                                                                                               settings):
    before = nudges(client)

    staff = post(client, settings.mis_webhook_secret, factories.staff_upserted(DSL, ["dsl"]))
    concern = post(client, settings.mis_webhook_secret, factories.concern_raised())

    assert (staff.status_code, concern.status_code) == (202, 202)
    # The nudging thread tries after each 202 (the second event may share the first's try).
    counted = wait_for(lambda: counts if sum((counts := since(before, nudges(client))).values()) == 2 else None,
                       timeout=10)
    assert counted.get("failed", 0) >= 1 and set(counted) <= {"failed", "coalesced"}
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ReceivedEvent)
                              .where(ReceivedEvent.applied_at.is_(None))) == 2
        assert session.scalar(select(func.count()).select_from(Case)) == 0

    celery = app.extensions["infoshare.celery"]
    celery.loader.import_default_modules()
    applied: list[int] = []
    while not applied or applied[-1]:  # what beat runs every second (its gate unreachable too)
        run = celery.tasks["infoshare.mis.apply"].apply()
        assert run.successful()
        applied.append(run.result)

    assert sum(applied) == 2 and len(applied) <= 3  # a pass ends after about a second: a slow machine takes two
    with runtime.transaction() as session:
        case = session.scalars(select(Case)).one()
        assert case.case_id == concern.get_json()["case_id"]
        consent = session.scalars(select(Step).where(Step.case_pk == case.id, Step.kind == "consent")).one()
        assert consent.status == "open"
        task = session.scalars(select(Email).where(Email.case_id == case.case_id)).one()
        assert (task.template, task.to_label, task.to_address) == ("task", f"staff:{DSL}", DSL_EMAIL)
