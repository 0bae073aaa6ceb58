"""The jobs a schedule can run, by name: one line each in `JOBS`.

A job is `run(runtime, run_id, progress, report) -> counts`. `progress(done, total)` says how
far it has got and renews the run's lease, so a job calls it after every batch, between its
transactions (on SQLite the renewal is a second writer). `report(session, kind, row)` adds a
row to the run's report in the job's own transaction (a row about a pupil names them as
`pupil`, their MIS id, so that the pupil's erasure erases it too). The counts it returns are
recorded with the run. Its optional
`summary(session, run_id) -> counts` adds what happened since (e.g. reviews answered on the
review lists the run made) whenever a run is shown. The names are INTERFACES.md §3's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from infoshare_workflow.notices import privacy, reconsideration
from infoshare_workflow.review import sweep
from infoshare_workflow.storage.runtime import Runtime

Progress = Callable[[int, int], None]  # (done, total)
Reporter = Callable[[Session, str, dict[str, Any]], None]  # (session, kind, row)
JobRun = Callable[[Runtime, int, Progress, Reporter], dict[str, int]]
Summary = Callable[[Session, int], dict[str, int]]


@dataclass(frozen=True)
class Job:
    run: JobRun
    summary: Summary | None = None


JOBS: dict[str, Job] = {
    "retention_sweep": Job(sweep.retention_sweep, sweep.run_summary),
    "privacy_notices": Job(privacy.privacy_notices, privacy.run_summary),
    "notice_reconsideration": Job(reconsideration.notice_reconsideration),
}


class UnknownJob(LookupError):
    """No job of that name is registered."""


def job_named(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(name) from None


def job_names() -> list[str]:
    return sorted(JOBS)
