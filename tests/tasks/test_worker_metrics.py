"""The worker's metrics port: task counts by name and outcome, run time, retries, and the
backlog read from the database, added up over a prefork pool's child processes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from .. import factories
from ..conftest import REDIS_URL, WorkerProcess, answers, wait_for
from ..parking import post_unapplied
from ..smtp import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_prefork_worker_exports_its_tasks_and_the_backlog(settings, runtime, client, tmp_path):
    port = free_port()
    worker = WorkerProcess(replace(settings, smtp_url="smtp://127.0.0.1:1"), tmp_path / "worker.log",
                           pool="prefork", extra_env={"INFOSHARE_WORKER_METRICS_PORT": str(port),
                                                      "PROMETHEUS_MULTIPROC_DIR": ""})
    post_unapplied(client, settings, factories.staff_upserted("S-02", ["dsl"]))
    post_unapplied(client, settings, factories.concern_raised("C-metrics"))
    worker.start()
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/metrics"), timeout=60)
        before = samples(port)
        assert value(before, "infoshare_inbox_unapplied") == 2
        assert value(before, "infoshare_inbox_oldest_unapplied_seconds") > 0

        worker.send("infoshare.mis.apply")
        after = wait_for(lambda: (found := samples(port)) and value(
            found, "infoshare_tasks_total", task="infoshare.mail.send", outcome="retried") >= 1 and found, timeout=60)
    finally:
        worker.kill()
        redis.Redis.from_url(REDIS_URL).delete(worker.queue)

    assert value(after, "infoshare_tasks_total", task="infoshare.mis.apply", outcome="succeeded") == 1
    assert value(after, "infoshare_task_seconds_count", task="infoshare.mis.apply") == 1
    assert value(after, "infoshare_inbox_unapplied") == 0 and value(after, "infoshare_inbox_oldest_unapplied_seconds") == 0
    assert ("infoshare_outbox_messages", (("state", "parked"),)) in after
    assert value(after, "infoshare_outbox_messages", state="pending") >= 1  # the email still waits for SMTP
