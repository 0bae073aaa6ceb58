"""`infoshare report annual`, run as an administrator would run it: the year's figures as text,
JSON or CSV, a bad year refused in one line naming it."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from infoshare_workflow.storage.models import AuditEvent

from .. import factories
from ..conftest import apply_accepted
from .test_main import run


def test_the_figures_as_text_for_a_year_given(settings, runtime):
    result = run(settings, "report", "annual", "--year", "2024-25")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Annual figures 2024-25: 1 September 2024 to 31 August 2025 (Europe/London)"
    assert lines[2] == "concerns" and lines[3].split() == ["received", "0"]  # a table: the figure, then its value
    assert ["median_hours_to_share_decision", "-"] in [line.split() for line in lines]  # no share decision that year
    with runtime.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "report.annual_read")).one()
    assert json.loads(event.details) == {"year": "2024-25", "format": "text"} and event.actor.startswith("cli")


def test_the_current_year_as_json_and_as_csv(mis, settings, runtime):
    mis.post(factories.concern_raised("C-cli-1", urgency="immediate"))
    apply_accepted(runtime)

    as_json = json.loads(run(settings, "report", "annual", "--json").stdout)
    rows = list(csv.reader(io.StringIO(run(settings, "report", "annual", "--csv").stdout)))

    assert as_json["figures"]["concerns_by_urgency"] == {"immediate": 1, "high": 0, "standard": 0}
    assert rows[0] == ["section", "figure", "value"]
    assert ["concerns_by_urgency", "immediate", "1"] in rows and ["concerns", "received", "1"] in rows


@pytest.mark.parametrize("args, named", [
    (["--year", "2024-26"], "--year"), (["--year", "24-25"], "--year"), (["--json", "--csv"], "--json or --csv"),
])
def test_a_bad_argument_exits_2_with_one_line_naming_it(settings, runtime, args, named):
    result = run(settings, "report", "annual", *args)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and named in result.stderr, result.stderr
    with runtime.transaction() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "report.annual_read")).all() == []
