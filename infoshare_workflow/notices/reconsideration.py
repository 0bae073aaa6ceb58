"""The `notice_reconsideration` job: ask the DSL again about each sharing notice held back.

Golden rule 2: be open and honest with the family "unless it is unsafe or inappropriate to
do so". When the DSL holds a sharing notice back, they give a reason and a date; on that
date this job opens a `reconsideration` step for the case's DSL (a DSL who has left hands
it to an active one), emailed as a task link with reminders and escalation like any step.
The DSL answers `send_now` (the family is told at once) or `keep_suppressed` (a new reason
and date, and the question comes back then). A notice whose case already has an open
reconsideration step is not asked about twice; the notice row is locked while the step is
opened, so two runs at once open one step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from infoshare_workflow.people.staff import active_ids, route_to
from infoshare_workflow.sharing.steps import open_step
from infoshare_workflow.storage.models import Case, Notice, Step, utcnow
from infoshare_workflow.storage.runtime import Runtime

Progress = Callable[[int, int], None]
Reporter = Callable[[Session, str, dict[str, Any]], None]


def _due(session: Session, now: datetime) -> Any:
    today = now.astimezone(ZoneInfo(session.info.get("timezone", "Europe/London"))).date()
    already_asked = exists().where(Step.case_pk == Notice.case_pk, Step.kind == "reconsideration",
                                   Step.status == "open")
    return (Notice.kind == "sharing", Notice.status == "suppressed", Notice.reconsidered_at.is_(None),
            Notice.reconsider_on <= today, Notice.case_pk.is_not(None), ~already_asked)


def notice_reconsideration(runtime: Runtime, run_id: int, progress: Progress, report: Reporter,
                           now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    with runtime.transaction() as session:
        total = session.scalar(select(func.count()).select_from(Notice).where(*_due(session, now))) or 0
    progress(0, total)
    asked = done = after = 0
    while True:
        with runtime.transaction() as session:  # one notice a transaction: each step and its email commit together
            query = select(Notice).where(*_due(session, now), Notice.id > after).order_by(Notice.id).limit(1)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=Notice)
            notice = session.scalars(query).first()
            if notice is None:
                break
            after, done = notice.id, done + 1
            case = session.get(Case, notice.case_pk)
            if case is not None and case.status not in ("disposal_pending", "disposed"):
                if case.dsl_staff_id not in active_ids(session, "dsl"):  # their DSL has left: hand it on
                    case.dsl_staff_id = route_to(session, "dsl") or case.dsl_staff_id
                open_step(session, case, "reconsideration", now=now)
                asked += 1
        progress(min(done, total), total)
    return {"due": total, "asked": asked}
