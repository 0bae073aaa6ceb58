"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks): sign webhook requests as the MIS does.

A generated request to /webhooks/mis that carries all three signature headers, with a
well-formed timestamp, is sent as the MIS would send it: the timestamp now, and the
signature over exactly the bytes the transport sends. A request generated without them, or
with a malformed one, goes as generated (and is refused 401), so the header checks still bite.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import datetime, timezone
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from standardwebhooks.webhooks import Webhook

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def _headers_meant_valid(case: Any) -> bool:
    """False when schemathesis generated the headers to break the schema: they go as they are."""
    meta = case.meta
    if meta is None:
        return True
    info = meta.components.get(ParameterLocation.HEADER)
    if info is not None and not info.mode.is_positive:
        return False
    located = getattr(meta.phase.data, "parameter_location", None)
    return not (located == ParameterLocation.HEADER and not meta.generation.mode.is_positive)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.path != "/webhooks/mis" or case.method.upper() != "POST":
        return
    headers = case.headers if case.headers is not None else {}
    if not _headers_meant_valid(case) or not all(isinstance(headers.get(n), str) and headers[n] for n in HEADERS):
        return
    if not TIMESTAMP.fullmatch(headers["webhook-timestamp"]):
        return
    try:  # the bytes requests will send for `json=` (case.body stays as generated: it is revalidated)
        text = case.body.decode() if isinstance(case.body, bytes) else json.dumps(case.body, allow_nan=False)
    except (TypeError, ValueError):
        return
    stamp = int(time.time())
    headers["webhook-timestamp"] = str(stamp)
    headers["webhook-signature"] = Webhook(os.environ["INFOSHARE_MIS_WEBHOOK_SECRET"]).sign(
        headers["webhook-id"], datetime.fromtimestamp(stamp, tz=timezone.utc), text)
