"""Per-client rate limits as fixed windows counted in shared storage, cheap on the common path.

Golden rule 6 ("shared securely"): every public door is limited per client address, and
more tightly for the answers that say "not you" (rate_limits.py in webhooks says which
doors). The counts live in the broker's Redis so that every web process shares them; the
`limits` library parses the rates ("50 per second", "20/minute;100/hour") and does the
counting there (one atomic INCRBY-and-expire per call, in any storage it supports).

Why not a Redis round trip per request: the MIS posts concerns in bursts, and counting
every request in Redis (as flask-limiter did, with two limits per door) cost a webhook
more CPU than a bare Flask endpoint's whole request (bench/README.md, "Ingest"). So:

- **Leases.** A process takes a lease of up to LEASE_MAX hits of a client's window at once
  (INCRBY n) and spends it locally; the shared count never understates what was admitted,
  so no client ever gets more than its limit in a window. The price is on the other side:
  hits leased by one process and not spent are lost to the others, so a client spread over
  P processes may be refused up to (P-1)x(lease-1) hits before its limit, per window. The
  lease is a tenth of the limit (at least 1: a limit of 8 per minute is counted exactly),
  so with the default 50 per second the worst case is 4 hits a process.
- **Failures.** Refusals ("not you") are counted in the shared store as they happen, and
  the total it answers is remembered locally for the rest of the window. A request is
  refused at once while the remembered total is at the limit; a process that has not yet
  seen the client fail lets one more refusal through, which then tells it the total. So a
  guessing client gets at most P-1 tries over the limit per window, and a client that never
  fails never costs a round trip for this limit.

If the shared store cannot be reached, counting falls back to this process's memory for
QUIET_AFTER_FAILURE seconds (looser, never a failed request), and a warning says so.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string

LEASE_SHARE = 10  # a lease is this fraction of the limit...
LEASE_MAX = 16  # ...and never more than this many hits
REMEMBERED = 10_000  # client windows kept in memory before starting afresh
STORAGE_TIMEOUT = 0.25  # seconds: the most a request waits on the shared store
QUIET_AFTER_FAILURE = 1.0  # seconds of counting in memory after the shared store failed
EXHAUSTED = -1  # a lease entry meaning "the shared count is at the limit for this window"
log = logging.getLogger(__name__)


def rates(text: str | None) -> tuple[RateLimitItem, ...]:
    """"50 per second;1000/hour" as rate items; None or "" for no limit."""
    return tuple(parse_many(text)) if text else ()


def lease_size(rate: RateLimitItem) -> int:
    return max(1, min(LEASE_MAX, rate.amount // LEASE_SHARE))


class RateWindows:
    """The counters of every client and door, shared through `storage_url`, spent as above."""

    def __init__(self, storage_url: str, prefix: str, clock: Callable[[], float] = time.time) -> None:
        options: dict[str, Any] = {}
        if storage_url.startswith(("redis://", "rediss://", "unix://", "redis+")):
            options = {"socket_timeout": STORAGE_TIMEOUT, "socket_connect_timeout": STORAGE_TIMEOUT}
        self._shared = storage_from_string(storage_url, **options)
        self._fallback: MemoryStorage | None = None  # made on the first failure
        self._prefix = prefix
        self._clock = clock
        self._lock = threading.Lock()
        self._leases: dict[str, tuple[int, int]] = {}  # key -> (window, hits left, or EXHAUSTED)
        self._failures: dict[str, tuple[int, int]] = {}  # key -> (window, total the store last answered)
        self._quiet_until = 0.0

    def admit(self, door: str, client: str, limits: Sequence[RateLimitItem]) -> int:
        """Count one request against every limit; 0 if admitted, else the seconds to wait."""
        now = self._clock()
        for rate in limits:
            wait = self._spend(self._key(door, client, rate), rate, now)
            if wait:
                return wait
        return 0

    def refused_for_failures(self, door: str, client: str, limits: Sequence[RateLimitItem]) -> int:
        """Seconds to wait if the client is known to have failed its limit this window, else 0."""
        now = self._clock()
        for rate in limits:
            window, period = _window(rate, now)
            seen = self._failures.get(self._key(door, client, rate))
            if seen is not None and seen[0] == window and seen[1] >= rate.amount:
                return _wait(window, period, now)
        return 0

    def count_failure(self, door: str, client: str, limits: Sequence[RateLimitItem]) -> None:
        now = self._clock()
        for rate in limits:
            window, period = _window(rate, now)
            key = self._key(door, client, rate)
            total = self._incr(f"{key}:failed:{window}", period, 1)
            with self._lock:
                self._remember(self._failures, key, (window, total))

    def _spend(self, key: str, rate: RateLimitItem, now: float) -> int:
        window, period = _window(rate, now)
        with self._lock:
            held = self._leases.get(key)
            if held is not None and held[0] == window:
                if held[1] == EXHAUSTED:
                    return _wait(window, period, now)
                if held[1] > 0:
                    self._leases[key] = (window, held[1] - 1)
                    return 0
        lease = lease_size(rate)
        total = self._incr(f"{key}:{window}", period, lease)
        granted = min(lease, rate.amount - (total - lease))
        with self._lock:
            self._remember(self._leases, key, (window, granted - 1 if granted > 0 else EXHAUSTED))
        return 0 if granted > 0 else _wait(window, period, now)

    def _incr(self, key: str, expiry: int, amount: int) -> int:
        if time.monotonic() >= self._quiet_until:
            try:
                return int(self._shared.incr(key, expiry, amount))
            except Exception as exc:  # noqa: BLE001 - a limit must never fail the request it limits
                self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE
                log.warning("rate limits: shared store unavailable (%s); counting in memory for %.0f s",
                            type(exc).__name__, QUIET_AFTER_FAILURE)
        if self._fallback is None:
            self._fallback = MemoryStorage()
        return int(self._fallback.incr(key, expiry, amount))

    def _key(self, door: str, client: str, rate: RateLimitItem) -> str:
        return f"{self._prefix}:{door}:{client}:{rate.amount}/{rate.get_expiry()}"

    @staticmethod
    def _remember(entries: dict[str, tuple[int, int]], key: str, value: tuple[int, int]) -> None:
        """Keep memory bounded under many addresses: starting afresh only forgets unspent
        leases (never more hits) and what other processes' refusals taught this one."""
        if len(entries) >= REMEMBERED and key not in entries:
            entries.clear()
        entries[key] = value


def _window(rate: RateLimitItem, now: float) -> tuple[int, int]:
    """The fixed window `now` falls in (numbered from the epoch, so every process agrees) and its length."""
    period = rate.get_expiry()
    return int(now // period), period


def _wait(window: int, period: int, now: float) -> int:
    """Whole seconds until the window ends: what Retry-After tells the client."""
    return max(1, math.ceil((window + 1) * period - now))
