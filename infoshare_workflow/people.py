"""Keeping pupils, contacts, staff and closures in step with the MIS.

Upserts use the database's ON CONFLICT so concurrent deliveries about the same pupil or
member of staff converge on one row instead of racing a check-then-insert. Each record
keeps the MIS time (`mis_updated_at`) of the event that last set it, and the upsert's
WHERE lets only an event at least as new change it: a late retry of an older
`staff.upserted` (a DSL, active) can never undo a newer one (inactive), whatever order the
deliveries arrive in (the Accurate principle: up to date).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from .db import insert
from .models import ClosureDate, Contact, Pupil, Staff, StaffRole, utcnow


def _newer(table: Any, stmt: Any) -> Any:
    """The upsert's condition: the incoming event is at least as new as what the row holds."""
    return or_(table.c.mis_updated_at.is_(None), table.c.mis_updated_at <= stmt.excluded.mis_updated_at)


def upsert_pupil(session: Session, pupil: dict[str, Any], at: datetime) -> tuple[int, bool]:
    """Insert or refresh a pupil and replace their contacts, unless the record is newer than `at`.

    Returns the pupil's row id and whether this event changed the record.
    """
    values = {
        "mis_id": pupil["mis_id"],
        "given_name": pupil["given_name"],
        "family_name": pupil["family_name"],
        "date_of_birth_text": pupil["date_of_birth"].isoformat(),
        "year_group": pupil.get("year_group"),
        "email": pupil.get("email"),
        "updated_at": utcnow(),
        "mis_updated_at": at,
    }
    table = Pupil.__table__
    columns = {Pupil.__mapper__.attrs[k].columns[0].name: v for k, v in values.items()}
    stmt = insert(session, table).values(**columns)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.mis_id],
        set_={name: stmt.excluded[name] for name in columns if name != "mis_id"},
        where=_newer(table, stmt),
    ).returning(table.c.id)
    written = session.execute(stmt).scalar_one_or_none()
    if written is None:  # an older event: the record stays as the newer one left it
        return session.scalars(select(Pupil.id).where(Pupil.mis_id == pupil["mis_id"])).one(), False
    session.execute(delete(Contact).where(Contact.pupil_id == written))
    session.add_all(
        Contact(
            pupil_id=written,
            name=c["name"],
            relationship_to_pupil=c.get("relationship"),
            email=c.get("email"),
            parental_responsibility=c.get("parental_responsibility", False),
            preferred_language=c.get("preferred_language"),
        )
        for c in pupil.get("contacts", [])
    )
    session.flush()
    return written, True


def ensure_reporter(session: Session, reporter: dict[str, Any]) -> None:
    """Know the reporting member of staff without overwriting what staff.upserted said."""
    stmt = insert(session, Staff.__table__).values(
        staff_id=reporter["staff_id"], name=reporter.get("name"), email=reporter.get("email"), active=True
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["staff_id"]))


def upsert_staff(session: Session, data: dict[str, Any], at: datetime) -> bool:
    """Insert or refresh a member of staff and their roles, unless the record is newer than `at`.

    Returns whether this event changed the record.
    """
    table = Staff.__table__
    stmt = insert(session, table).values(
        staff_id=data["staff_id"], name=data.get("name"), email=data.get("email"), active=data["active"],
        mis_updated_at=at,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.staff_id],
        set_={"name": stmt.excluded.name, "email": stmt.excluded.email, "active": stmt.excluded.active,
              "mis_updated_at": stmt.excluded.mis_updated_at},
        where=_newer(table, stmt),
    ).returning(table.c.staff_id)
    if session.execute(stmt).scalar_one_or_none() is None:
        return False
    session.execute(delete(StaffRole).where(StaffRole.staff_id == data["staff_id"]))
    session.add_all(StaffRole(staff_id=data["staff_id"], role=r) for r in sorted(set(data["roles"])))
    session.flush()
    return True


def roles_held(session: Session, staff_id: str) -> set[str]:
    """The roles someone holds while active (none when inactive or unknown)."""
    return set(session.scalars(select(StaffRole.role).join(Staff, Staff.staff_id == StaffRole.staff_id)
                               .where(Staff.staff_id == staff_id, Staff.active.is_(True))))


def record_closures(session: Session, days: list[date], source: str) -> int:
    """Add closure days; days already known are left as they are. Returns how many were new."""
    stmt = insert(session, ClosureDate.__table__).values([{"day": d, "source": source} for d in sorted(set(days))])
    result = session.execute(stmt.on_conflict_do_nothing(index_elements=["day"]).returning(ClosureDate.day))
    session.info.pop("school_calendar", None)  # due dates from here on see the new closures
    return len(result.all())


def _active_in(role: str) -> Any:
    return (select(Staff).join(StaffRole, StaffRole.staff_id == Staff.staff_id)
            .where(StaffRole.role == role, Staff.active.is_(True)))


def active_with_role(session: Session, role: str) -> list[Staff]:
    return list(session.scalars(_active_in(role).order_by(Staff.staff_id)))


def route_to(session: Session, role: str, named: str | None = None) -> str | None:
    """The named person if active in that role, else round-robin over the role (DOMAIN.md "Who")."""
    candidates = _active_in(role)
    if named is not None:
        chosen = session.scalars(candidates.where(Staff.staff_id == named)).first()
        if chosen is not None:
            return chosen.staff_id
    chosen = session.scalars(
        candidates.order_by(Staff.last_assigned_at.asc().nulls_first(), Staff.staff_id).limit(1)
    ).first()
    if chosen is None:
        return None
    session.execute(update(Staff).where(Staff.staff_id == chosen.staff_id).values(last_assigned_at=utcnow()))
    return chosen.staff_id
