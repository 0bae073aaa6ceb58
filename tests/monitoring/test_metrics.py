"""Metrics under gunicorn: several worker processes share PROMETHEUS_MULTIPROC_DIR.

The backlog gauges are built from the database by whichever worker answers a scrape and are
never stored, so a backlog that has drained reads 0, even if another worker last scraped it
at 3; counters add up over every worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]


def _in_worker_process(metrics_dir: Path, code: str) -> str:
    """Run `code` in a fresh process, as a gunicorn worker would (prometheus_client picks its
    multiprocess storage when it is imported, from the environment)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    done = subprocess.run([sys.executable, "-c", "from infoshare_workflow.monitoring.metrics import *\n" + code],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def _samples(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(exposition) for s in family.samples if s.name == name}


SCRAPE = ("import sys; sys.stdout.write(exposition(backlog_families(overdue_steps={{'consent': {n}}}, "
          "outbox={{'pending': {n}, 'parked': 0}}, inbox_unapplied={n}, inbox_parked=0, "
          "inbox_oldest_seconds={n})).decode())")


def test_a_drained_backlog_reads_zero_whichever_worker_scraped_it_before(tmp_path: Path) -> None:
    busy = _in_worker_process(tmp_path, SCRAPE.format(n=3))
    assert _samples(busy, "infoshare_inbox_unapplied") == {(): 3.0}

    exposed = _in_worker_process(tmp_path, SCRAPE.format(n=0))

    assert _samples(exposed, "infoshare_inbox_unapplied") == {(): 0.0}
    assert _samples(exposed, "infoshare_outbox_messages") == {(("state", "pending"),): 0.0,
                                                               (("state", "parked"),): 0.0}
    assert _samples(exposed, "infoshare_overdue_steps") == {(("step", "consent"),): 0.0}


def test_event_counts_add_up_over_workers(tmp_path: Path) -> None:
    _in_worker_process(tmp_path, "count_event('concern.raised', 'accepted')")
    _in_worker_process(tmp_path, "count_event('concern.raised', 'accepted'); count_event('staff.upserted', 'rejected')")

    exposed = _in_worker_process(tmp_path, "import sys; sys.stdout.write(exposition().decode())")

    assert _samples(exposed, "infoshare_events_total") == {
        (("outcome", "accepted"), ("type", "concern.raised")): 2.0,
        (("outcome", "rejected"), ("type", "staff.upserted")): 1.0,
    }
