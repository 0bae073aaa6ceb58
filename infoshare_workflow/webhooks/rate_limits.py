"""Per-client rate limits on the doors anyone can knock on, counted in Redis (flask-limiter).

Golden rule 6 ("shared securely"): the MIS webhook, the task and disclosure pages and the
admin API are reachable by anyone who can reach the server. Each blueprint gets a limit per
client address for all its requests, and a tighter one for the answers that say "not you"
(400, 401, 404, 413, 415), so guessing tokens or flooding unsigned events gets a 429 with
`Retry-After` long before it costs anything. The counters live in the broker's Redis by
default, shared by every gunicorn worker and web container; if Redis is unreachable the
limits fall back to each process's memory rather than failing the request.
"""

from __future__ import annotations

import time

from flask import Flask, Response, jsonify, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from infoshare_workflow.settings.config import Settings
from infoshare_workflow.webhooks import admin_api, disclosures, mis, task_links
from infoshare_workflow.webhooks.pages import page

FAILURES = frozenset({400, 401, 404, 413, 415})
_JSON_DOORS = ("/webhooks/", "/api/")


def _failed(response: Response) -> bool:
    return response.status_code in FAILURES


def _too_many(limit: RequestLimit) -> Response:
    """429 with Retry-After: JSON for the webhook and the API, a page for people."""
    wait = max(1, min(limit.reset_at - int(time.time()), limit.limit.get_expiry()))
    message = f"Too many requests from your address: try again in {wait} seconds."
    if request.path.startswith(_JSON_DOORS):
        response = jsonify({"status": "rate_limited", "message": message})
        response.status_code = 429
    else:
        response = page("pages/slow_down.html", 429, wait=wait)
    response.headers["Retry-After"] = str(wait)
    return response


def install(app: Flask, settings: Settings) -> Limiter:
    """Limit each public blueprint of `app` as `settings.rate_limits` says."""
    limits = settings.rate_limits
    if limits.proxy_hops:  # the client is the address the proxies in front of us saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=limits.proxy_hops)  # type: ignore[method-assign]
    limiter = Limiter(get_remote_address, app=app, storage_uri=limits.storage_url, strategy="fixed-window",
                      key_prefix=f"infoshare:{settings.queue}", swallow_errors=True, in_memory_fallback_enabled=True,
                      on_breach=_too_many)
    for blueprint, rate in ((mis.bp, limits.webhook), (task_links.bp, limits.pages),
                            (disclosures.bp, limits.pages), (admin_api.bp, limits.api)):
        # Shared by every route of the door: guessing at /tasks/<token> is one stream of tries.
        if rate:
            limiter.shared_limit(rate, scope=blueprint.name)(blueprint)
        if limits.failures:
            limiter.shared_limit(limits.failures, scope=f"{blueprint.name}:failures", deduct_when=_failed)(blueprint)
    return limiter
