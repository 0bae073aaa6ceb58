"""Refused MIS events, kept on the record without letting noise flood it (golden rule 7).

An event that proved who sent it (its signature holds) and is still refused (schema errors,
an unknown concern) is audited one by one, with its field errors and never its payload: the
MIS's integrators need each one. A request that never proved who sent it (too large, wrong
content type, not UTF-8, no valid signature) is counted in `rejection_tallies` with one
cheap UPSERT and written to the audit trail once per door, reason and minute, with the
count, so 2,000 unsigned POSTs cost 2,000 counter bumps, not 2,000 links in the hash chain
behind its one lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import RejectionTally, utcnow

UNAUTHENTICATED = ("too_large", "content_type", "not_utf8", "signature")


def record(session: Session, *, via: str, reason: str, event_id: str | None, event_type: str | None = None,
           errors: Any = None) -> None:
    """Audit one refused, signed event by reason and field errors; the payload is never stored."""
    details: dict[str, Any] = {"via": via, "reason": reason, "event_id": (event_id or "")[:255] or None}
    if event_type is not None:
        details["type"] = event_type
    if errors is not None:
        details["errors"] = errors
    audit.append(session, actor="mis", action="event.rejected", details=details)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@cache
def _bump_statement(dialect: str) -> Any:
    table = RejectionTally.__table__
    stmt = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))
    return stmt.on_conflict_do_update(index_elements=[table.c.minute, table.c.via, table.c.reason],
                                      set_={"count": table.c.count + 1})


def tally(connection: Connection, *, via: str, reason: str, now: datetime | None = None) -> None:
    """Count one unauthenticated refusal in its minute (one statement; no audit lock)."""
    connection.execute(_bump_statement(connection.dialect.name),
                       {"minute": minute_of(now or utcnow()), "via": via, "reason": reason, "count": 1})


def flush_tallies(session_factory: Callable[[], Any], now: datetime | None = None) -> int:
    """Audit every finished minute's counts, one event per door and reason; returns how many.

    Concurrent flushers take different rows (SKIP LOCKED), and each row is deleted in the
    transaction that audits it, so a minute is audited once.
    """
    current = minute_of(now or utcnow())
    with session_factory() as session, session.begin():
        query = select(RejectionTally).where(RejectionTally.minute < current).order_by(RejectionTally.minute)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            audit.append(session, actor="mis", action="event.rejected", details={
                "via": row.via, "reason": row.reason, "minute": row.minute.isoformat(), "count": row.count})
            session.execute(delete(RejectionTally).where(RejectionTally.minute == row.minute,
                                                         RejectionTally.via == row.via,
                                                         RejectionTally.reason == row.reason))
    return len(rows)
