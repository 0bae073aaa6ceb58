"""One event delivered 50 times at once is one case; the same delivery replayed after the
tolerance is refused.

INTERFACES.md §1: the `webhook-id` is the idempotency key, a second delivery answers 200
`duplicate` with the existing case; a timestamp more than five minutes old answers 401
(Standard Webhooks, RELIABILITY.md), so a captured request cannot be replayed later.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from infoshare_workflow.storage.models import AuditEvent, ReceivedEvent

from .. import factories
from ..conftest import wait_for
from .conftest import Stack

pytestmark = pytest.mark.postgresql_only

DELIVERIES = 50
TOLERANCE = 300  # seconds either way
OLD = 285  # the first deliveries are signed this long ago: in tolerance for 15 s more, then out of it


def snapshot(stack: Stack, event_id: str, case_id: str) -> tuple[object, ...]:
    """Everything a replay could change: cases, stored events, emails, the case's audit trail."""
    with stack.runtime.transaction() as session:
        trail = session.execute(select(AuditEvent.action, func.count()).where(AuditEvent.case_id == case_id)
                                .group_by(AuditEvent.action)).all()
        stored = session.scalar(select(func.count()).select_from(ReceivedEvent).where(ReceivedEvent.event_id == event_id))
    return stack.cases(), stack.raised_events(), stored, stack.email_statuses(), stack.emails_per_case(), sorted(trail)


def test_fifty_concurrent_deliveries_make_one_case_and_a_replay_past_tolerance_is_refused(stack: Stack) -> None:
    event = factories.concern_raised("C-storm-1")
    signed_at = int(time.time()) - OLD
    body, headers = stack.signed(event, msg_id="msg_storm_1", timestamp=signed_at)

    answers = stack.deliver([(body, headers)] * DELIVERIES, clients=DELIVERIES)

    assert Counter(r.status_code for r in answers) == {202: 1, 200: DELIVERIES - 1}
    assert Counter(r.json()["status"] for r in answers) == {"accepted": 1, "duplicate": DELIVERIES - 1}
    (case_id,) = {r.json()["case_id"] for r in answers}
    wait_for(lambda: stack.emails_sent() == 1 and stack.outbox_pending() == 0, timeout=60)
    before = snapshot(stack, "msg_storm_1", case_id)
    assert before[:5] == (1, 1, 1, {"sent": 1}, Counter({case_id: 1}))
    assert ("event.duplicate", DELIVERIES - 1) in before[5]

    # The identical request, captured and replayed once its timestamp is past tolerance...
    wait_for(lambda: time.time() > signed_at + TOLERANCE + 1, timeout=OLD, interval=0.5)
    replayed = stack.deliver([(body, headers)], clients=1)
    # ...and the same event re-signed with a timestamp six minutes old.
    resigned = stack.deliver([stack.signed(event, msg_id="msg_storm_1", timestamp=int(time.time()) - 360)], clients=1)

    for answer in (*replayed, *resigned):
        assert (answer.status_code, answer.json()["status"]) == (401, "unauthorized")
    assert snapshot(stack, "msg_storm_1", case_id) == before
