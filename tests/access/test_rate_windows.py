"""Rate limits counted in shared Redis never admit more than the limit, and cost a Redis round
trip only once per lease: the common request never waits on Redis for its limit."""

from __future__ import annotations

import uuid

import pytest
import redis

from infoshare_workflow.access.rate_windows import LEASE_MAX, RateWindows, lease_size, rates

from ..conftest import REDIS_URL

START = 1_800_000_000.0  # a whole minute and second: windows below start here


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def windows(clock: Clock, prefix: str, storage_url: str = REDIS_URL) -> RateWindows:
    return RateWindows(storage_url, prefix=prefix, clock=clock)


@pytest.fixture
def prefix() -> str:
    return f"test-rl-{uuid.uuid4().hex[:8]}"


def stored(prefix: str) -> dict[str, int]:
    """The counters under `prefix` as Redis holds them: {key: value}."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    return {key.split(prefix, 1)[1]: int(client.get(key) or 0) for key in client.scan_iter(f"*{prefix}*")}


def test_a_lease_is_a_tenth_of_the_limit_between_one_and_its_ceiling():
    assert [lease_size(rate) for rate in rates("8 per minute;50 per second;300 per minute;1000000/second")] == [
        1, 5, LEASE_MAX, LEASE_MAX]


def test_two_processes_sharing_redis_never_admit_more_than_the_limit_and_lose_at_most_a_lease_each(prefix):
    clock, limit = Clock(), rates("50 per minute")
    first, second = windows(clock, prefix), windows(clock, prefix)

    admitted = sum(1 for n in range(200) if (first if n % 2 else second).admit("mis", "10.0.0.1", limit) == 0)

    assert 50 - (lease_size(limit[0]) - 1) <= admitted <= 50


def test_an_exhausted_window_is_refused_with_the_seconds_left_and_the_next_window_admits_again(prefix):
    clock, limit = Clock(), rates("8 per minute")
    counter = windows(clock, prefix)
    assert [counter.admit("mis", "10.0.0.1", limit) for _ in range(8)] == [0] * 8

    clock.now = START + 45.5
    assert counter.admit("mis", "10.0.0.1", limit) == 15  # Retry-After: the window ends in 14.5 s
    assert counter.admit("mis", "10.0.0.2", limit) == 0  # per client

    clock.now = START + 60
    assert counter.admit("mis", "10.0.0.1", limit) == 0


def test_a_busy_client_costs_one_redis_round_trip_per_lease_not_per_request(prefix):
    counter, limit = windows(Clock(), prefix), rates("1000 per second")

    results = [counter.admit("mis", "10.0.0.1", limit) for _ in range(LEASE_MAX * 4 + 1)]

    assert results == [0] * (LEASE_MAX * 4 + 1)
    # Five INCRBYs of a whole lease each (one per request would have counted 65).
    assert list(stored(prefix).values()) == [LEASE_MAX * 5]


def test_failures_are_counted_in_redis_and_another_process_learns_of_them_from_its_own_next_one(prefix):
    clock, limit = Clock(), rates("3 per minute")
    first, second = windows(clock, prefix), windows(clock, prefix)

    for _ in range(3):
        assert first.refused_for_failures("tasks", "10.0.0.9", limit) == 0
        first.count_failure("tasks", "10.0.0.9", limit)

    assert first.refused_for_failures("tasks", "10.0.0.9", limit) == 60
    assert second.refused_for_failures("tasks", "10.0.0.9", limit) == 0  # has not seen one yet
    second.count_failure("tasks", "10.0.0.9", limit)  # the store answers 4
    assert second.refused_for_failures("tasks", "10.0.0.9", limit) == 60
    assert first.refused_for_failures("api", "10.0.0.9", limit) == 0  # each door on its own


def test_a_client_that_never_fails_never_touches_redis_for_the_failure_limit(prefix):
    counter, limit = windows(Clock(), prefix), rates("3 per minute")

    assert [counter.refused_for_failures("mis", "10.0.0.1", limit) for _ in range(50)] == [0] * 50
    assert stored(prefix) == {}
    counter.count_failure("mis", "10.0.0.1", limit)
    assert list(stored(prefix).values()) == [1]


def test_with_redis_unreachable_counting_falls_back_to_memory_and_still_limits(prefix, caplog):
    clock, limit = Clock(), rates("5 per minute")
    counter = windows(clock, prefix, storage_url="redis://127.0.0.1:1/0")

    assert [counter.admit("mis", "10.0.0.1", limit) for _ in range(6)] == [0] * 5 + [60]
    assert "counting in memory" in caplog.text and "10.0.0.1" not in caplog.text
