"""Who sent an MIS event: the Standard Webhooks signature, the same for both doors.

Golden rule 6 ("shared securely"): staff roles decide who receives a child's record, so an
event is believed only when it carries a valid HMAC-SHA256 signature made with
INFOSHARE_MIS_WEBHOOK_SECRET within five minutes either way. The webhook signs the raw
body; the Celery door (`infoshare.mis.ingest`) signs the event as compact JSON with sorted
keys, so whoever can write to the broker still cannot inject an event (INTERFACES.md §1).
The verification is the `standardwebhooks` library's, checked against the spec's vectors.
"""

from __future__ import annotations

import binascii
import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@lru_cache(maxsize=4)
def _verifier(secret: str) -> Webhook:
    """One verifier per secret (it decodes the secret once), not one per event."""
    return Webhook(secret)


def verify(secret: str, event_id: Any, timestamp: Any, signature: Any, signed_text: str) -> bool:
    """True when `signature` is a valid one over `{event_id}.{timestamp}.{signed_text}` within tolerance."""
    if not all(isinstance(value, str) and value for value in (event_id, signature)):
        return False
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, str)):
        return False
    headers = dict(zip(HEADERS, (event_id, str(timestamp), signature)))
    try:
        _verifier(secret).verify(signed_text, headers, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error):
        return False
    return True


def task_text(event: Any) -> str:
    """What the Celery door's signature covers: the event as compact JSON with sorted keys."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True)


def sign(secret: str, event_id: str, timestamp: int, signed_text: str) -> str:
    """`v1,<base64>` for a sender (the demo, tests, a host platform's client code)."""
    return _verifier(secret).sign(event_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), signed_text)
