"""The webhook's nudge never waits on Redis: it hands the nudge to one thread per process,
which folds a burst into a few nudges, and a forked web worker starts with a thread of its own."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import redis

from infoshare_workflow.storage import nudge
from infoshare_workflow.storage.runtime import build_runtime

from ..conftest import REDIS_URL, wait_for


@pytest.fixture
def published(settings):
    """A runtime on the test Redis whose publisher records what it was asked to publish."""
    runtime = build_runtime(replace(settings, broker_url=REDIS_URL))
    sent: list[str] = []
    runtime.publish = lambda message_id, task, kwargs: sent.append(task)
    gate = f"infoshare:{settings.queue}:mis-apply-nudge"
    yield runtime, sent, redis.Redis.from_url(REDIS_URL), gate
    redis.Redis.from_url(REDIS_URL).delete(gate)
    runtime.engine.dispose()


def test_one_event_is_nudged_at_once_and_the_gate_is_closed_behind_it(published):
    runtime, sent, client, gate = published

    nudge.request_nudge(runtime)

    wait_for(lambda: sent == [nudge.APPLY_TASK], timeout=5, interval=0.01)
    assert client.pttl(gate) > 0


def test_a_burst_from_many_threads_makes_one_nudge_while_the_gate_stays_closed(published):
    runtime, sent, client, gate = published
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: nudge.request_nudge(runtime), range(200)))

    wait_for(lambda: sent, timeout=5, interval=0.01)
    thread = nudge._nudger(runtime.settings.broker_url, runtime.settings.queue).thread
    wait_for(lambda: not _pending(runtime), timeout=5, interval=0.01)
    assert sent == [nudge.APPLY_TASK]  # the gate turned the rest away: no worker reopened it
    assert thread is not None and thread.daemon


def test_after_a_worker_reopens_the_gate_the_next_event_is_nudged_again(published):
    runtime, sent, client, gate = published
    nudge.request_nudge(runtime)
    wait_for(lambda: len(sent) == 1, timeout=5, interval=0.01)

    nudge.reopen(runtime)  # what the apply task does before it scans
    nudge.request_nudge(runtime)

    wait_for(lambda: len(sent) == 2, timeout=5, interval=0.01)


def test_a_forked_child_has_no_nudger_of_its_parent(published):
    runtime, sent, _, _ = published
    nudge.request_nudge(runtime)
    wait_for(lambda: sent, timeout=5, interval=0.01)
    assert nudge._nudger.cache_info().currsize >= 1

    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker forked from its master
        os._exit(0 if nudge._nudger.cache_info().currsize == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def _pending(runtime) -> bool:
    return nudge._nudger(runtime.settings.broker_url, runtime.settings.queue).wanted is not None
