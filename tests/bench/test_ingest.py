"""`bench/ingest.py` runs end to end: both servers answer, every 202 is a stored row, the JSON
report carries the figures the README quotes. No speed is asserted (bench/README.md has them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_short_run_measures_both_targets_and_stores_every_accepted_event(tmp_path: Path) -> None:
    report = tmp_path / "ingest.json"
    done = subprocess.run(
        [sys.executable, "bench/ingest.py", "--duration", "1", "--warmup", "0", "--clients", "2",
         "--workers", "1", "--threads", "2", "--postgres", POSTGRES_ADMIN_URL, "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )

    assert done.returncode in (0, 1), done.stderr  # 1 is "target missed": a speed, not a fault
    figures = json.loads(report.read_text())
    assert figures["every_202_stored"] is True
    for target in ("baseline", "product"):
        assert figures["results"][target]["accepted"] > 0
        assert figures["results"][target]["errors"] == 0
    assert "product/baseline throughput" in done.stdout
    assert "dropped database" in done.stderr
