"""Per-client rate limits on the doors anyone can knock on (the counting: access/rate_windows.py).

Golden rule 6 ("shared securely"): the MIS webhook, the task and disclosure pages and the
admin API are reachable by anyone who can reach the server. Each door gets a limit per
client address for all its requests, and a tighter one for the answers that say "not you"
(400, 401, 404, 413, 415), so guessing tokens or flooding unsigned events gets a 429 with
`Retry-After` long before it costs anything. The counters live in the broker's Redis by
default, shared by every gunicorn worker and web container; if Redis is unreachable the
limits fall back to each process's memory rather than failing the request. Health and
metrics are never limited.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, jsonify, request
from limits import RateLimitItem
from werkzeug.middleware.proxy_fix import ProxyFix

from infoshare_workflow.access.rate_windows import RateWindows, rates
from infoshare_workflow.settings.config import Settings
from infoshare_workflow.webhooks import admin_api, disclosures, mis, task_links
from infoshare_workflow.webhooks.pages import page

FAILURES = frozenset({400, 401, 404, 413, 415})
_JSON_DOORS = ("/webhooks/", "/api/")


@dataclass(frozen=True)
class Door:
    """One blueprint's limits: on every request, and on its refusals."""

    every: tuple[RateLimitItem, ...]
    failures: tuple[RateLimitItem, ...]


def _too_many(wait: int) -> Response:
    """429 with Retry-After: JSON for the webhook and the API, a page for people."""
    message = f"Too many requests from your address: try again in {wait} seconds."
    if request.path.startswith(_JSON_DOORS):
        response = jsonify({"status": "rate_limited", "message": message})
        response.status_code = 429
    else:
        response = page("pages/slow_down.html", 429, wait=wait)
    response.headers["Retry-After"] = str(wait)
    return response


def install(app: Flask, settings: Settings) -> None:
    """Limit each public blueprint of `app` as `settings.rate_limits` says (all "off": no hooks at all)."""
    limits = settings.rate_limits
    if limits.proxy_hops:  # the client is the address the proxies in front of us saw
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=limits.proxy_hops)  # type: ignore[method-assign]
    failures = rates(limits.failures)
    # Each door counts on its own, shared by all its routes: guessing at /tasks/<token> is one stream of tries.
    doors = {blueprint.name: Door(rates(rate), failures)
             for blueprint, rate in ((mis.bp, limits.webhook), (task_links.bp, limits.pages),
                                     (disclosures.bp, limits.pages), (admin_api.bp, limits.api))
             if rate or failures}
    if not doors:
        return
    windows = RateWindows(limits.storage_url, prefix=f"infoshare:{settings.queue}:limits")

    def knocking() -> tuple[str, str, Door] | None:
        """(door, client address, its limits) for a request to a limited door, else None."""
        name = request.blueprint or ""
        door = doors.get(name)
        return None if door is None else (name, request.remote_addr or "127.0.0.1", door)

    @app.before_request
    def _admit() -> Response | None:
        found = knocking()
        if found is None:
            return None
        name, client, door = found
        wait = windows.refused_for_failures(name, client, door.failures) or windows.admit(name, client, door.every)
        return _too_many(wait) if wait else None

    @app.after_request
    def _count_refusal(response: Response) -> Response:
        found = knocking()
        if found is not None and found[2].failures and response.status_code in FAILURES:
            windows.count_failure(found[0], found[1], found[2].failures)
        return response
