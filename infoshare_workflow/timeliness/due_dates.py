"""Due dates, reminder points and escalation points for steps ("share in a timely fashion").

Durations come from the policy (DOMAIN.md "Timeliness" defaults, INTERFACES.md §6), on the
school calendar. The points are rows (StepTimer) that the dispatcher fires once each; no
timer ever lives in the broker (RELIABILITY.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.settings.policy import Duration, policy_of
from infoshare_workflow.storage.models import Step, StepTimer, utcnow
from infoshare_workflow.timeliness.calendar import calendar_for
from infoshare_workflow.vocabulary import URGENCIES

MAX_REPEATS = 96  # a repeating reminder (every 15 minutes) stops after a day's worth


def due_at(session: Session, kind: str, urgency: str, start: datetime) -> datetime:
    return calendar_for(session).add(start, policy_of(session).steps[urgency].duration(kind))


def is_raise(old: str, new: str) -> bool:
    """True when `new` is more urgent than `old` (immediate > high > standard)."""
    return URGENCIES.index(new) < URGENCIES.index(old)


def lifetime(session: Session, which: str, start: datetime | None = None) -> datetime:
    """When a link issued now stops working (links.task_link_lifetime / disclosure_link_lifetime)."""
    duration: Duration = getattr(policy_of(session), f"{which}_link_lifetime")
    return calendar_for(session).add(start or utcnow(), duration)


def signature_max_age(duration: Duration) -> timedelta:
    """An upper bound for the signed token's age; the database row holds the exact expiry."""
    if duration.unit in ("seconds", "minutes", "hours", "days"):
        return timedelta(**{duration.unit: duration.amount})
    return timedelta(days=366 * max(1, int(duration.amount)) if duration.unit == "years" else 366)


def plan_timers(session: Session, step: Step, urgency: str) -> None:
    """(Re)write the step's pending reminder and escalation points from its due date."""
    cancel_timers(session, step.id)
    assert step.opened_at is not None and step.due_at is not None
    rules, calendar = policy_of(session).steps[urgency], calendar_for(session)
    duration = rules.duration(step.kind)
    points: list[tuple[str, int, datetime]] = []
    if rules.reminder_every is not None:
        points.append(("reminder", 1, calendar.add(step.opened_at, rules.reminder_every)))
    for seq, fraction in enumerate(rules.reminders, start=1):
        points.append(("reminder", seq, calendar.add(step.opened_at, duration.scaled(fraction))))
    points.append(("escalation", 1, calendar.add(step.due_at, rules.escalate_after)))
    offsets = _last_seq(session, step.id)  # points replaced by a re-plan keep their rows, as cancelled
    for kind, seq, at in points:
        session.add(StepTimer(step_id=step.id, kind=kind, seq=offsets.get(kind, 0) + seq, due_at=at))


def _last_seq(session: Session, step_id: int) -> dict[str, int]:
    rows = session.execute(select(StepTimer.kind, func.max(StepTimer.seq)).where(StepTimer.step_id == step_id)
                           .group_by(StepTimer.kind))
    return {kind: seq for kind, seq in rows}


def repeat_after(session: Session, urgency: str, fired_due_at: datetime, reminders_sent: int) -> datetime | None:
    """When a repeating reminder just fired comes again, or None (no repeat, or a day's worth sent)."""
    every = policy_of(session).steps[urgency].reminder_every
    if every is None or reminders_sent >= MAX_REPEATS:
        return None
    return calendar_for(session).add(fired_due_at, every)


def add_repeats(session: Session, repeats: Sequence[tuple[int, datetime]]) -> None:
    """Insert the next reminder points, (step id, due time) in firing order, each numbered after its
    step's last: one read and one multi-row insert for a whole dispatcher batch."""
    if not repeats:
        return
    last = dict(session.execute(select(StepTimer.step_id, func.max(StepTimer.seq)).where(
        StepTimer.step_id.in_({step_id for step_id, _ in repeats}), StepTimer.kind == "reminder")
        .group_by(StepTimer.step_id)).all())
    rows = []
    for step_id, at in repeats:
        last[step_id] = last.get(step_id, 0) + 1
        rows.append({"step_id": step_id, "kind": "reminder", "seq": last[step_id], "due_at": at})
    session.execute(insert(StepTimer.__table__), rows)


def cancel_timers(session: Session, step_id: int) -> None:
    session.execute(update(StepTimer).where(StepTimer.step_id == step_id, StepTimer.fired_at.is_(None))
                    .values(fired_at=utcnow(), outcome="cancelled"))
