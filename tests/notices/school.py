"""Pupils and their families, written as the MIS would have them, for the notice tests."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from infoshare_workflow.people.pupils import upsert_pupil

from .. import factories

MIS_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)


def parent(n: int, *, email: bool = True, responsible: bool = True, language: str | None = "en") -> dict[str, Any]:
    return {"name": f"Parent {n}", "relationship": "mother", "email": f"parent{n}@example.org" if email else None,
            "parental_responsibility": responsible, "preferred_language": language}


def add_pupils(runtime: Any, count: int, *, start: int = 0, born: date = date(2015, 9, 1),
               contacts: Any = None, email: str | None = None) -> list[str]:
    """`count` pupils, each with one parent of their own unless `contacts(n)` says otherwise."""
    ids = []
    with runtime.transaction() as session:
        for n in range(start, start + count):
            data = factories.pupil(mis_id=f"P-{n:05d}", date_of_birth=born,
                                   email=email.format(n=n) if email else None)
            data["contacts"] = contacts(n) if contacts else [parent(n)]
            upsert_pupil(session, data, MIS_TIME)
            ids.append(data["mis_id"])
    return ids
