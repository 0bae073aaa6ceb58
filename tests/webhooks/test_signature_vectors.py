"""The Standard Webhooks signature scheme, checked against the specification's own example."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_library_signs_the_specification_example_exactly():
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=timezone.utc)
    assert Webhook(SPEC_SECRET).sign(SPEC_ID, at, SPEC_BODY) == SPEC_SIGNATURE


def test_the_specification_example_follows_the_written_definition():
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{SPEC_ID}.{SPEC_TIMESTAMP}.{SPEC_BODY}".encode(), hashlib.sha256).digest()
    assert "v1," + base64.b64encode(digest).decode() == SPEC_SIGNATURE


def test_the_specification_example_is_refused_now_because_it_is_years_old():
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SPEC_SECRET).verify(SPEC_BODY, headers, json_parse=False)


def test_the_receiver_accepts_the_specification_secret_and_body_signed_now(client, runtime, settings):
    from dataclasses import replace

    from infoshare_workflow.service.app import create_app

    from ..factories import signed_headers

    app = create_app(replace(settings, mis_webhook_secret=SPEC_SECRET))
    headers = signed_headers(SPEC_SECRET, SPEC_BODY.encode())
    response = app.test_client().post("/webhooks/mis", data=SPEC_BODY, headers=headers)
    # Correctly signed, so it passes the signature check and fails only on the schema.
    assert response.status_code == 422
    assert "test" in response.get_json()["errors"]


def test_a_v2_entry_is_ignored_and_the_v1_entry_decides(mis, settings, client):
    from ..factories import body_of, concern_raised, signed_headers

    body = body_of(concern_raised())
    headers = signed_headers(settings.mis_webhook_secret, body)
    good = headers["webhook-signature"].split(",", 1)[1]
    headers["webhook-signature"] = f"v2,{good}"
    assert client.post("/webhooks/mis", data=body, headers=headers).status_code == 401
    headers["webhook-signature"] = f"v2,{good} v1,{good}"
    assert client.post("/webhooks/mis", data=body, headers=headers).status_code == 202


@pytest.mark.parametrize("signature", ["v1", "v1,", "v1,not base64!", "", "garbage without comma"])
def test_malformed_signature_headers_are_401_not_500(client, settings, signature):
    from ..factories import body_of, concern_raised, signed_headers

    body = body_of(concern_raised())
    headers = signed_headers(settings.mis_webhook_secret, body)
    headers["webhook-signature"] = signature
    assert client.post("/webhooks/mis", data=body, headers=headers).status_code == 401
