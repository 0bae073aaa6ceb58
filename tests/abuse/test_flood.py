"""A flood from one address is held back by the rate limits while the MIS, at another address,
keeps being served: every one of its events accepted and stored.

Real gunicorn with the limits counted in Redis, keyed by client address
(infoshare_workflow/webhooks/rate_limits.py); each client connects from its own loopback address.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from infoshare_workflow.settings.config import RateLimits
from infoshare_workflow.storage.models import ReceivedEvent

from .. import factories
from ..conftest import REDIS_URL, WebProcess
from .raw_http import Answer, send

pytestmark = pytest.mark.postgresql_only

FLOODER, MIS = "127.0.0.2", "127.0.0.3"
LIMIT = 30  # webhooks per minute per address
FLOOD, GENUINE = 120, 15
DEADLINE = 30.0  # seconds for each of the MIS's requests: generous, and inside gunicorn's timeout


@pytest.fixture
def limited_web(settings, runtime, tmp_path):
    limits = RateLimits(storage_url=REDIS_URL, webhook=f"{LIMIT} per minute", pages=None, api=None,
                        failures="10 per minute")
    proc = WebProcess(replace(settings, rate_limits=limits), tmp_path / "web.log")
    proc.start()
    yield proc
    proc.stop()


def signed_event(secret: str, source: str, port: int) -> tuple[str, Answer]:
    event_id = f"msg_{uuid.uuid4().hex}"
    body = factories.body_of(factories.staff_upserted(f"S-{uuid.uuid4().hex[:8]}", ["staff"]))
    return event_id, send(port, "POST", "/webhooks/mis", body,
                          factories.signed_headers(secret, body, msg_id=event_id), source=source, timeout=DEADLINE)


def stored(runtime, event_ids: list[str]) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(ReceivedEvent).where(
            ReceivedEvent.event_id.in_(event_ids)))


def test_a_flooding_client_gets_429s_while_the_mis_keeps_every_event_accepted(limited_web, settings, runtime):
    secret, port = settings.mis_webhook_secret, limited_web.port
    with ThreadPoolExecutor(max_workers=3) as pool:
        flood = [pool.submit(signed_event, secret, FLOODER, port) for _ in range(FLOOD)]
        genuine = [signed_event(secret, MIS, port) for _ in range(GENUINE)]  # meanwhile, one at a time
        flooded = [f.result() for f in flood]

    assert [answer.status for _, answer in genuine] == [202] * GENUINE
    assert stored(runtime, [event_id for event_id, _ in genuine]) == GENUINE
    statuses = [answer.status for _, answer in flooded]
    assert set(statuses) <= {202, 429}
    # A fixed window a minute long: the flood may straddle two, never more.
    assert statuses.count(202) <= 2 * LIMIT and statuses.count(429) >= FLOOD - 2 * LIMIT
    assert all(1 <= int(answer.headers["Retry-After"]) <= 60 for _, answer in flooded if answer.status == 429)
    # What was let through was stored, and nothing that was refused.
    assert stored(runtime, [event_id for event_id, _ in flooded]) == statuses.count(202)
