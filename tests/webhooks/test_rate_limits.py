"""Unauthenticated noise stays cheap: refusals counted not chained, and per-client limits on Redis.

2,000 unsigned POSTs used to add 2,000 links to the hash-chained audit trail behind its one
lock, slowing genuine webhooks twentyfold.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from infoshare_workflow.cases.rejections import flush_tallies
from infoshare_workflow.service.app import create_app
from infoshare_workflow.settings.config import RateLimits
from infoshare_workflow.storage.models import AuditEvent, RejectionTally, utcnow

from .. import factories
from ..conftest import REDIS_URL
from .test_health import metric

UNSIGNED = {"Content-Type": "application/json", "webhook-id": "msg_x", "webhook-timestamp": "1",
            "webhook-signature": "v1,AAAA"}


def audit_count(runtime) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def test_two_thousand_unsigned_posts_cost_one_audit_event_per_reason_per_minute(client, runtime):
    before = audit_count(runtime)
    body = factories.body_of(factories.concern_raised())

    statuses = {client.post("/webhooks/mis", data=body, headers=UNSIGNED).status_code for _ in range(2000)}

    assert statuses == {401}
    assert audit_count(runtime) == before  # nothing chained per request
    with runtime.transaction() as session:
        assert session.scalar(select(func.sum(RejectionTally.count))) == 2000
    flush_tallies(runtime.sessions, now=utcnow() + timedelta(minutes=1))
    with runtime.transaction() as session:
        events = [json.loads(e.details) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "event.rejected"))]
    assert 1 <= len(events) <= 2  # one per minute the burst touched
    assert {e["reason"] for e in events} == {"signature"} and sum(e["count"] for e in events) == 2000
    assert metric(client.get("/metrics").get_data(as_text=True), "infoshare_mis_rejections_total",
                  via="http", reason="signature") >= 2000


def test_flushing_the_same_minute_twice_audits_it_once(client, runtime):
    client.post("/webhooks/mis", data=b"{}", headers=UNSIGNED)
    later = utcnow() + timedelta(minutes=1)
    assert flush_tallies(runtime.sessions, now=later) == 1
    assert flush_tallies(runtime.sessions, now=later) == 0


def test_a_made_up_method_is_counted_as_other(client):
    client.open("/webhooks/mis", method="BREW")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'method="BREW"' not in text
    assert metric(text, "infoshare_request_seconds_count", method="other") >= 1


@pytest.fixture
def limited(settings, runtime):
    """The app with tight limits counted in the test Redis (a key prefix of its own)."""
    limits = RateLimits(storage_url=REDIS_URL, webhook="8 per minute", pages="6 per minute", api="6 per minute",
                        failures="3 per minute")
    return create_app(replace(settings, rate_limits=limits, queue=f"rl-{uuid.uuid4().hex[:8]}"))


def test_a_client_that_keeps_failing_signatures_is_told_to_wait(limited, settings):
    client = limited.test_client()
    body = factories.body_of(factories.staff_upserted("S-02", ["dsl"]))
    answers = [client.post("/webhooks/mis", data=body, headers=UNSIGNED) for _ in range(4)]
    signed = client.post("/webhooks/mis", data=body, headers=factories.signed_headers(settings.mis_webhook_secret, body))

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[-1].get_json()["status"] == "rate_limited"
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert signed.status_code == 429  # the address is told to wait, whatever it sends next
    other = client.post("/webhooks/mis", data=body, environ_base={"REMOTE_ADDR": "10.1.2.3"},
                        headers=factories.signed_headers(settings.mis_webhook_secret, body))
    assert other.status_code == 202  # per client: another address is not held up


def test_the_counters_live_in_redis_so_every_web_process_shares_them(limited, settings):
    second_process = create_app(limited.extensions["infoshare"].settings)
    body = factories.body_of(factories.staff_upserted("S-02", ["dsl"]))
    statuses = []
    for n in range(10):
        app = limited if n % 2 else second_process
        statuses.append(app.test_client().post(
            "/webhooks/mis", data=body, headers=factories.signed_headers(settings.mis_webhook_secret, body)).status_code)
    assert statuses.count(429) == 2 and set(statuses) - {429} <= {200, 202}


def test_guessing_task_links_gets_a_page_saying_when_to_try_again(limited):
    client = limited.test_client()
    answers = [client.get(f"/tasks/guess-{n}") for n in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    page = answers[-1]
    assert b"Too many requests" in page.data and page.headers["Retry-After"]
    assert page.headers["Cache-Control"] == "no-store" and "default-src 'none'" in page.headers[
        "Content-Security-Policy"]
    assert client.post("/disclosures/guess").status_code == 404  # each door counts on its own


def test_wrong_admin_tokens_get_429_in_json(limited):
    client = limited.test_client()
    answers = [client.get("/api/v1/cases", headers={"Authorization": "Bearer isw_wrong"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[-1].is_json and answers[-1].headers["Retry-After"]
    assert answers[-1].headers["Cache-Control"] == "no-store"


def test_health_and_metrics_are_never_limited(limited):
    client = limited.test_client()
    assert {client.get("/healthz").status_code for _ in range(20)} == {200}
    assert {client.get("/metrics").status_code for _ in range(10)} == {200}


def test_with_redis_unreachable_the_limits_fall_back_to_memory_and_nothing_fails(settings, runtime):
    limits = RateLimits(storage_url="redis://127.0.0.1:1/0", webhook="100 per minute", failures="3 per minute")
    client = create_app(replace(settings, rate_limits=limits)).test_client()
    body = factories.body_of(factories.staff_upserted("S-02", ["dsl"]))
    assert client.post("/webhooks/mis", data=body,
                       headers=factories.signed_headers(settings.mis_webhook_secret, body)).status_code == 202
    answers = [client.post("/webhooks/mis", data=body, headers=UNSIGNED).status_code for _ in range(6)]
    assert 500 not in answers and answers[:3] == [401, 401, 401]
