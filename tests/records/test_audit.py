"""The audit chain: every outcome is recorded, and any altered or removed row is found."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select, text, update

from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import AuditEvent

from .. import factories
from ..cli.test_main import run


def test_accepted_duplicate_and_rejected_events_are_all_audited(mis, runtime):
    event = factories.concern_raised()
    mis.post(event, msg_id="msg_1")
    mis.post(event, msg_id="msg_1")
    mis.post(factories.envelope("concern.raised", {}))

    with runtime.transaction() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert [a for a in actions if a.startswith(("event.", "case."))] == [
        "case.opened", "event.accepted", "event.duplicate", "event.rejected"]


def test_a_rejection_is_recorded_by_reason_and_field_without_the_payload(mis, runtime):
    mis.post(factories.concern_raised(urgency="whenever"))
    with runtime.transaction() as session:
        rejected = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.rejected")).one()
    details = json.loads(rejected.details)
    assert details["reason"] == "schema" and "urgency" in details["errors"]["data"]
    assert factories.CONCERN_FACTS not in rejected.details and factories.PUPIL_GIVEN not in rejected.details


def test_an_untouched_chain_verifies(mis, runtime):
    for n in range(3):
        mis.post(factories.concern_raised(f"C-{n}"))
    with runtime.transaction() as session:
        result = audit.verify(session)
        rows = session.scalar(select(func.count()).select_from(AuditEvent))
    assert result.ok and result.events == rows >= 9 and result.first_bad is None


def test_an_altered_row_is_named_as_the_first_bad_event(mis, runtime):
    for n in range(3):
        mis.post(factories.concern_raised(f"C-{n}"))
    with runtime.transaction() as session:
        session.execute(text("UPDATE audit_events SET details = :d WHERE seq = 5"), {"d": '{"forged":true}'})

    with runtime.transaction() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad == 5


def test_an_altered_row_with_a_recomputed_hash_breaks_the_next_link(mis, runtime):
    for n in range(2):
        mis.post(factories.concern_raised(f"C-{n}"))
    with runtime.transaction() as session:
        row = session.get(AuditEvent, 2)
        forged = audit.chain_hash(row.seq, row.at, "someone-else", row.action, row.case_id, row.details, row.prev_hash)
        session.execute(text("UPDATE audit_events SET actor = 'someone-else', hash = :h WHERE seq = 2"), {"h": forged})

    with runtime.transaction() as session:
        assert audit.verify(session).first_bad == 3


def test_a_removed_row_is_found_where_the_chain_breaks(mis, runtime):
    for n in range(3):
        mis.post(factories.concern_raised(f"C-{n}"))
    with runtime.transaction() as session:
        session.execute(text("DELETE FROM audit_events WHERE seq = 4"))

    with runtime.transaction() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad == 5


def test_the_api_reports_a_tampered_chain(mis, runtime, api):
    mis.post(factories.concern_raised())
    assert api.get("/api/v1/audit/verify").get_json()["ok"] is True
    with runtime.transaction() as session:
        session.execute(text("UPDATE audit_events SET action = 'nothing.happened' WHERE seq = 1"))

    body = api.get("/api/v1/audit/verify").get_json()
    assert body["ok"] is False and body["first_bad"] == 1


# --- verifying fast: the same digests, found faults, progress -------------------------------------

UTC = timezone.utc
AWKWARD = [  # (at, actor, action, case_id, details): what JSON escaping and ISO times make hard
    (datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), "mis", "event.accepted", None, {"note": 'a "quote" and a \\'}),
    (datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=UTC), "staff:S-01", "case.opened", "IS-2026-0001",
     {"text": "café ☕ 😀 \u2028 \t\n", "nested": {"b": [1, None, True], "a": "é"}}),
    (datetime(2026, 10, 25, 1, 59, 59, 999999, tzinfo=UTC), 'ad"m\\in', "step.ünïcode", "IS-\u00e9\\\"", {}),
    (datetime(2026, 10, 25, 2, 0, 0, 500000, tzinfo=UTC), "system", "email.queued", "IS-2026-0002",
     {"ü": "\u0000\u001f\u007f"}),
    (datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), "system", "retention.reviewed", None, {"ids": list(range(5))}),
]


def _awkward_chain(runtime, monkeypatch) -> None:
    """Write AWKWARD as the product writes events (append, chained by chain_hash at commit)."""
    monkeypatch.setattr(audit, "utcnow", iter([at for at, *_ in AWKWARD]).__next__)
    with runtime.transaction() as session:
        for _, actor, action, case_id, details in AWKWARD:
            audit.append(session, actor=actor, action=action, case_id=case_id, details=details)


hex_digests = st.binary().map(lambda data: hashlib.sha256(data).hexdigest()) | st.just(audit.GENESIS)
any_text = st.text(st.characters(blacklist_categories=()))  # surrogates, controls, quotes, backslashes


@hsettings(max_examples=300, deadline=None)
@given(seq=st.integers(1, 2**63), at=st.datetimes(datetime(1900, 1, 1), datetime(9000, 1, 1), timezones=st.timezones()),
       actor=any_text, action=any_text, case_id=st.none() | any_text, details=any_text, prev=hex_digests)
def test_verification_recomputes_the_bytes_chain_hash_wrote(seq, at, actor, action, case_id, details, prev):
    """Whether the time arrives aware in any zone (the ORM, PostgreSQL's session zone) or naive UTC."""
    written = audit.chain_hash(seq, at.astimezone(UTC), actor, action, case_id, details, prev)
    naive_utc = at.astimezone(UTC).replace(tzinfo=None)
    assert audit._recomputed(seq, at, actor, action, case_id, details, prev) == written
    assert audit._recomputed(seq, naive_utc, actor, action, case_id, details, prev) == written


def test_a_chain_of_awkward_values_verifies_in_batches_with_progress(runtime, monkeypatch):
    _awkward_chain(runtime, monkeypatch)
    heard: list[tuple[int, int]] = []
    with runtime.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":  # the driver then reads times at +05:45
            session.execute(text("SET LOCAL TIME ZONE 'Asia/Kathmandu'"))
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        result = audit.verify(session, lambda done, total: heard.append((done, total)), batch=2)

    assert [(r.at, r.actor, r.case_id) for r in rows] == [(at, actor, case_id) for at, actor, _, case_id, _ in AWKWARD]
    assert result == audit.Verification(ok=True, events=len(rows), head=rows[-1].hash, first_bad=None)
    assert heard == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_tampering_with_any_column_is_found_at_the_right_event(runtime, monkeypatch):
    _awkward_chain(runtime, monkeypatch)
    with runtime.transaction() as session:
        row3 = session.get(AuditEvent, 3)
    forgeries = [  # (column, the value event 3 is given, the first bad event)
        ("seq", 1000, 4),  # 4 then follows 2
        ("at", row3.at + timedelta(microseconds=1), 3),
        ("actor", row3.actor + " ", 3),
        ("action", "step.unicode", 3),
        ("case_id", None, 3),
        ("details", row3.details[:1] + " " + row3.details[1:], 3),  # "{ }": the same JSON, other text
        ("prev_hash", "f" * 64, 3),
        ("hash", "e" * 64, 3),
    ]
    for column, value, first_bad in forgeries:
        with runtime.sessions() as session, session.begin():
            session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values({column: value}))
            assert audit.verify(session, batch=2).first_bad == first_bad, column
            session.rollback()
    with runtime.sessions() as session, session.begin():
        session.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(case_id=""))  # "" is not null
        assert audit.verify(session).first_bad == 1
        session.rollback()
    with runtime.transaction() as session:
        assert audit.verify(session).ok  # every forgery was rolled back: each was found on its own


def test_the_command_shows_progress_on_stderr_and_the_result_alone_on_stdout(settings, runtime, monkeypatch):
    _awkward_chain(runtime, monkeypatch)
    with runtime.transaction() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        head = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))

    result = run(settings, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ok: {events} events, head {head}\n"
    assert result.stderr.splitlines() == [f"audit verify: 0/{events}", f"audit verify: {events}/{events}"]
