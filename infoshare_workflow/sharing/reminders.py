"""The dispatcher: fire due reminders and escalations, each exactly once.

Each batch is claimed in one transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, so
concurrent dispatchers take different rows; SQLite's write lock serialises them), and the
claim commits together with the audit events and the queued emails. The emails go out after
commit, through the outbox. A dispatcher killed mid-batch commits nothing of that batch,
so another dispatcher picks the same points up: none missed, none twice.

A batch is worked out in Python first, point by point (`fire`), then written in a few
multi-row statements (`Batch.write`): the timers, the steps, the links, the emails and their
outbox rows, the next repeats; the audit events are chained at commit. One ORM object and
flush per point cost several times the database's own time (bench/dispatch.py). A point
that cannot be worked out (an open step without a due time, an urgency the policy does not
know) is logged by its timer id only and left pending for the next pass, which tries it
again: it never holds back the rest of its batch, nor, claimed again and again, the pass.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, bindparam, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.access.links import issue_task_links, task_link_row
from infoshare_workflow.mail.messages import queue_emails
from infoshare_workflow.people.staff import active_with_role
from infoshare_workflow.records import audit
from infoshare_workflow.sharing.steps import STEP_LABELS, staff_email, task_email, undeliverable
from infoshare_workflow.storage.models import Case, Staff, Step, StepTimer, utcnow
from infoshare_workflow.timeliness import due_dates

BATCH = 200
log = logging.getLogger(__name__)


@dataclass
class DispatchResult:
    reminders: int = 0
    escalations: int = 0
    cancelled: int = 0


class DuePoint(NamedTuple):
    """A claimed timer with what firing it needs of its step and case (read in one query; a
    tuple, as cheap to build as the row it comes from)."""

    timer_id: int
    kind: str  # reminder | escalation
    due_at: datetime
    step_id: int
    step_kind: str
    status: str
    assignee: str | None
    step_due_at: datetime | None
    reminders_sent: int
    case_id: str
    urgency: str


def claim_due_timers(session: Session, now: datetime, limit: int = BATCH,
                     skip: Collection[int] = ()) -> list[DuePoint]:
    """Lock up to `limit` due timers (but those in `skip`) and read their steps and cases, in one query.

    The steps and cases come in the same statement (a join), so a batch sends no list of step
    ids back to the database and runs one query, not two. The timers and their steps are
    locked (FOR UPDATE OF step_timers, steps), and a timer whose step another transaction holds
    is skipped, like a timer another dispatcher holds: a step being answered right now is left
    alone, and the next pass finds its timers cancelled. So the dispatcher never waits for a
    row (storage/locks.py). Locking only the timers let an answer and a reminder each wait for
    the other's row: a deadlock, with the DSL's answer as likely to fail as the pass.
    """
    query = (select(StepTimer.id, StepTimer.kind, StepTimer.due_at, StepTimer.step_id, Step.kind, Step.status,
                    Step.assignee, Step.due_at, Step.reminders_sent, Case.case_id, Case.urgency)
             .join(Step, Step.id == StepTimer.step_id).join(Case, Case.id == Step.case_pk)
             .where(StepTimer.fired_at.is_(None), StepTimer.due_at <= now).order_by(StepTimer.due_at).limit(limit))
    if skip:
        query = query.where(StepTimer.id.not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=[StepTimer, Step])
    return [DuePoint(*row) for row in session.execute(query)]


@dataclass
class Batch:
    """What one claimed batch writes, gathered point by point and written in a few statements."""

    session: Session
    now: datetime
    sent: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    reminded: Counter[int] = field(default_factory=Counter)  # step id -> reminders fired in this batch
    escalated: set[int] = field(default_factory=set)
    escalations: int = 0
    links: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    repeats: list[tuple[int, datetime]] = field(default_factory=list)
    _link_expiry: datetime | None = None
    _managers: list[Staff] | None = None

    def link_expiry(self) -> datetime:
        """One task-link lifetime for the batch (its points fire within the same moment)."""
        if self._link_expiry is None:
            self._link_expiry = due_dates.lifetime(self.session, "task")
        return self._link_expiry

    def managers(self) -> list[Staff]:
        if self._managers is None:
            self._managers = active_with_role(self.session, "manager")
        return self._managers

    def write(self, result: DispatchResult) -> None:
        """The batch's writes in a few statements, in the claim's transaction; counted in `result`.

        The updates skip the ORM's session synchronisation: the session holds no timer or step
        objects (the claim reads plain rows), so there is nothing to bring up to date."""
        session, now = self.session, self.now
        among = _among if session.get_bind().dialect.name == "postgresql" else _in
        for outcome, ids in (("sent", self.sent), ("cancelled", self.cancelled)):
            if ids:
                session.execute(update(StepTimer).where(among(StepTimer.id, ids)).values(fired_at=now, outcome=outcome)
                                .execution_options(synchronize_session=False))
        by_count: dict[int, list[int]] = {}
        for step_id, count in self.reminded.items():
            by_count.setdefault(count, []).append(step_id)
        for count, step_ids in by_count.items():
            session.execute(update(Step).where(among(Step.id, step_ids))
                            .values(reminders_sent=Step.reminders_sent + count)
                            .execution_options(synchronize_session=False))
        if self.escalated:
            session.execute(update(Step).where(among(Step.id, self.escalated)).values(escalated=True)
                            .execution_options(synchronize_session=False))
        issue_task_links(session, self.links)
        queue_emails(session, self.emails)
        due_dates.add_repeats(session, self.repeats)
        result.reminders += sum(self.reminded.values())
        result.escalations += self.escalations
        result.cancelled += len(self.cancelled)


def _among(column: ColumnElement[int], ids: Collection[int]) -> ColumnElement[bool]:
    """`column = ANY(array)` (PostgreSQL): one array parameter, not a placeholder per id, so
    the statement is the same every batch and nothing is rewritten for each list."""
    return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))


def _in(column: ColumnElement[int], ids: Collection[int]) -> ColumnElement[bool]:
    return column.in_(ids)


def fire(session: Session, point: DuePoint, batch: Batch) -> None:
    """Work out one point's writes into `batch`; nothing is added if any part of it fails.

    Everything that can fail is worked out first, into locals; only then is it added to the
    batch (no staging object per point: a pass fires a thousand). The audit events are deferred
    by `audit.append` and chained, in firing order, when the batch commits.
    """
    if point.status != "open":
        batch.cancelled.append(point.timer_id)
        return
    link: dict[str, Any] | None = None
    emails: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    if point.kind == "reminder":
        sent = point.reminders_sent + batch.reminded[point.step_id] + 1
        address = staff_email(session, point.assignee)
        if address is None:
            events.append(undeliverable(point.case_id, point.step_kind, point.step_id, point.assignee))
        elif point.step_due_at is None:
            raise ValueError("an open step without a due time")
        else:  # a fresh link each time
            link = task_link_row(point.step_id, point.assignee, batch.link_expiry())
            emails.append(task_email(address=address, assignee=point.assignee, case_id=point.case_id,
                                     urgency=point.urgency, step_kind=point.step_kind,
                                     due_at=point.step_due_at, link_id=link["id"], reason="reminder"))
        events.append({"actor": "system", "action": "step.reminded", "case_id": point.case_id,
                       "details": {"step": point.step_kind, "step_id": point.step_id, "reminder": sent}})
        again = due_dates.repeat_after(session, point.urgency, point.due_at, sent)
        batch.reminded[point.step_id] += 1
        if link is not None:
            batch.links.append(link)
        if again is not None:
            batch.repeats.append((point.step_id, again))
    else:
        managers = batch.managers()
        for manager in managers:
            if manager.email:
                emails.append({
                    "template": "escalation", "to_address": manager.email, "to_label": f"staff:{manager.staff_id}",
                    "case_id": point.case_id, "context": {
                        "step": point.step_kind, "step_label": STEP_LABELS[point.step_kind], "urgency": point.urgency,
                        "due_at": point.step_due_at.isoformat() if point.step_due_at else None,
                        "assignee": point.assignee}})
        events.append({"actor": "system", "action": "step.escalated", "case_id": point.case_id, "details": {
            "step": point.step_kind, "step_id": point.step_id, "managers": [m.staff_id for m in managers]}})
        batch.escalated.add(point.step_id)
        batch.escalations += 1
    batch.sent.append(point.timer_id)
    batch.emails += emails
    for event in events:
        audit.append(session, **event)


def dispatch_timers(session_factory: Callable[[], Any], now: datetime | None = None, batch: int = BATCH,
                    on_batch: Callable[[DispatchResult], None] | None = None) -> DispatchResult:
    """Fire every due point, a committed batch at a time, until none is left."""
    result = DispatchResult()
    failed: set[int] = set()  # points that could not be worked out: left pending, retried next pass
    while True:
        with session_factory() as session, session.begin():
            at = now or utcnow()
            points = claim_due_timers(session, at, batch, skip=failed)
            work = Batch(session, at)
            for point in points:
                try:
                    fire(session, point, work)
                except Exception as error:  # one bad point must not hold back the others
                    failed.add(point.timer_id)
                    log.error("timer %s not fired (%s); left pending for the next pass",
                              point.timer_id, type(error).__name__)
            work.write(result)
        if on_batch is not None:
            on_batch(result)
        if len(points) < batch:
            return result
