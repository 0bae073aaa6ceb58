"""The idempotency inbox, the audit chain and admin tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from infoshare_workflow.storage.crypto import EncryptedText
from infoshare_workflow.storage.models.base import Base, UTCDateTime, utcnow


class ReceivedEvent(Base):
    """The inbox: one row per accepted MIS message, holding the validated event until a
    worker applies it. The `webhook-id` is the primary key and a `concern.raised` claims
    its `concern_id` (`concern_key`, unique), so a second delivery cannot insert a second
    row, however many arrive at once; the case reference is reserved on acceptance.

    `outcome`: `accepted` (to apply, or applied once `applied_at` is set), `duplicate`,
    `replaced` (a parked concern the MIS sent again, corrected), `stale` (an update older
    than what the record already holds) or `erased` (never applied: emptied when the case or
    pupil it is about was erased, or an update that arrived for a case already disposed of).
    An apply that fails waits `next_attempt_at` (backing off over hours), and after
    MAX_ATTEMPTS is `parked_at`, with the failure's class in `last_error` (never its
    message: it may quote the payload)."""

    __tablename__ = "received_events"
    __table_args__ = (
        Index("ix_received_events_unapplied", "received_at", postgresql_where=text("applied_at IS NULL"),
              sqlite_where=text("applied_at IS NULL")),
    )

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    via: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    concern_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    payload: Mapped[str | None] = mapped_column(EncryptedText)  # the event's JSON text, as received
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(64))


class RejectionTally(Base):
    """Unauthenticated requests refused in one minute, by door and reason: counted here, then
    written to the audit trail as one event per reason per minute, so noise cannot flood the
    hash chain or hold its lock (golden rule 7 keeps the record; the count is the record)."""

    __tablename__ = "rejection_tallies"

    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    via: Mapped[str] = mapped_column(String(8), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(Base):
    """Append-only, hash-chained; `details` is canonical JSON text so the hash recomputes."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(32), index=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AdminToken(Base):
    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
