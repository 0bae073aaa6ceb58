"""The tamper-evident audit trail (golden rule 7: keep a record of every decision).

Each event carries the hash of the one before it, so changing or removing a row breaks
the chain at that row, and `verify` names it. A transaction's events are written together
just before it commits: one advisory lock (PostgreSQL; SQLite's write lock is already
held), one read of the head, one multi-row insert, so the chain's lock is held only for
the commit itself. `seq` and `prev_hash` are unique, so two writers can never fork the
chain. Details never hold personal data: cases are named by id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from infoshare_workflow.storage.db import defer, outermost_commit, take_deferred
from infoshare_workflow.storage.models import AuditEvent, utcnow

GENESIS = "0" * 64
_LOCK_KEY = 0x1A5_A0D17  # arbitrary, constant: "the audit chain" advisory lock
_PENDING = "audit_pending"


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def chain_hash(
    seq: int, at: datetime, actor: str, action: str, case_id: str | None, details: str, prev: str
) -> str:
    body = json.dumps(
        [seq, at.isoformat(), actor, action, case_id, details, prev], separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    case_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record one event in the caller's transaction; it joins the chain when that commits."""
    defer(session, _PENDING, (utcnow(), actor, action, case_id, canonical(details or {})))


def write_pending(session: Session) -> int:
    """Chain and insert the transaction's events (called just before the outermost commit)."""
    pending = take_deferred(session, _PENDING)
    if not pending:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    rows = []
    for at, actor, action, case_id, body in pending:
        seq += 1
        digest = chain_hash(seq, at, actor, action, case_id, body, prev)
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "case_id": case_id,
                     "details": body, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEvent), rows)
    return len(rows)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    """Once, for the real commit: a released savepoint's events wait for it (the chain's lock is
    then held only for that commit); a rolled-back savepoint's events are dropped (db.defer)."""
    if outermost_commit(session):
        write_pending(session)


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int
    head: str
    first_bad: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "head": self.head, "first_bad": self.first_bad}


def verify(session: Session) -> Verification:
    """Recompute the whole chain; the first row that does not follow is `first_bad`."""
    expected_seq, prev, count = 1, GENESIS, 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000))
    for row in rows.scalars():
        count += 1
        recomputed = chain_hash(
            row.seq, row.at, row.actor, row.action, row.case_id, row.details, prev
        )
        if row.seq != expected_seq or row.prev_hash != prev or row.hash != recomputed:
            return Verification(ok=False, events=count, head=prev, first_bad=row.seq)
        expected_seq, prev = row.seq + 1, row.hash
    return Verification(ok=True, events=count, head=prev, first_bad=None)


def case_events(session: Session, case_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq))
    )


def recent(session: Session, limit: int) -> list[AuditEvent]:
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit))
    return list(reversed(list(rows)))
