"""The public doors under real gunicorn, as deployed: a body too big is refused before it is read,
JSON nested absurdly deep is a 400, and slow clients cost a thread each, never the service.

gunicorn runs as docker-compose runs it (tests/conftest.py `WebProcess`: gthread, the
redacting logger), on PostgreSQL; requests that a polite client would never send are written
by hand (tests/abuse/raw_http.py).
"""

from __future__ import annotations

import json
import socket
import uuid

import pytest
from sqlalchemy import func, select

from infoshare_workflow.access.admin_tokens import create_token
from infoshare_workflow.storage.models import ReceivedEvent, Recipient

from .. import factories
from ..conftest import apply_accepted
from ..test_logs import task_links
from ..workflow import DSL, MANAGER
from .raw_http import declare_more_than_sent, send, slow_clients

pytestmark = pytest.mark.postgresql_only

SIXTY_FOUR_MIB = 64 * 1024 * 1024
GENUINE_DEADLINE = 20.0  # seconds: well inside gunicorn's 30 s worker timeout, generous on a loaded machine


def stored(runtime, model) -> int:
    with runtime.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def a_task_path(web, settings, runtime) -> str:
    """A live task link's path: a DSL, a manager and one concern, applied."""
    for staff_id, role in ((DSL, "dsl"), (MANAGER, "manager")):
        assert web.post_event(factories.staff_upserted(staff_id, [role])).status_code == 202
    assert web.post_event(factories.concern_raised("C-abuse-1")).status_code == 202
    apply_accepted(runtime)
    return task_links(runtime, settings)[0].split(settings.base_url, 1)[1]


def test_a_body_declared_over_the_limit_is_413_at_every_door_before_it_is_read(web, settings, runtime):
    """64 MiB declared, 64 KiB sent: each door answers 413 while 64 MiB are still owed."""
    with runtime.transaction() as session:
        token = create_token(session, "abuse")
    doors = {
        "/webhooks/mis": {"Content-Type": "application/json", "webhook-id": "msg_big", "webhook-timestamp": "1",
                          "webhook-signature": "v1,AAAA"},
        a_task_path(web, settings, runtime): {"Content-Type": "application/x-www-form-urlencoded"},
        "/disclosures/made-up": {"Content-Type": "application/x-www-form-urlencoded"},
        "/api/v1/recipients": {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    }
    events_before = stored(runtime, ReceivedEvent)

    answers = {path: declare_more_than_sent(web.port, path, SIXTY_FOUR_MIB, b"x" * 65536, headers)
               for path, headers in doors.items()}

    assert {path: a.status for path, a in answers.items()} == {path: 413 for path in doors}
    assert json.loads(answers["/api/v1/recipients"].body)["status"] == "error"  # the API answers JSON
    assert stored(runtime, ReceivedEvent) == events_before and stored(runtime, Recipient) == 0


def test_json_nested_a_hundred_thousand_deep_is_400_not_a_recursion_error(web, settings, runtime):
    deep = b'{"type": "staff.upserted", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with runtime.transaction() as session:
        token = create_token(session, "abuse")

    webhook = send(web.port, "POST", "/webhooks/mis", deep, factories.signed_headers(settings.mis_webhook_secret, deep))
    api = send(web.port, "POST", "/api/v1/recipients", deep,
               {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})

    assert (webhook.status, api.status) == (400, 400)
    assert "nested" in json.loads(webhook.body)["message"] and "nested" in json.loads(api.body)["message"]
    assert stored(runtime, ReceivedEvent) == 0 and stored(runtime, Recipient) == 0
    web.stop()
    assert "RecursionError" not in web.log() and "Traceback" not in web.log()


def genuine_webhook(web, settings, deadline: float = GENUINE_DEADLINE) -> str:
    """One real event, sent as the MIS sends it (TimeoutError if unanswered by `deadline`); its webhook-id."""
    event_id = f"msg_{uuid.uuid4().hex}"
    body = factories.body_of(factories.staff_upserted(f"S-{uuid.uuid4().hex[:6]}", ["staff"]))
    answer = send(web.port, "POST", "/webhooks/mis", body,
                  factories.signed_headers(settings.mis_webhook_secret, body, msg_id=event_id),
                  timeout=deadline)
    assert answer.status == 202, answer
    return event_id


def received(runtime, event_id: str) -> bool:
    with runtime.transaction() as session:
        return session.get(ReceivedEvent, event_id) is not None


def test_idle_connections_and_a_few_slow_clients_do_not_stop_a_genuine_webhook(web, settings, runtime):
    """Connections that send nothing are parked by gunicorn after 5 seconds (its worker data
    timeout); three clients trickling headers or a body hold a thread each; the fourth serves the MIS."""
    idle = [socket.create_connection(("127.0.0.1", web.port), timeout=10) for _ in range(4)]
    try:
        with slow_clients(web.port, 2, body=False), slow_clients(web.port, 1, body=True):
            event_ids = [genuine_webhook(web, settings) for _ in range(3)]
    finally:
        for sock in idle:
            sock.close()

    assert all(received(runtime, event_id) for event_id in event_ids)


@pytest.mark.xfail(strict=True, raises=TimeoutError, reason=(
    "gunicorn alone gives each trickling client a thread for as long as it trickles (it has no "
    "header or body read timeout), so as many slow clients as threads stop the service: deploy "
    "behind a reverse proxy that buffers whole requests (README 'Running in production')"))
def test_as_many_slow_clients_as_threads_do_not_stop_a_genuine_webhook(web, settings, runtime):
    with slow_clients(web.port, 2, body=False), slow_clients(web.port, 2, body=True):
        event_id = genuine_webhook(web, settings, deadline=10.0)
    assert received(runtime, event_id)
