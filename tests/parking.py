"""Test helpers for the inbox: accept events without applying them, and park one as a worker would."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import text

from infoshare_workflow.cases.intake import MAX_ATTEMPTS, apply_pending, retry_delay

from . import factories


def post_unapplied(client: Any, settings: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Post as the MIS; nothing applies it (no worker runs in these tests)."""
    body = factories.body_of(event)
    response = client.post("/webhooks/mis", data=body, headers=factories.signed_headers(settings.mis_webhook_secret, body))
    assert response.status_code == 202, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def spoil(runtime: Any, concern_id: str) -> None:
    """Make an accepted event's payload unreadable, as a retired encryption key would."""
    with runtime.transaction() as session:
        session.execute(text("UPDATE received_events SET payload = 'garbage' WHERE concern_key = :c"), {"c": concern_id})


def park(runtime: Any) -> None:
    """Run the apply pass at each failure's next due time until every failing event is parked."""
    moment = datetime.now(timezone.utc)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        apply_pending(runtime.sessions, now=moment)
        moment += retry_delay(attempt)
