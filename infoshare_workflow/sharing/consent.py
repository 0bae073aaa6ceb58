"""The consent step's answer (golden rule 4: where possible, share with consent).

Any outcome moves the case on to consultation: a refusal is respected by default, and can
be overridden only at the share step, with a lawful basis other than consent, recorded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from infoshare_workflow.records import audit
from infoshare_workflow.sharing.steps import complete_step, open_step, record_decision
from infoshare_workflow.storage.models import Case, Step


def record_consent(session: Session, case: Case, step: Step, data: dict[str, Any], actor: str) -> None:
    payload = {**data, "sought_at": data["sought_at"].isoformat() if data.get("sought_at") else None}
    record = record_decision(session, case, step, "consent", payload, actor)
    complete_step(session, step)
    audit.append(session, actor=actor, action="consent.recorded", case_id=case.case_id, details={
        "decision_id": record.id, "step_id": step.id, "outcome": data["outcome"], "party": data.get("party"),
        "not_sought_reason": data.get("not_sought_reason"),
    })
    open_step(session, case, "consultation")
