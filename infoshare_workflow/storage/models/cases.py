"""Concerns, the cases they open, their steps, decision records and chronology.

Facts and opinion are separate columns ("clearly distinguishing between fact and opinion",
the Accurate principle). Decision records are immutable: a correction supersedes, never
overwrites (golden rule 7, keep a record).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from infoshare_workflow.storage.crypto import EncryptedJSON, EncryptedText
from infoshare_workflow.storage.models.base import Base, UTCDateTime, utcnow
from infoshare_workflow.storage.models.people import Pupil


class Concern(Base):
    __tablename__ = "concerns"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[str] = mapped_column(String(64), unique=True)
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id"), index=True)  # None once disposed
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    category: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(EncryptedText)
    facts: Mapped[str] = mapped_column(EncryptedText)
    opinion: Mapped[str | None] = mapped_column(EncryptedText)
    reporter_staff_id: Mapped[str] = mapped_column(String(64))

    pupil: Mapped[Pupil | None] = relationship()


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_review_on", "status", "review_on"),)  # the retention sweep's scan

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32), unique=True)
    concern_pk: Mapped[int] = mapped_column("concern_id", ForeignKey("concerns.id"), unique=True)
    dsl_staff_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[str | None] = mapped_column(String(32))
    retention_category: Mapped[str | None] = mapped_column(String(32))
    review_on: Mapped[date | None] = mapped_column(Date)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_hold_reason: Mapped[str | None] = mapped_column(EncryptedText)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    concern: Mapped[Concern] = relationship()
    steps: Mapped[list[Step]] = relationship(back_populates="case", order_by="Step.id")
    disclosures: Mapped[list["Disclosure"]] = relationship(order_by="Disclosure.id")  # noqa: F821
    notices: Mapped[list["Notice"]] = relationship(order_by="Notice.id")  # noqa: F821
    decisions: Mapped[list[DecisionRecord]] = relationship(order_by="DecisionRecord.id")
    chronology: Mapped[list[ChronologyEntry]] = relationship(order_by="ChronologyEntry.id")
    reassignments: Mapped[list[Reassignment]] = relationship(order_by="Reassignment.id")


class Step(Base):
    """One task for one person; `round` counts repeats from the more_information loop."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("case_id", "kind", "round", name="uq_steps_case_kind_round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column("case_id", ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    assignee: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    prefill: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # When the holder of a dead link last had a fresh one sent to the assignee (sharing.resend):
    # kept here, not in memory, so the throttle holds across restarts and concurrent requests.
    link_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship(back_populates="steps")


class Reassignment(Base):
    """The reason an admin gave for moving an open step to someone else, in their own words.

    Free text may name the child or the family, so it is kept here, encrypted and erased with the
    case, never in the audit trail, which is kept for good: the `step.reassigned` event names
    this row instead (golden rule 7: the reasons are recorded; DOMAIN.md "Retention": and erased)."""

    __tablename__ = "reassignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column("case_id", ForeignKey("cases.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(EncryptedText)


class DecisionRecord(Base):
    """A consent record, advice record or share decision; free text encrypted."""

    __tablename__ = "decision_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column("case_id", ForeignKey("cases.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("steps.id"))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("decision_records.id"))


class ChronologyEntry(Base):
    __tablename__ = "chronology"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column("case_id", ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(EncryptedText)
    event_id: Mapped[str | None] = mapped_column(String(255))
