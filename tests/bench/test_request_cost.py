"""`bench/request_cost.py` counts instructions per request for both apps under callgrind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
]


def test_both_apps_are_counted_and_the_product_does_at_least_the_baselines_work(tmp_path: Path) -> None:
    report = tmp_path / "cost.json"
    done = subprocess.run(
        [sys.executable, "bench/request_cost.py", "--requests", "20", "--warmup", "5",
         "--postgres", POSTGRES_ADMIN_URL, "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )

    assert done.returncode == 0, done.stderr
    counts = json.loads(report.read_text())["instructions_per_request"]
    # Verifying, parsing and inserting is common to both; the product also validates and encrypts.
    assert 0 < counts["baseline"] < counts["product"]
    assert "product/baseline instructions" in done.stdout
