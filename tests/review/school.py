"""A school with closed cases whose review date has come, for the retention review tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from infoshare_workflow.storage.models import Case, utcnow

from .. import factories
from ..conftest import apply_accepted

DSL, DSL2, MANAGER, MANAGER2 = "S-02", "S-03", "S-09", "S-10"


def staff(mis: Any) -> None:
    for staff_id, roles in ((DSL, ["dsl"]), (DSL2, ["dsl"]), (MANAGER, ["manager"]), (MANAGER2, ["manager"])):
        assert mis.post(factories.staff_upserted(staff_id, roles)).status_code == 202


def due_cases(mis: Any, runtime: Any, n: int, *, dsl: str = DSL, prefix: str = "C-due", category: str = "early_help",
              pupil: str | None = None, **concern: Any) -> list[str]:
    """`n` closed cases of `dsl`, each with its own pupil unless `pupil` is given, due for review yesterday."""
    case_ids = []
    for i in range(n):
        mis_id = pupil or f"P-{prefix}-{i}"
        event = factories.concern_raised(f"{prefix}-{i}", assigned_dsl=dsl, **concern)
        event["data"]["pupil"]["mis_id"] = mis_id
        case_ids.append(mis.post(event).get_json()["case_id"])
    apply_accepted(runtime)
    yesterday = date.today() - timedelta(days=1)
    with runtime.transaction() as session:
        session.execute(update(Case).where(Case.case_id.in_(case_ids)).values(
            status="closed", outcome="not_shared", closed_at=utcnow() - timedelta(days=400),
            retention_category=category, review_on=yesterday, dsl_staff_id=dsl))
    return case_ids


def case_row(runtime: Any, case_id: str) -> Case:
    with runtime.transaction() as session:
        found = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        session.expunge(found)
        return found


class Report:
    """The run's report, as the schedules runner would keep it."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, session: Any, kind: str, row: dict[str, Any]) -> None:
        self.rows.append((kind, row))


def no_progress(done: int, total: int) -> None:
    """A sweep run without a terminal to show progress on."""
