"""Pupils and their contacts, kept in step with the MIS's `pupil.updated` and concerns.

Upserts use the database's ON CONFLICT, so concurrent deliveries about the same pupil
converge on one row instead of racing a check-then-insert; an older event changes nothing
(people.mis_order). A pupil's contacts are replaced as a whole, as the MIS sends them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from infoshare_workflow.people.mis_order import newer_than_stored
from infoshare_workflow.storage.db import insert
from infoshare_workflow.storage.models import Contact, Pupil, utcnow


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
        where=newer_than_stored(table, stmt),
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
