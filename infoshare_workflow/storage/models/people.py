"""Pupils, their contacts, and school staff with their roles, as the MIS sends them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from infoshare_workflow.storage.crypto import EncryptedText
from infoshare_workflow.storage.models.base import Base, UTCDateTime, utcnow


class Pupil(Base):
    __tablename__ = "pupils"

    id: Mapped[int] = mapped_column(primary_key=True)
    mis_id: Mapped[str] = mapped_column(String(64), unique=True)
    given_name: Mapped[str] = mapped_column(EncryptedText)
    family_name: Mapped[str] = mapped_column(EncryptedText)
    date_of_birth_text: Mapped[str] = mapped_column("date_of_birth", EncryptedText)
    year_group: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(EncryptedText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The MIS's own time for the event that last set this record: an older event changes nothing.
    mis_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="pupil", cascade="all, delete-orphan", order_by="Contact.id"
    )

    @property
    def date_of_birth(self) -> date:
        return date.fromisoformat(self.date_of_birth_text)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(EncryptedText)
    relationship_to_pupil: Mapped[str | None] = mapped_column("relationship", String(64))
    email: Mapped[str | None] = mapped_column(EncryptedText)
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_language: Mapped[str | None] = mapped_column(String(16))

    pupil: Mapped[Pupil] = relationship(back_populates="contacts")


class Staff(Base):
    __tablename__ = "staff"

    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(EncryptedText)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The MIS's own time for the staff.upserted that last set this record (None: only ever a reporter).
    mis_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list[StaffRole]] = relationship(cascade="all, delete-orphan")

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class StaffRole(Base):
    __tablename__ = "staff_roles"

    staff_id: Mapped[str] = mapped_column(
        ForeignKey("staff.staff_id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class ClosureDate(Base):
    """A day that is not a working day (from `calendar.closures` or the admin)."""

    __tablename__ = "closure_dates"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
