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
from typing import Any

from sqlalchemy import select, update
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


@dataclass(frozen=True)
class DuePoint:
    """A claimed timer with what firing it needs of its step and case (read in one query)."""

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
    """Lock up to `limit` due timers (but those in `skip`) and read their steps and cases in one more query."""
    query = (select(StepTimer.id, StepTimer.step_id, StepTimer.kind, StepTimer.due_at)
             .where(StepTimer.fired_at.is_(None), StepTimer.due_at <= now).order_by(StepTimer.due_at).limit(limit))
    if skip:
        query = query.where(StepTimer.id.not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    timers = session.execute(query).all()
    if not timers:
        return []
    steps = {row[0]: tuple(row[1:]) for row in session.execute(  # in DuePoint's order, after step_id
        select(Step.id, Step.kind, Step.status, Step.assignee, Step.due_at, Step.reminders_sent, Case.case_id,
               Case.urgency).join(Case, Case.id == Step.case_pk).where(Step.id.in_({t.step_id for t in timers})))}
    return [DuePoint(t.id, t.kind, t.due_at, t.step_id, *steps[t.step_id]) for t in timers]


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
    events: list[dict[str, Any]] = field(default_factory=list)  # audit.append's arguments, in firing order
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

    def take(self, fired: Batch) -> None:
        """Add one point's work, once all of it is worked out (a point that failed adds nothing)."""
        self.sent += fired.sent
        self.cancelled += fired.cancelled
        self.reminded.update(fired.reminded)
        self.escalated |= fired.escalated
        self.links += fired.links
        self.emails += fired.emails
        self.repeats += fired.repeats
        self.escalations += fired.escalations
        for event in fired.events:  # deferred by audit; chained in firing order when the batch commits
            audit.append(self.session, **event)

    def write(self, result: DispatchResult) -> None:
        """The batch's writes in a few statements, in the claim's transaction; counted in `result`."""
        session, now = self.session, self.now
        for outcome, ids in (("sent", self.sent), ("cancelled", self.cancelled)):
            if ids:
                session.execute(update(StepTimer).where(StepTimer.id.in_(ids)).values(fired_at=now, outcome=outcome))
        by_count: dict[int, list[int]] = {}
        for step_id, count in self.reminded.items():
            by_count.setdefault(count, []).append(step_id)
        for count, step_ids in by_count.items():
            session.execute(update(Step).where(Step.id.in_(step_ids))
                            .values(reminders_sent=Step.reminders_sent + count))
        if self.escalated:
            session.execute(update(Step).where(Step.id.in_(self.escalated)).values(escalated=True))
        issue_task_links(session, self.links)
        queue_emails(session, self.emails)
        due_dates.add_repeats(session, self.repeats)
        result.reminders += sum(self.reminded.values())
        result.escalations += self.escalations
        result.cancelled += len(self.cancelled)


def fire(session: Session, point: DuePoint, batch: Batch) -> None:
    """Work out one point's writes into `batch`; nothing is added if any part of it fails."""
    fired = Batch(session, batch.now)
    if point.status != "open":
        fired.cancelled.append(point.timer_id)
        batch.take(fired)
        return
    fired.sent.append(point.timer_id)
    if point.kind == "reminder":
        sent = point.reminders_sent + batch.reminded[point.step_id] + 1
        fired.reminded[point.step_id] += 1
        address = staff_email(session, point.assignee)
        if address is None:
            fired.events.append(undeliverable(point.case_id, point.step_kind, point.step_id, point.assignee))
        elif point.step_due_at is None:
            raise ValueError("an open step without a due time")
        else:  # a fresh link each time
            link = task_link_row(point.step_id, point.assignee, batch.link_expiry())
            fired.links.append(link)
            fired.emails.append(task_email(address=address, assignee=point.assignee, case_id=point.case_id,
                                           urgency=point.urgency, step_kind=point.step_kind,
                                           due_at=point.step_due_at, link_id=link["id"], reason="reminder"))
        fired.events.append({"actor": "system", "action": "step.reminded", "case_id": point.case_id,
                             "details": {"step": point.step_kind, "step_id": point.step_id, "reminder": sent}})
        again = due_dates.repeat_after(session, point.urgency, point.due_at, sent)
        if again is not None:
            fired.repeats.append((point.step_id, again))
    else:
        fired.escalated.add(point.step_id)
        fired.escalations += 1
        managers = batch.managers()
        for manager in managers:
            if manager.email:
                fired.emails.append({
                    "template": "escalation", "to_address": manager.email, "to_label": f"staff:{manager.staff_id}",
                    "case_id": point.case_id, "context": {
                        "step": point.step_kind, "step_label": STEP_LABELS[point.step_kind], "urgency": point.urgency,
                        "due_at": point.step_due_at.isoformat() if point.step_due_at else None,
                        "assignee": point.assignee}})
        fired.events.append({"actor": "system", "action": "step.escalated", "case_id": point.case_id, "details": {
            "step": point.step_kind, "step_id": point.step_id, "managers": [m.staff_id for m in managers]}})
    batch.take(fired)


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
