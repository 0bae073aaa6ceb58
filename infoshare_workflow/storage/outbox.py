"""The transactional outbox: work written with the change that needs it, published after.

RELIABILITY.md "enqueue before commit" and "whole worker kill -9": a row is written in the
same transaction as the decision; a relay publishes it after commit with the row id as the
Celery task id, and publishes it again if it is not done within a lease. Consumers are
idempotent, so a second delivery does nothing twice. A row that keeps failing is parked
after MAX_ATTEMPTS and shown, never retried for ever.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.storage.db import defer, take_deferred
from infoshare_workflow.storage.models import OutboxMessage, utcnow

MAX_ATTEMPTS = 10
PENDING_KEY = "outbox_pending"


def _message_row(task: str, kwargs: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    # Published right after commit; if that publish is lost, the relay sends it after the lease.
    now = now or utcnow()
    return {"id": str(uuid.uuid4()), "task": task, "kwargs": kwargs, "published_at": now, "attempts": 1,
            "created_at": now}


def enqueue(session: Session, task: str, **kwargs: Any) -> str:
    """Add work to the caller's transaction; it is published only if that commits."""
    row = _message_row(task, kwargs)
    session.add(OutboxMessage(**row))
    defer(session, PENDING_KEY, (row["id"], task, kwargs))
    return str(row["id"])


def enqueue_many(session: Session, task: str, kwargs_list: Sequence[dict[str, Any]]) -> list[str]:
    """`enqueue` for a batch: one multi-row INSERT in the caller's transaction, each message
    published after commit like a single one (a dispatcher pass queues hundreds at once), all
    written in one moment (one clock reading for the batch)."""
    now = utcnow()
    rows = [_message_row(task, kwargs, now) for kwargs in kwargs_list]
    if rows:
        # Core, not the ORM's bulk path: one executemany (pipelined by psycopg), no per-row ORM work.
        session.execute(insert(OutboxMessage.__table__), rows)
    for row in rows:
        defer(session, PENDING_KEY, (row["id"], task, row["kwargs"]))
    return [str(row["id"]) for row in rows]


def committed_messages(session: Session) -> list[tuple[str, str, dict[str, Any]]]:
    """The messages the transaction that just committed enqueued, to publish now."""
    return take_deferred(session, PENDING_KEY)


def claim_due(session: Session, lease: timedelta, now: datetime | None = None, limit: int = 100) -> list[OutboxMessage]:
    """Rows never published, or published longer than `lease` ago and still not done."""
    now = now or utcnow()
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.done_at.is_(None), OutboxMessage.parked_at.is_(None))
        .where(or_(OutboxMessage.published_at.is_(None), OutboxMessage.published_at < now - lease))
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.attempts += 1
        row.published_at = now
        if row.attempts > MAX_ATTEMPTS:
            row.parked_at = now
            row.last_error = (row.last_error or "") + " | parked after too many attempts"
    session.flush()
    return [r for r in rows if r.parked_at is None]


def backlog(session: Session) -> dict[str, int]:
    """Work not done yet, and work parked after MAX_ATTEMPTS (shown in /metrics)."""
    not_done = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None))
    return {"pending": session.scalar(not_done.where(OutboxMessage.parked_at.is_(None))) or 0,
            "parked": session.scalar(not_done.where(OutboxMessage.parked_at.is_not(None))) or 0}


def mark_done(session: Session, message_id: str | None) -> None:
    if message_id:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(done_at=utcnow()))


def record_error(session: Session, message_id: str | None, error: str) -> None:
    if message_id:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(last_error=error[:500]))


def postpone(session: Session, message_id: str | None, seconds: float) -> None:
    """The consumer will try again by itself in `seconds` (a Celery retry with countdown): count
    the lease from then, so the relay re-sends a retry that was lost, not one waiting its turn.
    Re-sending a waiting one would start a second retry chain beside it, each try using up one
    of the email's attempts: a short outage would then fail the email in seconds, not minutes."""
    if message_id:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                        .values(published_at=utcnow() + timedelta(seconds=seconds)))


def relay(session_factory: Callable[[], Any], publish: Callable[[str, str, dict[str, Any]], None],
          lease: timedelta) -> int:
    """One relay pass: claim due rows in a committed transaction, then publish each."""
    with session_factory() as session, session.begin():
        due = [(m.id, m.task, dict(m.kwargs)) for m in claim_due(session, lease)]
    for message_id, task, kwargs in due:
        publish(message_id, task, kwargs)
    return len(due)
