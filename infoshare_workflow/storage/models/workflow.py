"""Rows that carry work between the database and the workers, and what the share sends out.

The outbox is written in the same transaction as the change that needs the work, so a lost
broker message or a killed worker delays work but never loses it (RELIABILITY.md).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from infoshare_workflow.storage.crypto import EncryptedJSON, EncryptedText
from infoshare_workflow.storage.models.base import Base, UTCDateTime, utcnow


class Recipient(Base):
    """An agency in the directory a share chooses from (golden rule 6: only those who need it)."""

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskLink(Base):
    """One emailed link: names one step and one assignee, expires, answers once."""

    __tablename__ = "task_links"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"), index=True)
    assignee: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A task to publish; `task_id` at the broker is this row's id, so consumers can dedupe."""

    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task: Mapped[str] = mapped_column(String(64))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Email(Base):
    """An email to send exactly once; rendered from its template at send time.

    `context` holds no personal data (step, case reference, due time, link id); the
    address is encrypted. A claim with a lease lets a re-delivered task take over from a
    killed worker without two workers sending.
    """

    __tablename__ = "emails"
    # /metrics counts failed emails at every scrape: a partial index keeps that a read of the few failed rows.
    __table_args__ = (Index("ix_emails_failed", "template", postgresql_where=text("status = 'failed'"),
                            sqlite_where=text("status = 'failed'")),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(String(32), index=True)
    template: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(EncryptedText)
    to_label: Mapped[str] = mapped_column(String(80))
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # given up: see `error`
    error: Mapped[str | None] = mapped_column(String(64))  # the SMTP reply code or the error's class, never its text


class Disclosure(Base):
    """What one recipient was sent: a snapshot of exactly the chosen items, and its hash.

    The link alone shows nothing: each reveal needs a one-time code emailed to the
    recipient's address. The row keeps only the code's random nonce (the code is derived
    from it with the link-signing key, so a copy of the database does not hold it), when it
    was sent and expires, and the wrong tries. A revoked disclosure, or one whose recipient
    is deactivated, is dead (410)."""

    __tablename__ = "disclosures"
    __table_args__ = (UniqueConstraint("decision_id", "recipient_id", name="uq_disclosures_decision_recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column("case_id", ForeignKey("cases.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision_records.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    link_id: Mapped[str] = mapped_column(String(43), unique=True)
    items: Mapped[list[str]] = mapped_column(JSON)
    content: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    snapshot_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_nonce: Mapped[str | None] = mapped_column(String(32))
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))

    recipient: Mapped[Recipient] = relationship()


class Notice(Base):
    """A data-subject notice (golden rule 2, "be open and honest"), one row per addressee.

    `kind` is `privacy` (the school's privacy notice, from a scheduled sweep) or `sharing`
    (after a share without consent). `status`: `queued` (its email is on its way), `sent`,
    `failed` (its email could not be delivered), `no_email` (the addressee has no email
    address: the office tells them another way), `no_contact` (nobody with parental
    responsibility is known), or `suppressed` (a sharing notice the DSL held back, with a
    reason and a `reconsider_on` date; `reconsidered_at` once the DSL has decided again).
    `addressee_key` is a keyed hash of the address, so "once per period" holds for a person
    across contact-list updates without keeping the address twice; `content` (encrypted)
    is what a sharing notice tells the family.
    """

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_addressee", "kind", "addressee_key", "created_at"),
        Index("ix_notices_reconsider", "kind", "status", "reconsider_on"),
        Index("uq_notices_privacy_in_flight", "addressee_key", unique=True,
              postgresql_where=text("kind = 'privacy' AND status = 'queued'"),
              sqlite_where=text("kind = 'privacy' AND status = 'queued'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int | None] = mapped_column("case_id", ForeignKey("cases.id"), index=True)
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id", ondelete="SET NULL", name="fk_notices_pupil_id"),
                                                 index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    addressee: Mapped[str | None] = mapped_column(String(16))  # contact | pupil
    addressee_key: Mapped[str | None] = mapped_column(String(64))
    relationship: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    email_id: Mapped[str | None] = mapped_column(String(36), index=True)
    run_id: Mapped[int | None] = mapped_column(Integer, index=True)
    content: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    reason: Mapped[str | None] = mapped_column(EncryptedText)
    reconsider_on: Mapped[date | None] = mapped_column(Date)
    reconsidered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(64))


class StepTimer(Base):
    """A reminder or escalation point of one step: a row with a due time, not a broker countdown.

    `fired_at` is set in the same transaction as the email it causes, so each point fires
    once whatever restarts or retries happen; the partial index keeps the dispatcher's
    query on pending points only (RELIABILITY.md: timers are rows).
    """

    __tablename__ = "step_timers"
    __table_args__ = (
        UniqueConstraint("step_id", "kind", "seq", name="uq_step_timers_step_kind_seq"),
        Index("ix_step_timers_pending_due", "due_at", postgresql_where=text("fired_at IS NULL"),
              sqlite_where=text("fired_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    kind: Mapped[str] = mapped_column(String(16))  # reminder | escalation
    seq: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # sent | cancelled
