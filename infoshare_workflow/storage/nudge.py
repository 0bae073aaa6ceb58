"""Nudging a worker to apply accepted MIS events at once, instead of at beat's next second.

Why: an accepted concern used to wait for beat's once-a-second `infoshare.mis.apply` before
its case was opened and the DSL emailed (p50 417 ms, p99 899 ms from the 202 to the DSL's
inbox). Now, once the webhook's transaction has committed an accepted event, the receiver
publishes one `infoshare.mis.apply` itself (`nudge_apply`), through the runtime's publisher
like every other message, unless one is already on its way: a gate in Redis (`SET key NX PX`)
lets one nudge through and turns the rest of a burst away (one Redis round trip each), and
the apply task opens the gate again as it starts (`reopen`), *before* it looks for events.
Beat's apply every second stays the safety net.

Why no event waits for beat (the race). Say event E commits at time c, and its receiver's
SET runs at s > c (nothing is nudged for state that has not committed).
- If the SET succeeds, E has a nudge of its own: an apply task published after s, which
  reopens the gate and then scans, in a transaction begun after c, so it sees E.
- If the SET fails, the key was there at s: set at s* by the latest successful SET before s,
  and not deleted since. The nudge published after s* has therefore not yet reached its
  reopen at s (its reopen would have deleted the key, and a later SET would contradict s*
  being the latest), so that task reopens after s and scans after that: after c, so it
  sees E. Any other apply task (beat's) that reopens after s does the same.
- Scans take events with FOR UPDATE SKIP LOCKED and loop until none is due, so E is either
  applied by that scan or held by another task that is applying it.
Reopening *after* the scan instead would lose E: E committed during the scan, its SET
turned away by the still-closed gate, and no task left to look. What remains is a nudge
that never runs (its publish failed, or the worker lost it): the gate then shuts nudges out
until its GATE_TTL_MS expiry, and beat's apply, a second at most, catches up.

A nudge that cannot be sent (Redis down or slow) never fails the webhook, and the gate's
client gives up after GATE_TIMEOUT, before anything is published: the event is stored and its
202 stands, a warning (no personal data: the error's class only) and
`infoshare_mis_apply_nudges{outcome="failed"}` say so, and beat's apply catches up. (Only a
Redis lost between the gate and the publish costs what any publish after a commit costs:
Celery's publish retry policy, well under a second for a refused connection.) After a failure the process leaves Redis alone for
QUIET_AFTER_FAILURE seconds (counted as failed nudges too), so an outage costs each web
process at most one timeout a second. With the in-memory broker of the embedded defaults,
the web app and its in-process worker share one process, and so does the gate.

The webhook does not touch Redis itself (`request_nudge`): a Redis round trip per accepted
event cost about a tenth of the request's CPU (bench/README.md, "Ingest"). It hands the
nudge to one thread per process, which makes it as above, and then lets COALESCE_SECONDS
pass before the next: events accepted meanwhile are "coalesced" into that next nudge, so
under a burst a process nudges at most 1/COALESCE_SECONDS times a second, and a quiet
process's event is nudged at once. The race argument is unchanged, because every event's
nudge (its own, or the one it was coalesced into) still takes the gate after the event
committed. A process that exits with a nudge still pending leaves it to beat's apply.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from infoshare_workflow.monitoring.metrics import count_nudge
from infoshare_workflow.storage.runtime import Runtime

APPLY_TASK = "infoshare.mis.apply"
# Long enough that a nudge queued behind other work still holds back a burst; short enough
# that a lost nudge shuts the others out for no more than a few of beat's passes.
GATE_TTL_MS = 5000
GATE_TIMEOUT = 0.25  # seconds: the most a nudging thread (or an apply task) waits on Redis
QUIET_AFTER_FAILURE = 1.0  # seconds without trying Redis after a failed nudge
COALESCE_SECONDS = 0.02  # after a nudge, events accepted within this wait share the next one
IDLE_SECONDS = 30.0  # a nudging thread with nothing to do for this long ends (the next event starts one)
log = logging.getLogger(__name__)


class Gate(Protocol):
    def take(self) -> bool:
        """Close the gate; True if it was open (this caller nudges), False if a nudge is on its way."""
        ...

    def reopen(self) -> None: ...


@dataclass(frozen=True)
class RedisGate:
    """The gate as one key in the broker's Redis, shared by every web process and worker."""

    client: redis.Redis
    key: str

    def take(self) -> bool:
        return bool(self.client.set(self.key, b"1", nx=True, px=GATE_TTL_MS))

    def reopen(self) -> None:
        self.client.delete(self.key)


@dataclass
class LocalGate:
    """The gate in memory, for the embedded defaults' in-process worker (memory:// broker)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    closed_until: float = 0.0

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now < self.closed_until:
                return False
            self.closed_until = now + GATE_TTL_MS / 1000
            return True

    def reopen(self) -> None:
        with self.lock:
            self.closed_until = 0.0


@dataclass
class _Nudger:
    gate: Gate
    quiet_until: float = 0.0
    # The webhook's side (request_nudge): the runtime of the latest event waiting for a nudge, if
    # any, and the thread that makes it, if running.
    changed: threading.Condition = field(default_factory=threading.Condition)
    wanted: Runtime | None = None
    thread: threading.Thread | None = None


@cache
def _nudger(broker_url: str, queue: str) -> _Nudger:
    """One per broker and queue in a process, its Redis connections pooled across requests."""
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(broker_url, socket_connect_timeout=GATE_TIMEOUT, socket_timeout=GATE_TIMEOUT,
                                      retry=Retry(NoBackoff(), 0))
        return _Nudger(RedisGate(client, f"infoshare:{queue}:mis-apply-nudge"))
    return _Nudger(LocalGate())


# A forked child (a gunicorn worker) starts with no nudger: not its parent's thread, which it
# does not have, nor its parent's Redis sockets.
os.register_at_fork(after_in_child=_nudger.cache_clear)


def request_nudge(runtime: Runtime) -> None:
    """After an accepted event has committed: have this process's nudging thread nudge a worker
    (at once if it is idle, else right after its current wait). Never raises, never waits on Redis."""
    nudger = _nudger(runtime.settings.broker_url, runtime.settings.queue)
    with nudger.changed:
        coalesced = nudger.wanted is not None
        nudger.wanted = runtime
        if nudger.thread is None:
            nudger.thread = threading.Thread(target=_nudge_when_wanted, args=(nudger,), name="infoshare-nudge",
                                             daemon=True)
            nudger.thread.start()
        else:
            nudger.changed.notify()
    if coalesced:
        count_nudge("coalesced")


def _nudge_when_wanted(nudger: _Nudger) -> None:
    while True:
        with nudger.changed:
            if nudger.wanted is None:
                nudger.changed.wait(IDLE_SECONDS)
            runtime, nudger.wanted = nudger.wanted, None
            if runtime is None:  # idle: end; the next request_nudge starts a thread again
                nudger.thread = None
                return
        nudge_apply(runtime)
        time.sleep(COALESCE_SECONDS)


def nudge_apply(runtime: Runtime) -> str:
    """After an accepted event has committed: have a worker apply it now. Never raises.

    Returns the outcome counted: "published", "deduplicated" (a nudge is on its way) or "failed".
    """
    nudger = _nudger(runtime.settings.broker_url, runtime.settings.queue)
    now = time.monotonic()
    outcome = "failed"
    if now >= nudger.quiet_until:
        try:
            outcome = "published" if nudger.gate.take() else "deduplicated"
            if outcome == "published":
                _publish(runtime, nudger.gate)
        except Exception as exc:  # noqa: BLE001 - the event is stored; beat's apply catches up
            outcome = "failed"
            nudger.quiet_until = now + QUIET_AFTER_FAILURE
            log.warning("could not nudge a worker to apply accepted mis events (%s); beat's apply will",
                        type(exc).__name__)
    count_nudge(outcome)
    return outcome


def _publish(runtime: Runtime, gate: Gate) -> None:
    """Publish the nudge; if that fails, open the gate again (best effort) so the next event can try."""
    try:
        runtime.publish(str(uuid.uuid4()), APPLY_TASK, {})
    except Exception:
        try:
            gate.reopen()
        except Exception:  # noqa: BLE001 - the gate expires on its own
            pass
        raise


def reopen(runtime: Runtime) -> None:
    """What an apply task does first, before it scans (the module's docstring says why). Never raises."""
    try:
        _nudger(runtime.settings.broker_url, runtime.settings.queue).gate.reopen()
    except Exception as exc:  # noqa: BLE001 - the gate expires on its own; beat's apply runs meanwhile
        log.warning("could not reopen the mis apply gate (%s); it expires within %d s", type(exc).__name__,
                    GATE_TTL_MS // 1000)
