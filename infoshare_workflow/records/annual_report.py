"""The annual figures: what a school's information sharing came to over one school year.

Why: governing bodies supply the safeguarding partnership's annual audit (the guidance: "the
SCSP Safeguarding Annual Audit"), and golden rule 7 keeps a record of every decision, to share
or not, so the figures can be counted rather than remembered. They are counts only, never a
name, a case reference or any free text, so the report can leave the DSL's hands.

A school year runs from 1 September to 31 August on the school's own clock ("2025-26"). Each
figure counts what happened within the year: concerns by when their case opened, decisions
by when they were recorded, steps by when they were completed, disclosures and notices by
when they were made. Every value of the vocabulary is listed, with 0 where nothing happened,
so that one year reads beside another. Disposal erases a case's free text but keeps these
rows (the choices made, the dates), so a year's figures do not change when its cases are
erased later.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from infoshare_workflow.records import audit
from infoshare_workflow.schemas.reports import YEAR_PATTERN
from infoshare_workflow.storage.models import (
    Case,
    Concern,
    DecisionRecord,
    Disclosure,
    Disposal,
    Notice,
    Recipient,
    ReviewItem,
    ReviewList,
    Step,
    utcnow,
)
from infoshare_workflow.vocabulary import (
    ADVICE,
    CATEGORIES,
    CONSENT_OUTCOMES,
    LAWFUL_BASES,
    NOT_SOUGHT_REASONS,
    NOTICE_STATUSES,
    RECIPIENT_KINDS,
    SHARE_DECISIONS,
    THRESHOLDS,
    URGENCIES,
)

_YEAR = re.compile(YEAR_PATTERN)
FIRST_MONTH = 9  # a school year starts on 1 September
FIRST_YEAR, LAST_YEAR = 1900, 2098
DECIDING_STEPS = ("consent", "consultation", "share")  # the steps of DOMAIN.md's workflow with a due time
NOT_SET = "not_set"

Figures = dict[str, dict[str, int | float | None]]


class InvalidYear(ValueError):
    """Not a school year such as 2025-26."""


@dataclass(frozen=True)
class SchoolYear:
    label: str  # "2025-26"
    first_day: date  # 1 September
    last_day: date  # 31 August

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The year as UTC instants: from its first midnight to the first midnight after it."""
        start = datetime.combine(self.first_day, time(), zone)
        end = datetime.combine(date(self.last_day.year, FIRST_MONTH, 1), time(), zone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def school_year(label: str) -> SchoolYear:
    """The school year `label` names ("2025-26"); InvalidYear if it names none."""
    if not isinstance(label, str) or not _YEAR.fullmatch(label):
        raise InvalidYear("Give a school year such as 2025-26.")
    first, second = int(label[:4]), int(label[5:])
    if not FIRST_YEAR <= first <= LAST_YEAR:  # the dates a record can hold (schemas.fields)
        raise InvalidYear(f"Give a school year from {FIRST_YEAR}-{(FIRST_YEAR + 1) % 100:02d} "
                          f"to {LAST_YEAR}-{(LAST_YEAR + 1) % 100:02d}.")
    if second != (first + 1) % 100:
        raise InvalidYear(f"A school year runs over two years in a row: {first}-{(first + 1) % 100:02d}.")
    return _from(first)


def requested_year(label: str | None, zone: ZoneInfo) -> SchoolYear:
    """The school year a reader asked for, or the current one on the school's clock."""
    return school_year_of(utcnow().astimezone(zone).date()) if label is None else school_year(label)


def school_year_of(day: date) -> SchoolYear:
    """The school year `day` falls in (August belongs to the year that began the September before)."""
    return _from(day.year if day.month >= FIRST_MONTH else day.year - 1)


def _from(first: int) -> SchoolYear:
    return SchoolYear(f"{first}-{(first + 1) % 100:02d}", date(first, FIRST_MONTH, 1), date(first + 1, 8, 31))


def annual_report(session: Session, year: SchoolYear, zone: ZoneInfo, *, actor: str, form: str) -> dict[str, Any]:
    """The report as shown: the year, its first and last days, the clock it was counted on, and
    the figures. The read is audited (golden rule 7), as reading a run's report is."""
    figures = annual_figures(session, year, zone)
    audit.append(session, actor=actor, action="report.annual_read", details={"year": year.label, "format": form})
    return {"year": year.label, "first_day": year.first_day, "last_day": year.last_day, "timezone": zone.key,
            "generated_at": utcnow(), "figures": figures}


def annual_figures(session: Session, year: SchoolYear, zone: ZoneInfo) -> Figures:
    """Every section of the report for `year`, each a mapping of figure to value."""
    start, end = year.bounds(zone)
    figures: Figures = {}
    figures.update(_concerns(session, start, end))
    decisions = _current_decisions(session, start, end)
    figures.update(_decisions(decisions))
    figures["timeliness"] = _timeliness(session, start, end, decisions["share"])
    figures.update(_disclosures(session, start, end))
    figures.update(_notices(session, start, end))
    figures["retention"] = _retention(session, start, end)
    return figures


def _within(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def _counted(values: Iterable[str | None], vocabulary: Iterable[str], none: str | None = None) -> dict[str, int]:
    """A count for every value of `vocabulary` (0 where none), and for `none` if given."""
    tally = Counter(none if value is None else value for value in values)
    keys = [*vocabulary, *([none] if none is not None else [])]
    return {key: tally.get(key, 0) for key in keys}


def _concerns(session: Session, start: datetime, end: datetime) -> Figures:
    rows = session.execute(select(Case.urgency, Case.threshold, Concern.category)
                           .join(Concern, Concern.id == Case.concern_pk)
                           .where(_within(Case.opened_at, start, end))).all()
    return {
        "concerns": {"received": len(rows)},
        "concerns_by_urgency": _counted((r.urgency for r in rows), URGENCIES),
        "concerns_by_category": _counted((r.category for r in rows), CATEGORIES),
        "concerns_by_threshold": _counted((r.threshold for r in rows), THRESHOLDS, none=NOT_SET),
    }


def _current_decisions(session: Session, start: datetime, end: datetime) -> dict[str, list[DecisionRecord]]:
    """The year's consent, consultation and share records that no later record replaced."""
    later = aliased(DecisionRecord)
    replaced = select(later.id).where(later.supersedes_id == DecisionRecord.id).exists()
    records = session.scalars(select(DecisionRecord).where(
        _within(DecisionRecord.recorded_at, start, end), DecisionRecord.kind.in_(DECIDING_STEPS), ~replaced,
    ).order_by(DecisionRecord.id)).all()
    grouped: dict[str, list[DecisionRecord]] = {kind: [] for kind in DECIDING_STEPS}
    for record in records:
        grouped[record.kind].append(record)
    return grouped


def _decisions(decisions: dict[str, list[DecisionRecord]]) -> Figures:
    consent = [r.payload for r in decisions["consent"]]
    shares = [r.payload for r in decisions["share"]]
    return {
        # Golden rule 4: share with consent where possible, and say why it was not sought.
        "consent": _counted((p.get("outcome") for p in consent), CONSENT_OUTCOMES),
        "consent_not_sought_reasons": _counted((p.get("not_sought_reason") for p in consent
                                                if p.get("outcome") == "not_sought"), NOT_SOUGHT_REASONS),
        # Golden rule 3: advice sought before deciding.
        "consultation_advice": _counted((r.payload.get("advice") for r in decisions["consultation"]), ADVICE),
        # Golden rule 7: decisions not to share are counted beside decisions to share.
        "share_decisions": _counted((p.get("decision") for p in shares), SHARE_DECISIONS),
        "share_lawful_basis": _counted((p.get("lawful_basis") for p in shares if p.get("decision") == "share"),
                                       LAWFUL_BASES),
    }


def _timeliness(session: Session, start: datetime, end: datetime, shares: list[DecisionRecord]) -> dict[str, Any]:
    """Golden rule 6, "timely": steps done by their due time, and how long a decision to share or not took."""
    steps = session.execute(select(Step.due_at, Step.completed_at, Step.reminders_sent, Step.escalated).where(
        Step.kind.in_(DECIDING_STEPS), Step.status == "done", _within(Step.completed_at, start, end))).all()
    late = sum(1 for s in steps if s.due_at is not None and s.completed_at > s.due_at)
    opened = {pk: at for pk, at in session.execute(select(Case.id, Case.opened_at).where(
        Case.id.in_({r.case_pk for r in shares})))} if shares else {}
    hours = [(r.recorded_at - opened[r.case_pk]).total_seconds() / 3600 for r in shares if r.case_pk in opened]
    return {"steps_completed": len(steps), "on_time": len(steps) - late, "late": late,
            "reminders_sent": sum(s.reminders_sent for s in steps), "escalated": sum(1 for s in steps if s.escalated),
            "median_hours_to_share_decision": round(median(hours), 1) if hours else None}


def _disclosures(session: Session, start: datetime, end: datetime) -> Figures:
    rows = session.execute(select(Recipient.kind, Disclosure.accessed_at, Disclosure.revoked_at)
                           .join(Recipient, Recipient.id == Disclosure.recipient_id)
                           .where(_within(Disclosure.created_at, start, end))).all()
    return {
        "disclosures": {"made": len(rows), "opened": sum(1 for r in rows if r.accessed_at is not None),
                        "revoked": sum(1 for r in rows if r.revoked_at is not None)},
        "disclosures_by_recipient_kind": _counted((r.kind for r in rows), RECIPIENT_KINDS),
    }


def _notices(session: Session, start: datetime, end: datetime) -> Figures:
    """Golden rule 2, "be open and honest": families told of a share, and privacy notices sent."""
    rows = session.execute(select(Notice.kind, Notice.status).where(_within(Notice.created_at, start, end))).all()
    return {
        "families_told_of_a_share": _counted((r.status for r in rows if r.kind == "sharing"), NOTICE_STATUSES),
        "privacy_notices": _counted((r.status for r in rows if r.kind == "privacy"), NOTICE_STATUSES),
    }


def _retention(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """"Review retained information regularly": cases reviewed, and erased, in the year."""
    reviewed = Counter(session.scalars(select(ReviewItem.decision).join(ReviewList, ReviewList.id == ReviewItem.list_id)
                                       .where(ReviewList.kind == "review", _within(ReviewItem.decided_at, start, end))))
    erased = session.scalar(select(func.count()).select_from(Disposal).where(
        Disposal.status == "done", _within(Disposal.disposed_at, start, end))) or 0
    return {"reviewed": sum(reviewed.values()), "retained": reviewed.get("retain", 0),
            "proposed_for_disposal": reviewed.get("dispose", 0), "erased": erased}


def csv_text(figures: Figures) -> str:
    """The figures as CSV, one row per figure in report order: section, figure, value (empty for none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "figure", "value"])
    writer.writerows((section, name, "" if value is None else value)
                     for section, values in figures.items() for name, value in values.items())
    return buffer.getvalue()
