"""The `privacy_notices` job: the school's privacy notice to each pupil's family, once a period.

Schools must tell "pupils/students and their families … how they store & use all their
information" (the guidance, "Information sharing"). A run walks every pupil in keyset
batches (constant memory, progress after each batch) and emails each contact with parental
responsibility (and, from `notices.pupil_notice_min_age`, the pupil, when they have an
address) the privacy notice, unless that address was sent one, or is on its way, within
`notices.privacy_period`. "Once a period" is per address (a keyed hash of it), not per
contact row, since the MIS replaces a pupil's contacts with every update, and a parent of
two pupils reads one notice. Each notice row is written with its email in the batch's
transaction and sent through the outbox, the email's claim making the sending happen once;
a run killed halfway leaves the batches it committed, and the next run (or the same one
taken over) skips what they queued. A contact with no email address is recorded as
`no_email` (once a period too) and listed in the run's report for the office to reach
another way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from infoshare_workflow.mail.notices import addressee_key, queue_notice, record_unreachable
from infoshare_workflow.records import audit
from infoshare_workflow.settings.policy import policy_of
from infoshare_workflow.storage.models import Contact, Notice, Pupil, utcnow
from infoshare_workflow.storage.runtime import Runtime
from infoshare_workflow.timeliness.calendar import calendar_for
from infoshare_workflow.vocabulary import NO_EMAIL_REPORT

Progress = Callable[[int, int], None]
Reporter = Callable[[Session, str, dict[str, Any]], None]
BATCH = 200
COUNTED = ("queued", "sent", "no_email")  # a failed notice is tried again on the next run


@dataclass(frozen=True)
class Addressee:
    """Someone a pupil's privacy notice goes to."""

    pupil: Pupil
    kind: str  # contact | pupil
    key: str
    address: str | None
    language: str | None = None
    contact: Contact | None = None


def privacy_notices(runtime: Runtime, run_id: int, progress: Progress, report: Reporter,
                    now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    with runtime.transaction() as session:
        total = session.scalar(select(func.count()).select_from(Pupil)) or 0
    progress(0, total)
    counts = {"pupils": 0, "queued": 0, "already_sent": 0, "no_email": 0, "pupils_without_addressee": 0}
    after = done = 0
    while True:
        with runtime.transaction() as session:
            query = (select(Pupil).where(Pupil.id > after).order_by(Pupil.id).limit(BATCH)
                     .options(selectinload(Pupil.contacts)))
            if session.get_bind().dialect.name == "postgresql":
                # Waiting, not skipping: a pupil held for a moment (an MIS update being applied, an
                # erasure, another run's batch) is done once free, or is gone if erased. Skipped,
                # their family would miss this run's notice.
                query = query.with_for_update(of=Pupil)
            pupils = session.scalars(query).all()
            if not pupils:
                break
            _send_batch(session, pupils, run_id, report, counts, now)
            after, done = pupils[-1].id, done + len(pupils)
        progress(min(done, total), total)
    return counts


def _send_batch(session: Session, pupils: Iterable[Pupil], run_id: int, report: Reporter,
                counts: dict[str, int], now: datetime) -> None:
    addressees = [a for pupil in pupils for a in _addressees_of(session, pupil, now.date(), counts)]
    recent = _recently_noticed(session, {a.key for a in addressees}, now)
    for one in addressees:
        if one.key in recent:
            counts["already_sent"] += 1
            continue
        recent.add(one.key)  # a parent of two pupils in this batch reads one notice
        if one.address is None:
            _no_email(session, one, run_id, report)
            counts["no_email"] += 1
        elif _queue(session, one, run_id):
            counts["queued"] += 1
        else:
            counts["already_sent"] += 1


def _addressees_of(session: Session, pupil: Pupil, today: date, counts: dict[str, int]) -> list[Addressee]:
    counts["pupils"] += 1
    found = []
    for contact in pupil.contacts:
        if not contact.parental_responsibility:
            continue
        if contact.email:
            found.append(Addressee(pupil, "contact", addressee_key(session, contact.email), contact.email,
                                   contact.preferred_language, contact))
        else:  # keyed by the pupil and the name: the same person, listed once a period
            key = addressee_key(session, f"no-email:{pupil.id}:{contact.name}")
            found.append(Addressee(pupil, "contact", key, None, contact.preferred_language, contact))
    min_age = policy_of(session).pupil_notice_min_age
    if min_age and pupil.email and _age(pupil.date_of_birth, today) >= min_age:
        found.append(Addressee(pupil, "pupil", addressee_key(session, pupil.email), pupil.email))
    if not found:
        counts["pupils_without_addressee"] += 1
    return found


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _recently_noticed(session: Session, keys: set[str], now: datetime) -> set[str]:
    """Of these addressees, those sent (or sending, or listed without email) a privacy notice
    within the privacy period, counted forward from each notice on the school calendar."""
    if not keys:
        return set()
    period, calendar = policy_of(session).privacy_period, calendar_for(session)
    latest = session.execute(select(Notice.addressee_key, func.max(Notice.created_at)).where(
        Notice.kind == "privacy", Notice.addressee_key.in_(keys), Notice.status.in_(COUNTED))
        .group_by(Notice.addressee_key)).all()
    return {key for key, at in latest if calendar.add(_aware(at), period) > now}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _queue(session: Session, one: Addressee, run_id: int) -> bool:
    """Queue the notice unless another run has one on its way to this address (the unique
    in-flight index is the backstop behind the row locks)."""
    assert one.address is not None
    try:
        with session.begin_nested():
            notice = queue_notice(session, kind="privacy", address=one.address, addressee=one.kind,
                                  language=one.language, pupil_id=one.pupil.id,
                                  relationship=one.contact.relationship_to_pupil if one.contact else None,
                                  run_id=run_id, decided_by=f"run:{run_id}")
    except IntegrityError:
        return False
    audit.append(session, actor=f"run:{run_id}", action="notice.queued",
                 details={"notice_id": notice.id, "kind": "privacy", "addressee": one.kind, "run_id": run_id})
    return True


def _no_email(session: Session, one: Addressee, run_id: int, report: Reporter) -> None:
    contact = one.contact
    assert contact is not None
    notice = record_unreachable(session, kind="privacy", status="no_email", pupil_id=one.pupil.id,
                                addressee="contact", key=one.key, relationship=contact.relationship_to_pupil,
                                run_id=run_id, decided_by=f"run:{run_id}")
    audit.append(session, actor=f"run:{run_id}", action="notice.no_email",
                 details={"notice_id": notice.id, "kind": "privacy", "run_id": run_id})
    # The office needs to know whom to reach: the report is encrypted at rest and its reads audited.
    report(session, NO_EMAIL_REPORT, {"pupil": one.pupil.mis_id, "year_group": one.pupil.year_group,
                                      "contact": contact.name, "relationship": contact.relationship_to_pupil})


def run_summary(session: Session, run_id: int) -> dict[str, int]:
    """How the run's notices have fared since: delivered, still on their way, failed."""
    rows = session.execute(select(Notice.status, func.count()).where(
        Notice.run_id == run_id, Notice.kind == "privacy").group_by(Notice.status)).all()
    by_status = {status: count for status, count in rows}
    return {"delivered": by_status.get("sent", 0), "waiting": by_status.get("queued", 0),
            "failed": by_status.get("failed", 0)}
