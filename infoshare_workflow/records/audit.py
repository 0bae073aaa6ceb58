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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import event, func, insert, select, text
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
    """Chain and insert the transaction's events (called just before the outermost commit).

    A dispatcher pass chains a thousand events, so the per-row Python is kept small: each
    digest by `_recomputed` (the bytes `chain_hash` hashes: `at` is append's aware UTC time and
    `prev` is hex) and one Core multi-row insert into the table, without the ORM's bulk path.
    """
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
    digest_of = _recomputed
    for at, actor, action, case_id, body in pending:
        seq += 1
        digest = digest_of(seq, at, actor, action, case_id, body, prev)
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "case_id": case_id,
                     "details": body, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(AuditEvent.__table__), rows)
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


Progress = Callable[[int, int], None]  # (events checked, events in the chain)

VERIFY_BATCH = 2_000  # rows per fetch: a few MB at most, and as fast as larger batches
_CHAIN_COLUMNS = "seq, {at}, actor, action, case_id, details, prev_hash, hash"


def verify(session: Session, progress: Progress | None = None, batch: int = VERIFY_BATCH) -> Verification:
    """Recompute the whole chain; the first row that does not follow is `first_bad`.

    A chain of a million events must verify in seconds with flat memory, so the rows are
    streamed in batches from the driver's own cursor (a server-side cursor on PostgreSQL)
    as plain tuples, not ORM objects, and each digest is recomputed by `_recomputed`, which
    writes the very bytes `chain_hash` hashes without building a JSON encoder per row.
    `progress` hears (checked, total) first and after every batch; total is the head's seq.
    """
    total = 0
    if progress is not None:
        total = session.scalar(select(func.max(AuditEvent.seq))) or 0  # the primary key's last entry
        progress(0, total)
    expected_seq, prev, count = 1, GENESIS, 0
    recomputed = _recomputed
    with _stored_chain(session, batch) as batches:
        for rows in batches:
            for seq, at, actor, action, case_id, details, prev_hash, digest in rows:
                count += 1
                if (seq != expected_seq or prev_hash != prev
                        or digest != recomputed(seq, at, actor, action, case_id, details, prev)):
                    return Verification(ok=False, events=count, head=prev, first_bad=seq)
                expected_seq, prev = seq + 1, digest
            if progress is not None:
                progress(count, max(total, count))
    return Verification(ok=True, events=count, head=prev, first_bad=None)


def _recomputed(
    seq: int, at: datetime, actor: str, action: str, case_id: str | None, details: str, prev: str,
    _escape: Callable[[str], str] = encode_basestring_ascii, _sha256: Any = hashlib.sha256,
) -> str:
    """`chain_hash`, byte for byte, at a third of its cost (the chain is verified row by row).

    `json.dumps(list, separators=(",", ":"))` writes "[" + items joined by "," + "]": an int
    as `int.__repr__`, None as `null`, a string through `encode_basestring_ascii` (the C
    function json uses with ensure_ascii). That is what this writes, with two strings left
    unescaped because they never need it: the ISO time (digits, "-", ":", ".", "T", "+") and
    `prev`, which is GENESIS or a digest already checked to be the hex the previous row
    hashed to. `at` is naive UTC (as read here) or aware; either gives `chain_hash`'s
    `at.isoformat()` of the aware UTC time the ORM reads. tests/records/test_audit.py holds
    it to `chain_hash` over awkward values.
    """
    stamp = at.isoformat() + "+00:00" if at.tzinfo is None else at.astimezone(timezone.utc).isoformat()
    who = "null" if case_id is None else _escape(case_id)
    body = f'[{seq},"{stamp}",{_escape(actor)},{_escape(action)},{who},{_escape(details)},"{prev}"]'
    return _sha256(body.encode()).hexdigest()


@contextmanager
def _stored_chain(session: Session, batch: int) -> Iterator[Iterator[Sequence[tuple[Any, ...]]]]:
    """The chain's rows in seq order, `batch` at a time, from the driver in the session's transaction.

    PostgreSQL: a named (server-side) cursor, so only one batch is ever in memory, with `at`
    converted to naive UTC by the database. SQLite's cursor already steps through the table;
    `at` is the text SQLAlchemy stored, parsed as its DateTime type does (`fromisoformat`).
    """
    connection = session.connection()
    driver: Any = connection.connection.driver_connection
    postgres = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name="audit_verify") if postgres else driver.cursor()
    at = "at AT TIME ZONE 'UTC'" if postgres else "at"
    try:
        cursor.execute(f"SELECT {_CHAIN_COLUMNS.format(at=at)} FROM audit_events ORDER BY seq")
        yield _batches(cursor, batch, parse_at=not postgres)
    finally:
        cursor.close()


def _batches(cursor: Any, size: int, parse_at: bool) -> Iterator[Sequence[tuple[Any, ...]]]:
    parse = datetime.fromisoformat
    while rows := cursor.fetchmany(size):
        yield [(row[0], parse(row[1]), *row[2:]) for row in rows] if parse_at else rows


def case_events(session: Session, case_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq))
    )


def recent(session: Session, limit: int) -> list[AuditEvent]:
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit))
    return list(reversed(list(rows)))
