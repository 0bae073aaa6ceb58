"""Retention reviews: the DSL's review lists, a manager's approval lists, the links that open
them, and each disposal from proposal to tombstone ("always review retained information
regularly and do not keep longer than necessary").

A disposal row outlives the data it erased: with the case row (reference, category, dates)
it is the tombstone that proves the record existed and was disposed of properly, by whom
and why. Free text (reasons) is encrypted like every other free text.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from infoshare_workflow.storage.crypto import EncryptedText
from infoshare_workflow.storage.models.base import Base, UTCDateTime, utcnow
from infoshare_workflow.storage.models.cases import Case


class ReviewList(Base):
    """One person's list: cases to review (`review`), proposals to approve (`approval`), or
    approved disposals waiting to be erased, which they may still stop (`pending`)."""

    __tablename__ = "review_lists"
    # One open list of a kind per person: a second sweep, or a second batch, finds it again.
    __table_args__ = (Index("uq_review_lists_open", "kind", "assignee", unique=True,
                            postgresql_where=text("completed_at IS NULL"), sqlite_where=text("completed_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the schedule run (or batch) it came from
    assignee: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # the next reminder, a timer row
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[ReviewItem]] = relationship(back_populates="review_list", order_by="ReviewItem.id")


class ReviewItem(Base):
    """An answer given on a list for one case; on an approval or pending list, also a case
    put on it and not answered yet (decision none). A review list's cases are a query."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("list_id", "case_id", name="uq_review_items_list_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("review_lists.id"))  # indexed by the unique pair
    case_pk: Mapped[int] = mapped_column("case_id", ForeignKey("cases.id"), index=True)
    decision: Mapped[str | None] = mapped_column(String(16))  # retain/dispose, approve/reject, cancel
    reason: Mapped[str | None] = mapped_column(EncryptedText)
    review_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    review_list: Mapped[ReviewList] = relationship(back_populates="items")
    case: Mapped[Case] = relationship()


class ReviewLink(Base):
    """An emailed link to a list (`/tasks/{token}`, as task links are): it names the list and
    its assignee, expires, and dies when the list is done. A list is answered in parts, so a
    link works until then, not once."""

    __tablename__ = "review_links"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("review_lists.id"), index=True)
    assignee: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Disposal(Base):
    """A case's disposal: proposed, approved (then waiting), cancelled, rejected or done."""

    __tablename__ = "disposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_pk: Mapped[int] = mapped_column("case_id", ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # proposed, pending, cancelled, rejected, done
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    proposal_reason: Mapped[str | None] = mapped_column(EncryptedText)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_reason: Mapped[str | None] = mapped_column(EncryptedText)
    erase_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # when the wait ends
    ended_by: Mapped[str | None] = mapped_column(String(64))  # who cancelled or rejected it
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(EncryptedText)
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(Integer)  # the run that erased it

    case: Mapped[Case] = relationship()
