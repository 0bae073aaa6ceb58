"""Small factories for test data: MIS events as the MIS would send them, and signed requests."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from standardwebhooks.webhooks import Webhook

# Distinctive personal data, so a test can search for it anywhere it must not be.
PUPIL_GIVEN = "Zebedee"
PUPIL_FAMILY = "Quillfeather"
PUPIL_DOB = "2013-07-19"
CONTACT_NAME = "Ottoline Quillfeather"
CONCERN_SUMMARY = "Arrived hungry three days running"
CONCERN_FACTS = "Seen eating from the bins at 08:10 on Monday"
CONCERN_OPINION = "Believes there is little food at home"


def _deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def pupil(**overrides: Any) -> dict[str, Any]:
    return _deep_merge({
        "mis_id": "P-1001", "given_name": PUPIL_GIVEN, "family_name": PUPIL_FAMILY,
        "date_of_birth": PUPIL_DOB, "year_group": "Year 7", "email": None,
        "contacts": [{"name": CONTACT_NAME, "relationship": "mother", "email": "ottoline@example.org",
                      "parental_responsibility": True, "preferred_language": "en"}],
    }, overrides)


def concern_raised(concern_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    data = _deep_merge({
        "concern_id": concern_id or f"C-{uuid.uuid4().hex[:10]}",
        "raised_at": "2026-11-24T09:15:00+00:00",
        "urgency": "standard", "threshold": "early_help", "category": "neglect",
        "summary": CONCERN_SUMMARY, "facts": CONCERN_FACTS, "opinion": CONCERN_OPINION,
        "pupil": pupil(),
        "reported_by": {"staff_id": "S-17", "name": "J. Smith", "email": "j.smith@school.example"},
        "assigned_dsl": None,
    }, overrides)
    return envelope("concern.raised", data)


def concern_updated(concern_id: str, **data: Any) -> dict[str, Any]:
    return envelope("concern.updated", {"concern_id": concern_id, **data})


def staff_upserted(staff_id: str, roles: list[str], **data: Any) -> dict[str, Any]:
    return envelope("staff.upserted", {"staff_id": staff_id, "name": f"Staff {staff_id}",
                                       "email": f"{staff_id.lower()}@school.example", "roles": roles,
                                       "active": True, **data})


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": datetime.now(timezone.utc).isoformat(), "data": data}


def signed_headers(secret: str, body: bytes, msg_id: str | None = None, timestamp: int | None = None,
                   content_type: str = "application/json") -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) if timestamp is None else timestamp
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature,
            "Content-Type": content_type}


def signed_task(secret: str, event: dict[str, Any], event_id: str | None = None,
                timestamp: int | None = None) -> dict[str, Any]:
    """`infoshare.mis.ingest` kwargs as a host platform signs them (INTERFACES.md §1)."""
    event_id = event_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) if timestamp is None else timestamp
    text = json.dumps(event, separators=(",", ":"), sort_keys=True)
    signature = Webhook(secret).sign(event_id, datetime.fromtimestamp(ts, tz=timezone.utc), text)
    return {"event_id": event_id, "event": event, "webhook_timestamp": ts, "signature": signature}


def body_of(event: Any) -> bytes:
    return json.dumps(event).encode()
