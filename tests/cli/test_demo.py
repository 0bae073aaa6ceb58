"""`infoshare demo --auto`: the main job on the embedded defaults, walked to the end by itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .. import factories
from ..smtp import free_port


def test_demo_auto_walks_every_case_to_its_end_and_exits_0(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFOSHARE_")}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("infoshare")), "demo", "--auto", "--port", str(free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert len(set(re.findall(r"-> case (IS-\w+)", out))) == 3
    assert out.count("opened the disclosure") == 4
    assert "decided not to share" in out and "notice suppressed" in out
    assert re.search(r"audit chain ok: \d+ events", out)
    assert "/tasks/" in out and "/disclosures/" in out  # each emailed link is printed
    for secret in ("Riley", "Jordan", "Casey", "2013-05-04", factories.PUPIL_GIVEN):
        assert secret not in out
    assert list((tmp_path / "outbox").glob("*.eml"))
    assert "Northfield Primary School (demo)" in out and "the school" not in out


def test_demo_lines_come_in_order_with_each_link_after_the_line_that_caused_it(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFOSHARE_")}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("infoshare")), "demo", "--auto", "--port", str(free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    lines = result.stdout.splitlines()
    assert not [line for line in lines if " INFO " in line or "werkzeug" in line or "alembic" in line]
    for index, line in enumerate(lines):
        if line.startswith("MIS: concern"):
            case_id = line.rsplit(" ", 1)[1]
            assert lines[index + 1].startswith("  email to dsl@school.example") and case_id in lines[index + 1]
            assert lines[index + 2].startswith("    http://localhost:")
        if line.startswith("auto: consent given"):
            assert lines[index + 1].startswith("  email to head@school.example: Manager consultation")
    # A second run over the same database, with the logs shown.
    verbose = subprocess.run(
        [str(Path(sys.executable).with_name("infoshare")), "demo", "--auto", "--verbose", "--port", str(free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    assert verbose.returncode == 0 and "POST /webhooks/mis" in verbose.stderr
