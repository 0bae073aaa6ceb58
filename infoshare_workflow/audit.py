"""The tamper-evident audit trail (golden rule 7: keep a record of every decision).

Each event carries the hash of the one before it, so changing or removing a row breaks
the chain at that row, and `verify` names it. Appends are serialised (an advisory lock on
PostgreSQL, the write lock on SQLite) and `seq` and `prev_hash` are unique, so two writers
can never fork the chain. Details never hold personal data: cases are named by id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEvent, utcnow

GENESIS = "0" * 64
_LOCK_KEY = 0x1A5_A0D17  # arbitrary, constant: "the audit chain" advisory lock


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
) -> AuditEvent:
    """Add one event to the chain inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
    at = utcnow()
    body = canonical(details or {})
    event = AuditEvent(
        seq=seq, at=at, actor=actor, action=action, case_id=case_id, details=body, prev_hash=prev,
        hash=chain_hash(seq, at, actor, action, case_id, body, prev),
    )
    session.add(event)
    session.flush()
    return event


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
    for event in rows.scalars():
        count += 1
        recomputed = chain_hash(
            event.seq, event.at, event.actor, event.action, event.case_id, event.details, prev
        )
        if event.seq != expected_seq or event.prev_hash != prev or event.hash != recomputed:
            return Verification(ok=False, events=count, head=prev, first_bad=event.seq)
        expected_seq, prev = event.seq + 1, event.hash
    return Verification(ok=True, events=count, head=prev, first_bad=None)


def case_events(session: Session, case_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq))
    )


def recent(session: Session, limit: int) -> list[AuditEvent]:
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit))
    return list(reversed(list(rows)))
