"""Reading cases for the admin API and CLI: pages newest first, overdue filters, one case."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, object_session, selectinload

from infoshare_workflow.cases import inbox
from infoshare_workflow.cases.inbox import InboxEntry
from infoshare_workflow.mail.messages import failed_counts
from infoshare_workflow.mail.notices import NOTICE_TEMPLATES
from infoshare_workflow.settings.config import TEMPLATES
from infoshare_workflow.storage import outbox
from infoshare_workflow.storage.models import Case, Concern, Disclosure, Disposal, Notice, Step, utcnow
from infoshare_workflow.vocabulary import NOTICE_KINDS, NOTICE_STATUSES, STEP_KINDS


def overdue_clause(now: datetime) -> Any:
    return exists().where(Step.case_pk == Case.id, Step.status == "open", Step.due_at < now)


def list_cases(
    session: Session, *, status: str | None = None, overdue: bool | None = None,
    limit: int = 50, before_id: int | None = None, now: datetime | None = None,
) -> tuple[list[Case], int | None]:
    """One page newest first, and the row id to continue before (None on the last page)."""
    query = (select(Case).options(selectinload(Case.concern), selectinload(Case.steps))
             .order_by(Case.id.desc()).limit(limit + 1))
    if status is not None:
        query = query.where(Case.status == status)
    if overdue is not None:
        clause = overdue_clause(now or utcnow())
        query = query.where(clause if overdue else ~clause)
    if before_id is not None:
        query = query.where(Case.id < before_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def overdue_steps(session: Session, now: datetime | None = None) -> list[Step]:
    """Open steps past due, oldest first (uses the index on steps.due_at)."""
    return list(session.scalars(
        select(Step).options(selectinload(Step.case))
        .where(Step.status == "open", Step.due_at < (now or utcnow())).order_by(Step.due_at)
    ))


def overdue_counts(session: Session, now: datetime | None = None) -> dict[str, int]:
    rows = session.execute(select(Step.kind, func.count()).where(Step.status == "open", Step.due_at < (now or utcnow()))
                           .group_by(Step.kind))
    return {kind: count for kind, count in rows}


@dataclass(frozen=True)
class Backlog:
    """What waits, read from the database at scrape time (the database is the truth)."""

    overdue_steps: dict[str, int]
    outbox: dict[str, int]
    inbox_unapplied: int
    inbox_parked: int
    inbox_oldest_seconds: float
    failed_emails: dict[str, int]
    notices: dict[tuple[str, str], int]


@cache
def email_templates() -> frozenset[str]:
    """Every built-in email's template name, so each shows in /metrics, at 0 when none failed."""
    builtin = (TEMPLATES / "email").glob("*.subject.txt")
    return frozenset(p.name.removesuffix(".subject.txt") for p in builtin) | NOTICE_TEMPLATES


def notice_counts(session: Session) -> dict[tuple[str, str], int]:
    """Notices by (kind, status), every pair present (0 when none)."""
    rows = session.execute(select(Notice.kind, Notice.status, func.count()).group_by(Notice.kind, Notice.status))
    counts = {(kind, status): 0 for kind in NOTICE_KINDS for status in NOTICE_STATUSES}
    counts.update({(kind, status): count for kind, status, count in rows})
    return counts


def backlog(session: Session, now: datetime | None = None) -> Backlog:
    now = now or utcnow()
    counts, events = overdue_counts(session, now), inbox.backlog(session)
    oldest = events["oldest_waiting_at"]
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC for an aggregate
        oldest = oldest.replace(tzinfo=timezone.utc)
    return Backlog(
        overdue_steps={kind: counts.get(kind, 0) for kind in STEP_KINDS}, outbox=outbox.backlog(session),
        inbox_unapplied=events["unapplied"], inbox_parked=events["parked"],
        inbox_oldest_seconds=max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0,
        failed_emails={**dict.fromkeys(email_templates(), 0), **failed_counts(session)},
        notices=notice_counts(session),
    )


def get_case(session: Session, case_id: str) -> Case | None:
    return session.scalars(
        select(Case)
        .options(selectinload(Case.concern).selectinload(Concern.pupil), selectinload(Case.steps),
                 selectinload(Case.decisions), selectinload(Case.disclosures), selectinload(Case.notices))
        .where(Case.case_id == case_id)
    ).first()


def disclosure_view(disclosure: Disclosure) -> dict[str, Any]:
    return {"id": disclosure.id, "recipient_id": disclosure.recipient_id, "recipient": disclosure.recipient.name,
            "items": disclosure.items, "snapshot_hash": disclosure.snapshot_hash, "created_at": disclosure.created_at,
            "expires_at": disclosure.expires_at, "accessed_at": disclosure.accessed_at,
            "revoked_at": disclosure.revoked_at, "revoked_by": disclosure.revoked_by}


def received_view(entry: InboxEntry) -> dict[str, Any]:
    """A case whose concern is accepted but not applied (yet, or ever: `parked`), for CaseSchema.

    The 202 gave the MIS this case reference, so it is never a 404; what the concern says
    stays in the encrypted inbox until it is applied, and only the failure's class is shown.
    """
    return {
        "case_id": entry.case_id, "concern": {"concern_id": entry.concern_id}, "status": "received",
        "received_at": entry.received_at, "parked": entry.parked, "parked_reason": entry.last_error if entry.parked
        else None, "apply_attempts": entry.attempts, "outcome": None, "urgency": None, "threshold": None,
        "opened_at": None, "closed_at": None, "waiting_on": None, "retention_category": None, "review_on": None,
        "disposal": None,
        "legal_hold": False, "legal_hold_reason": None,
        "steps": [], "reassignments": [],
        "decisions": {"consent": [], "consultation": [], "share": [], "reconsideration": []},
        "disclosures": [], "notices": [],
    }


def waiting_on(case: Case, now: datetime | None = None) -> dict[str, Any] | None:
    """What the case waits on, for a list that shows what waits on whom without opening each case."""
    step = next((s for s in reversed(case.steps) if s.status == "open"), None)
    if step is None:
        return None
    return {"kind": step.kind, "assignee": step.assignee, "due_at": step.due_at,
            "overdue": step.due_at is not None and step.due_at < (now or utcnow())}


def latest_disposal(case: Case) -> Disposal | None:
    session = object_session(case)
    if session is None:
        return None
    return session.scalars(select(Disposal).where(Disposal.case_pk == case.id).order_by(Disposal.id.desc())).first()


def summary_view(case: Case) -> dict[str, Any]:
    """One row of the case list."""
    return {"case_id": case.case_id, "concern": case.concern, "status": case.status, "outcome": case.outcome,
            "urgency": case.urgency, "threshold": case.threshold, "opened_at": case.opened_at,
            "closed_at": case.closed_at, "waiting_on": waiting_on(case)}


def case_view(case: Case, received_at: datetime | None = None) -> dict[str, Any]:
    """The case with its decisions grouped by kind, ready for CaseSchema."""
    decisions: dict[str, list[Any]] = defaultdict(list)
    for record in case.decisions:
        # The DSL's answer to a manager's question belongs to the consultation exchange.
        decisions["consultation" if record.kind == "information" else record.kind].append(record)
    return {
        "case_id": case.case_id, "concern": case.concern, "status": case.status, "outcome": case.outcome,
        "received_at": received_at, "parked": False, "parked_reason": None, "apply_attempts": None,
        "urgency": case.urgency, "threshold": case.threshold, "opened_at": case.opened_at,
        "closed_at": case.closed_at, "waiting_on": waiting_on(case), "retention_category": case.retention_category,
        "disposal": latest_disposal(case),
        "review_on": case.review_on, "legal_hold": case.legal_hold, "legal_hold_reason": case.legal_hold_reason,
        "steps": case.steps,
        "reassignments": case.reassignments,
        "decisions": {k: decisions.get(k, []) for k in ("consent", "consultation", "share", "reconsideration")},
        "disclosures": [disclosure_view(d) for d in case.disclosures],
        "notices": case.notices,
    }
