"""`bench/latency.py` runs end to end: the whole stack starts, every concern posted reaches the SMTP
server as its consent email and opened its case, and the JSON report carries the figures the
README quotes. No speed is asserted (bench/README.md has them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_short_run_measures_the_floor_and_the_product_and_every_concern_gets_its_email(tmp_path: Path) -> None:
    report = tmp_path / "latency.json"
    done = subprocess.run(
        [sys.executable, "bench/latency.py", "--rate", "4", "--duration", "2", "--warmup", "0", "--workers", "1",
         "--burst", "4", "--pool", "solo", "--web-workers", "1", "--postgres", POSTGRES_ADMIN_URL,
         "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )

    assert done.returncode in (0, 1), done.stderr  # 1 is "target missed": a speed, not a fault
    figures = json.loads(report.read_text())
    assert figures["every_case_opened"] is True
    [row] = figures["rows"]
    for target in ("floor", "product"):
        assert row[target]["sent"] == 8 and row[target]["errors"] == 0 and row[target]["missing"] == 0
    assert row["product_throughput"]["processed"] == 4 and row["floor_throughput"]["processed"] == 4
    assert "webhook 202 -> consent email" in done.stdout
    assert "dropped database" in done.stderr
