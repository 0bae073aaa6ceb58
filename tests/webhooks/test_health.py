"""Health, readiness and metrics."""

from __future__ import annotations

from dataclasses import replace

from infoshare_workflow.service.app import create_app

from .. import factories
from ..parking import park, post_unapplied, spoil


def test_healthz_answers_while_the_process_is_up(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_is_200_with_the_database_and_an_in_process_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["checks"] == {"database": True, "broker": True}


def test_readyz_is_200_with_a_real_redis_broker(settings, runtime):
    from tests.conftest import REDIS_URL

    response = create_app(replace(settings, broker_url=REDIS_URL)).test_client().get("/readyz")
    assert response.status_code == 200


def test_readyz_is_503_when_the_broker_is_unreachable(settings, runtime):
    app = create_app(replace(settings, broker_url="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": True, "broker": False}


def test_readyz_is_503_when_the_database_is_unreachable(settings):
    app = create_app(replace(settings, database_url="postgresql://root@127.0.0.1:1/nowhere"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["database"] is False


def metric(text: str, name: str, **labels: str) -> float:
    """A sample's value from the exposition text; 0 when no sample matches."""
    for line in text.splitlines():
        unlabelled = not labels and line.startswith(f"{name} ")
        labelled = line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items())
        if unlabelled or labelled:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_events_by_type_and_outcome_and_time_requests(client, mis):
    before = client.get("/metrics").get_data(as_text=True)
    event = factories.concern_raised()
    mis.post(event, msg_id="msg_m")
    mis.post(event, msg_id="msg_m")
    mis.post(factories.envelope("concern.raised", {}))

    after = client.get("/metrics").get_data(as_text=True)
    for outcome in ("accepted", "duplicate", "rejected"):
        delta = metric(after, "infoshare_events_total", type="concern.raised", outcome=outcome) - metric(
            before, "infoshare_events_total", type="concern.raised", outcome=outcome)
        assert delta == 1, outcome
    assert metric(after, "infoshare_request_seconds_count", route="/webhooks/mis", status="202") >= 1
    assert "isw_" not in after and factories.PUPIL_GIVEN not in after


def test_metrics_show_outbox_work_pending_and_parked(mis, runtime, client):
    from sqlalchemy import update

    from infoshare_workflow.storage.models import OutboxMessage, utcnow

    mis.post(factories.staff_upserted("S-02", ["dsl"]))
    mis.post(factories.concern_raised())  # queues the DSL's email: one outbox row, not yet done
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "infoshare_outbox_messages", state="pending") == 1
    with runtime.transaction() as session:
        session.execute(update(OutboxMessage).values(parked_at=utcnow()))
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "infoshare_outbox_messages", state="parked") == 1
    assert metric(text, "infoshare_outbox_messages", state="pending") == 0


def test_metrics_show_accepted_events_waiting_for_a_worker(client, settings):
    body = factories.body_of(factories.concern_raised())
    client.post("/webhooks/mis", data=body, headers=factories.signed_headers(settings.mis_webhook_secret, body))
    assert metric(client.get("/metrics").get_data(as_text=True), "infoshare_inbox_unapplied") == 1


def test_metrics_count_parked_events(client, settings, runtime):
    post_unapplied(client, settings, factories.concern_raised("C-metric-parked"))
    spoil(runtime, "C-metric-parked")
    park(runtime)
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "infoshare_inbox_parked") == 1
    assert metric(text, "infoshare_inbox_unapplied") == 1
