"""The `retention_sweep` job: what a scheduled run of the retention review does.

"Always review retained information regularly and do not keep longer than necessary."
A run first erases the cases whose disposal wait has ended (each one a row of the run's
report: the tombstone, no personal data), then finds the closed cases whose `review_on`
has come and opens one review list per DSL who has any, emailed as one link each. A review
list is a query (review.lists), so listing writes one row per DSL, not one per case: the
sweep is a keyset-paginated scan (by case row id, in batches) that counts, so its time
follows the number of cases and its memory does not. Cases under legal hold are skipped
and counted, as are those with a disposal under way; cases whose DSL has left move to an
active DSL (routing's round-robin). A DSL whose list is still open keeps it: a second run
adds no list and no email.

A schedule's runner (infoshare_workflow.schedules) calls `retention_sweep` with the run's
id, a progress callback and a reporter that writes rows of the run's report, and records
the counts it returns; `run_summary` adds what the review pages have led to since.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.people.staff import active_ids, route_to
from infoshare_workflow.review.erasure import erase_case
from infoshare_workflow.review.lists import open_list, send_list
from infoshare_workflow.storage.models import Case, Disposal, ReviewItem, ReviewList, utcnow
from infoshare_workflow.storage.runtime import Runtime

Progress = Callable[[int, int], None]  # (done, total)
Reporter = Callable[[Session, str, dict[str, Any]], None]  # (session, kind, row) into the run's report
BATCH = 5000


def retention_sweep(runtime: Runtime, run_id: int, progress: Progress, report: Reporter,
                    now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    disposed = erase_due(runtime, run_id, progress, report, now)
    counts = list_due(runtime, run_id, progress, now)
    return {**counts, "disposed": disposed}


def _erasable(now: datetime) -> Any:
    """Approved disposals whose wait has ended, of cases not under legal hold."""
    return and_(Disposal.status == "pending", Disposal.erase_at <= now, Case.legal_hold.is_(False))


def erase_due(runtime: Runtime, run_id: int, progress: Progress, report: Reporter, now: datetime) -> int:
    """Erase every case whose disposal wait has ended, one transaction each."""
    with runtime.transaction() as session:
        total = session.scalar(select(func.count()).select_from(Disposal).join(Case, Case.id == Disposal.case_pk)
                               .where(_erasable(now))) or 0
    if total:  # the listing that follows reports its own total, nothing to erase or not
        progress(0, total)
    erased, after = 0, 0
    while True:
        with runtime.transaction() as session:
            query = (select(Disposal).join(Case, Case.id == Disposal.case_pk)
                     .where(_erasable(now), Disposal.id > after).order_by(Disposal.id).limit(1))
            if session.get_bind().dialect.name == "postgresql":  # the case first, and never waiting: storage/locks.py
                query = query.with_for_update(skip_locked=True, of=[Case, Disposal])
            disposal = session.scalars(query).first()
            if disposal is None:
                return erased
            after = disposal.id
            report(session, "disposal", erase_case(session, disposal, run_id=run_id, now=now))
            erased += 1
        progress(min(erased, total), total)


def _due(now: datetime) -> Any:
    """Closed cases whose review date has come (the index on status and review date serves it)."""
    return and_(Case.status == "closed", Case.review_on <= now.date())


def _under_way(session: Session, first: int, last: int) -> set[int]:
    """Of the cases in this id range, those with a disposal under way (one indexed range lookup)."""
    return set(session.scalars(select(Disposal.case_pk).where(
        Disposal.case_pk.between(first, last), Disposal.status.in_(("proposed", "pending")))))


def list_due(runtime: Runtime, run_id: int, progress: Progress, now: datetime) -> dict[str, int]:
    """Count the due cases per DSL in keyset batches, then open and email one list per DSL."""
    with runtime.transaction() as session:
        total = session.scalar(select(func.count()).select_from(Case).where(_due(now))) or 0
    progress(0, total)
    per_dsl: dict[str, int] = defaultdict(int)
    held = under_way = done = after = 0
    with runtime.transaction() as session:
        dsls = set(active_ids(session, "dsl"))
    while True:
        with runtime.transaction() as session:
            rows = session.execute(select(Case.id, Case.dsl_staff_id, Case.legal_hold).where(_due(now), Case.id > after)
                                   .order_by(Case.id).limit(BATCH)).all()
            if not rows:
                break
            busy = _under_way(session, rows[0][0], rows[-1][0])
            orphans = []
            for case_pk, dsl, on_hold in rows:
                if case_pk in busy:
                    under_way += 1
                elif on_hold:  # DOMAIN.md: a case under legal hold can't be disposed of, so it is not reviewed
                    held += 1
                elif dsl in dsls:
                    per_dsl[dsl] += 1
                else:
                    orphans.append(case_pk)
            if orphans:  # their DSL has left: the cases move to an active one, as steps do
                heir = route_to(session, "dsl")
                if heir is not None:
                    session.execute(update(Case).where(Case.id.in_(orphans)).values(dsl_staff_id=heir))
                    per_dsl[heir] += len(orphans)
            done += len(rows)
            after = rows[-1][0]
        progress(done, total)
    opened = 0
    with runtime.transaction() as session:
        for dsl in sorted(per_dsl):
            review_list = open_list(session, "review", dsl, run_id)
            if review_list.due_at is None:  # new: a list still open from an earlier run is not sent again
                send_list(session, review_list, now=now, count=per_dsl[dsl])
                opened += 1
    return {"due": total, "listed": sum(per_dsl.values()), "held": held, "under_way": under_way,
            "lists": opened}


def run_summary(session: Session, run_id: int) -> dict[str, int]:
    """What the run's review lists have led to since: cases retained and proposed for disposal,
    and of those, approved (waiting or erased)."""
    items = (select(ReviewItem.decision, func.count()).join(ReviewList, ReviewList.id == ReviewItem.list_id)
             .where(ReviewList.run_id == run_id, ReviewList.kind == "review").group_by(ReviewItem.decision))
    decided = {decision: count for decision, count in session.execute(items).all()}
    proposed_cases = (select(ReviewItem.case_pk).join(ReviewList, ReviewList.id == ReviewItem.list_id)
                      .where(ReviewList.run_id == run_id, ReviewItem.decision == "dispose"))
    approved = session.scalar(select(func.count()).select_from(Disposal).where(
        Disposal.case_pk.in_(proposed_cases), Disposal.status.in_(("pending", "done")))) or 0
    return {"retained": decided.get("retain", 0), "proposed": decided.get("dispose", 0), "approved": approved}
