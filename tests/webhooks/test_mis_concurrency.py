"""Many deliveries at once still make one record: the database's constraints decide."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from infoshare_workflow.storage.models import Case, Concern, ReceivedEvent

from .. import factories
from ..conftest import apply_accepted

THREADS = 20


@pytest.fixture
def server_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def deliver_all(url: str, requests_: list[tuple[bytes, dict[str, str]]]) -> list[requests.Response]:
    barrier = threading.Barrier(len(requests_))

    def send(item: tuple[bytes, dict[str, str]]) -> requests.Response:
        barrier.wait()
        return requests.post(f"{url}/webhooks/mis", data=item[0], headers=item[1], timeout=60)

    with ThreadPoolExecutor(len(requests_)) as pool:
        return list(pool.map(send, requests_))


def test_twenty_simultaneous_deliveries_of_one_event_make_one_case(server_url, settings, runtime):
    body = factories.body_of(factories.concern_raised("C-race-1"))
    headers = factories.signed_headers(settings.mis_webhook_secret, body, msg_id="msg_race")

    responses = deliver_all(server_url, [(body, headers)] * THREADS)

    assert Counter(r.status_code for r in responses) == {202: 1, 200: THREADS - 1}
    assert len({r.json()["case_id"] for r in responses}) == 1
    apply_accepted(runtime)
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert session.scalar(select(Case.case_id)) == responses[0].json()["case_id"]
        assert session.scalar(select(func.count()).select_from(ReceivedEvent)) == 1


def test_twenty_simultaneous_deliveries_of_one_concern_under_new_ids_make_one_case(server_url, settings, runtime):
    body = factories.body_of(factories.concern_raised("C-race-2"))
    items = [(body, factories.signed_headers(settings.mis_webhook_secret, body, msg_id=f"msg_{n}"))
             for n in range(THREADS)]

    responses = deliver_all(server_url, items)

    assert Counter(r.status_code for r in responses) == {202: 1, 200: THREADS - 1}
    assert {r.json()["status"] for r in responses if r.status_code == 200} == {"duplicate"}
    assert len({r.json()["case_id"] for r in responses}) == 1
    apply_accepted(runtime)
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert session.scalar(select(func.count()).select_from(Concern)) == 1
        outcomes = Counter(session.scalars(select(ReceivedEvent.outcome)))
        assert outcomes == {"accepted": 1, "duplicate": THREADS - 1}


def test_concurrent_concerns_for_different_pupils_all_open_and_the_audit_chain_holds(server_url, settings, runtime):
    from infoshare_workflow.records import audit

    items = []
    for n in range(THREADS):
        body = factories.body_of(factories.concern_raised(f"C-many-{n}", pupil={"mis_id": f"P-{n}"}))
        items.append((body, factories.signed_headers(settings.mis_webhook_secret, body)))

    responses = deliver_all(server_url, items)

    assert [r.status_code for r in responses] == [202] * THREADS
    assert apply_accepted(runtime) == THREADS
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == THREADS
        assert audit.verify(session).ok
