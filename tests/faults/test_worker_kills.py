"""A worker SIGKILLed twice in the middle of a burst loses and doubles nothing.

Celery on Redis gives a killed worker's unacknowledged messages back only after an hour
(RELIABILITY.md, "whole worker kill -9"); what brings the work back is the database: the
accepted event waits in the inbox until applied, the email row and its outbox message wait
until sent, and the relay re-publishes what is not done within the lease. The claim on the
email row stops a re-published task sending a second copy.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from .. import factories
from ..conftest import wait_for
from .conftest import Stack

pytestmark = pytest.mark.postgresql_only

CONCERNS = 500
CLIENTS = 20


def test_500_concerns_from_20_clients_each_reach_the_dsl_once_across_two_worker_kills(stack: Stack) -> None:
    deliveries = [stack.signed(factories.concern_raised(f"C-kill-{n:03d}")) for n in range(CONCERNS)]
    answers: list[requests.Response] = []
    posting = threading.Thread(target=lambda: answers.extend(stack.deliver(deliveries, CLIENTS)))
    posting.start()
    try:
        wait_for(lambda: stack.cases() >= 50, timeout=120, interval=0.1)  # while the burst is being applied
        arrived_at_kills = [stack.kill_worker()]
        wait_for(lambda: stack.emails_sent() >= 250, timeout=180, interval=0.1)  # while its mail is going out
        arrived_at_kills.append(stack.kill_worker())
    finally:
        posting.join()

    assert Counter(r.status_code for r in answers) == {202: CONCERNS}
    assert arrived_at_kills[1] < CONCERNS, arrived_at_kills  # the second kill came before the last email
    wait_for(lambda: stack.emails_sent() >= CONCERNS and stack.outbox_pending() == 0 and stack.queue_drained(),
             timeout=240, interval=0.5)

    case_ids = {r.json()["case_id"] for r in answers}
    per_case = stack.emails_per_case()
    assert set(per_case) == case_ids and len(case_ids) == CONCERNS
    assert set(per_case.values()) == {1}, [case for case, n in per_case.items() if n > 1]
    assert stack.cases() == CONCERNS and stack.raised_events() == CONCERNS
    assert stack.email_statuses() == {"sent": CONCERNS}
