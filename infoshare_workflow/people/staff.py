"""Staff and their roles as the MIS sends them, and who a step goes to.

Roles decide who receives a child's record (golden rule 6), so a member of staff changes
only through a signed `staff.upserted`, in the MIS's own order (people.mis_order). Routing
is round-robin over the active people in a role unless the concern names one (DOMAIN.md
"Who").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from infoshare_workflow.people.mis_order import newer_than_stored
from infoshare_workflow.storage.db import insert
from infoshare_workflow.storage.models import Staff, StaffRole, utcnow


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
        where=newer_than_stored(table, stmt),
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


def _active_in(role: str) -> Any:
    return (select(Staff).join(StaffRole, StaffRole.staff_id == Staff.staff_id)
            .where(StaffRole.role == role, Staff.active.is_(True)))


def active_ids(session: Session, role: str) -> list[str]:
    """The staff ids active in a role, without loading (and decrypting) each person."""
    return list(session.scalars(select(Staff.staff_id).join(StaffRole, StaffRole.staff_id == Staff.staff_id)
                                .where(StaffRole.role == role, Staff.active.is_(True)).order_by(Staff.staff_id)))


def active_with_role(session: Session, role: str) -> list[Staff]:
    return list(session.scalars(_active_in(role).order_by(Staff.staff_id)))


def route_to(session: Session, role: str, named: str | None = None, excluding: str | None = None) -> str | None:
    """The named person if active in that role, else round-robin over the role (DOMAIN.md "Who"),
    never `excluding` (a disposal's second approver is never its proposer)."""
    candidates = _active_in(role)
    if excluding is not None:
        candidates = candidates.where(Staff.staff_id != excluding)
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
