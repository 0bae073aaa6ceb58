"""Manager consultation (golden rule 3: seek advice, without disclosing identity where possible).

The manager's advice is recorded with its rationale. `more_information` sends the manager's
question to the DSL, whose answer goes back to a new consultation round.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.sharing.steps import complete_step, open_step, record_decision
from infoshare_workflow.storage.models import Case, Step


def record_advice(session: Session, case: Case, step: Step, data: dict[str, Any], actor: str) -> None:
    record = record_decision(session, case, step, "consultation", data, actor)
    complete_step(session, step)
    audit.append(session, actor=actor, action="advice.recorded", case_id=case.case_id,
                 details={"decision_id": record.id, "step_id": step.id, "advice": data["advice"]})
    open_step(session, case, "information" if data["advice"] == "more_information" else "share")


def record_information(session: Session, case: Case, step: Step, data: dict[str, Any], actor: str) -> None:
    record = record_decision(session, case, step, "information", data, actor)
    complete_step(session, step)
    audit.append(session, actor=actor, action="information.recorded", case_id=case.case_id,
                 details={"decision_id": record.id, "step_id": step.id})
    open_step(session, case, "consultation")
