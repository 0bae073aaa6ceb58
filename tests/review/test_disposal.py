"""Two-person disposal: a DSL proposes, a manager who is not the proposer approves, and nothing
is erased until the wait ends; a rejection, a cancellation or a legal hold erases nothing."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from infoshare_workflow.review import sweep
from infoshare_workflow.review.answers import Answer, AnswerRefused, record
from infoshare_workflow.review.disposals import DisposalRefused, cancel, live_disposal
from infoshare_workflow.review.holds import set_legal_hold
from infoshare_workflow.settings.policy import Policy, d
from infoshare_workflow.storage.models import Case, Disposal, ReviewList, utcnow

from ..concurrency import side_by_side
from .school import DSL, MANAGER, MANAGER2, Report, case_row, due_cases, no_progress, staff


def listed(mis, runtime, n=1, **kwargs):
    staff(mis)
    case_ids = due_cases(mis, runtime, n, **kwargs)
    sweep.retention_sweep(runtime, 1, no_progress, Report())
    return case_ids


def the_list(session, kind, assignee=None):
    query = select(ReviewList).where(ReviewList.kind == kind, ReviewList.completed_at.is_(None))
    if assignee:
        query = query.where(ReviewList.assignee == assignee)
    return session.scalars(query).one()


def answer(runtime, kind, answers, actor, assignee=None, now=None):
    with runtime.transaction() as session:
        return record(session, the_list(session, kind, assignee), answers, actor, now=now)


def propose(runtime, case_id):
    answer(runtime, "review", {case_id: Answer("dispose", "Past its retention period")}, f"staff:{DSL}")


def disposal_of(runtime, case_id):
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        found = session.scalars(select(Disposal).where(Disposal.case_pk == case.id).order_by(Disposal.id.desc())).first()
        session.expunge_all()
        return found


def erase_due(runtime, when):
    report = Report()
    counts = sweep.retention_sweep(runtime, 2, no_progress, report, now=when)
    return counts["disposed"], report.rows


def test_retain_keeps_the_case_until_its_new_review_date(mis, runtime):
    [case_id] = listed(mis, runtime)
    next_year = date.today() + timedelta(days=365)
    answer(runtime, "review", {case_id: Answer("retain", "Sibling case still open", next_year)}, f"staff:{DSL}")
    case = case_row(runtime, case_id)
    assert (case.status, case.review_on) == ("closed", next_year)


def test_a_proposal_goes_to_a_manager_and_erases_nothing_without_approval(mis, runtime):
    [case_id] = listed(mis, runtime)
    propose(runtime, case_id)

    assert disposal_of(runtime, case_id).status == "proposed"
    with runtime.transaction() as session:
        assert the_list(session, "approval").assignee in (MANAGER, MANAGER2)
    assert erase_due(runtime, utcnow() + timedelta(days=400)) == (0, [])
    assert case_row(runtime, case_id).status == "closed"


def approved(mis, runtime) -> tuple[str, str]:
    """A listed case proposed for disposal and approved by the manager asked: (case id, approver)."""
    [case_id] = listed(mis, runtime)
    propose(runtime, case_id)
    with runtime.transaction() as session:
        approver = the_list(session, "approval").assignee
    answer(runtime, "approval", {case_id: Answer("approve")}, f"staff:{approver}")
    return case_id, approver


def test_an_approval_starts_the_wait_and_the_sweep_after_it_erases(mis, runtime):
    case_id, approver = approved(mis, runtime)

    disposal = disposal_of(runtime, case_id)
    assert disposal.status == "pending" and disposal.approved_by == f"staff:{approver}"
    assert case_row(runtime, case_id).status == "disposal_pending"
    assert erase_due(runtime, disposal.erase_at - timedelta(seconds=1)) == (0, [])  # not before the wait ends

    erased, rows = erase_due(runtime, disposal.erase_at + timedelta(seconds=1))

    assert erased == 1 and case_row(runtime, case_id).status == "disposed"
    [(kind, tombstone)] = rows
    assert kind == "disposal" and tombstone["case_id"] == case_id and tombstone["category"] == "early_help"
    assert tombstone["proposed_by"] == f"staff:{DSL}" and tombstone["approved_by"] == f"staff:{approver}"


def test_the_sweep_reports_progress_as_it_erases_so_its_run_keeps_its_lease(mis, runtime):
    case_id, _ = approved(mis, runtime)
    seen: list[tuple[int, int]] = []

    sweep.retention_sweep(runtime, 2, lambda done, total: seen.append((done, total)), Report(),
                          now=disposal_of(runtime, case_id).erase_at + timedelta(seconds=1))

    assert seen[:2] == [(0, 1), (1, 1)]  # the erasures, one report each; then the review listing's own


def test_the_proposer_can_never_approve(mis, runtime):
    [case_id] = listed(mis, runtime)
    propose(runtime, case_id)
    with runtime.transaction() as session:
        approvals = the_list(session, "approval")
        with pytest.raises(AnswerRefused) as refused:
            record(session, approvals, {case_id: Answer("approve")}, f"staff:{DSL}")
    assert "a second person must approve it" in refused.value.errors[f"approval_{case_id}"]
    assert disposal_of(runtime, case_id).status == "proposed"


def test_a_rejection_keeps_the_case_for_review_in_a_year(mis, runtime):
    [case_id] = listed(mis, runtime)
    propose(runtime, case_id)
    answer(runtime, "approval", {case_id: Answer("reject", "Still needed for a sibling's case")}, f"staff:{MANAGER}")
    assert disposal_of(runtime, case_id).status == "rejected"
    case = case_row(runtime, case_id)
    assert case.status == "closed" and case.review_on > date.today() + timedelta(days=360)


def test_a_cancelled_wait_erases_nothing(mis, runtime):
    [case_id] = listed(mis, runtime)
    propose(runtime, case_id)
    answer(runtime, "approval", {case_id: Answer("approve")}, f"staff:{MANAGER}")
    answer(runtime, "pending", {case_id: Answer("cancel", "The family asked us to keep it")}, f"staff:{DSL}",
           assignee=DSL)

    assert disposal_of(runtime, case_id).status == "cancelled"
    assert erase_due(runtime, utcnow() + timedelta(days=30)) == (0, [])
    assert case_row(runtime, case_id).status == "closed"


def test_a_legal_hold_refuses_a_proposal_and_cancels_a_wait(mis, runtime):
    first, second = listed(mis, runtime, 2)
    with runtime.transaction() as session:
        set_legal_hold(session, session.scalars(select(Case).where(Case.case_id == first)).one(), hold=True,
                       reason="Inquiry request", actor="admin:ops")
    with pytest.raises(AnswerRefused) as refused:
        answer(runtime, "review", {first: Answer("dispose", "Old")}, f"staff:{DSL}")
    assert "legal hold" in refused.value.errors[f"decision_{first}"]

    propose(runtime, second)
    answer(runtime, "approval", {second: Answer("approve")}, f"staff:{MANAGER}")
    with runtime.transaction() as session:
        set_legal_hold(session, session.scalars(select(Case).where(Case.case_id == second)).one(), hold=True,
                       reason="Inquiry request", actor="admin:ops")
    assert disposal_of(runtime, second).status == "cancelled"
    assert erase_due(runtime, utcnow() + timedelta(days=30)) == (0, [])


def test_without_second_approval_the_dsls_decision_starts_the_wait(mis, runtime, settings):
    runtime.sessions.configure(info={"policy": replace(Policy(), second_approval=False,
                                                       disposal_wait=d("1 second")), "timezone": settings.timezone})
    [case_id] = listed(mis, runtime)
    propose(runtime, case_id)
    disposal = disposal_of(runtime, case_id)
    assert disposal.status == "pending" and disposal.approved_by is None
    assert erase_due(runtime, utcnow() + timedelta(seconds=5))[0] == 1


def test_an_admin_can_cancel_a_proposal(mis, runtime):
    [case_id] = listed(mis, runtime)
    propose(runtime, case_id)
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        cancel(session, live_disposal(session, case), actor="admin:ops", reason="Wrong case")
    assert disposal_of(runtime, case_id).status == "cancelled"


def place_hold(runtime, case_id) -> bool:
    """An admin places a legal hold on the case, in a transaction of its own."""
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        return set_legal_hold(session, case, hold=True, reason="Police investigation", actor="admin:ops")

@pytest.mark.postgresql_only
def test_a_legal_hold_placed_as_the_sweep_reaches_the_case_stops_its_erasure(mis, runtime):
    """The hold has written the case and is held there until the sweep has claimed what it will
    erase (or two seconds): the sweep must pass over the case, not erase it once the hold is on
    (or deadlock with it, and fail one of the two)."""
    case_id, _ = approved(mis, runtime)
    erase_at = disposal_of(runtime, case_id).erase_at
    written, claimed = threading.Event(), threading.Event()

    def hold(_conn, _cursor, statement: str, *_) -> None:
        name = threading.current_thread().name
        if name == "hold" and statement.startswith("UPDATE cases"):
            written.set()
            claimed.wait(timeout=2)
        elif name == "sweep" and "FOR UPDATE" in statement and "FROM disposals" in statement:
            claimed.set()

    def sweep_once_written() -> int:
        written.wait(timeout=10)
        return erase_due(runtime, erase_at + timedelta(seconds=1))[0]

    outcomes = side_by_side(runtime, {"after_cursor_execute": hold}, hold=lambda: place_hold(runtime, case_id),
                            sweep=sweep_once_written)

    assert outcomes == {"hold": True, "sweep": 0}
    case = case_row(runtime, case_id)
    assert case.legal_hold and case.status != "disposed"
    assert disposal_of(runtime, case_id).status == "cancelled"


@pytest.mark.postgresql_only
def test_a_disposal_proposed_as_a_legal_hold_is_placed_is_refused(mis, runtime):
    """The hold has taken the case and is held there until the DSL's answer has read the list's
    cases (or two seconds, when the answer rightly waits for the case): the answer must see the
    hold, not propose to dispose of a case the hold never saw a disposal for."""
    [case_id] = listed(mis, runtime)
    taken, read = threading.Event(), threading.Event()

    def hold(_conn, _cursor, statement: str, *_) -> None:
        name = threading.current_thread().name
        locks_case = ("FOR UPDATE" in statement and "FROM cases" in statement) or statement.startswith("UPDATE cases")
        if name == "hold" and locks_case and not taken.is_set():
            taken.set()
            read.wait(timeout=2)
        elif name == "answer" and "FROM cases" in statement:
            read.set()

    def propose_once_taken() -> None:
        taken.wait(timeout=10)
        propose(runtime, case_id)

    outcomes = side_by_side(runtime, {"after_cursor_execute": hold}, hold=lambda: place_hold(runtime, case_id),
                            answer=propose_once_taken)

    assert outcomes["hold"] is True
    assert isinstance(outcomes["answer"], AnswerRefused) and "legal hold" in str(outcomes["answer"].errors)
    assert disposal_of(runtime, case_id) is None


@pytest.mark.postgresql_only
def test_an_admin_cancelling_a_disposal_as_the_sweep_erases_the_case_is_refused(mis, runtime):
    """The sweep has claimed the case and is held there until the admin's cancellation has read
    the disposal, still pending (or two seconds, when the cancellation rightly waits for the
    case): the cancellation must not be recorded over an erasure that went ahead."""
    case_id, _ = approved(mis, runtime)
    erase_at = disposal_of(runtime, case_id).erase_at
    claimed, read = threading.Event(), threading.Event()

    def hold(_conn, _cursor, statement: str, *_) -> None:
        name = threading.current_thread().name
        if name == "sweep" and "FOR UPDATE" in statement and "FROM disposals" in statement:
            claimed.set()
            read.wait(timeout=2)
        elif name == "admin" and statement.startswith("SELECT disposals"):
            read.set()

    def cancel_once_claimed() -> None:
        claimed.wait(timeout=10)
        with runtime.transaction() as session:
            case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
            cancel(session, live_disposal(session, case), actor="admin:ops", reason="Wrong case")

    outcomes = side_by_side(runtime, {"after_cursor_execute": hold},
                            sweep=lambda: erase_due(runtime, erase_at + timedelta(seconds=1))[0], admin=cancel_once_claimed)

    assert outcomes["sweep"] == 1 and isinstance(outcomes["admin"], DisposalRefused), outcomes
    assert case_row(runtime, case_id).status == "disposed"
    assert disposal_of(runtime, case_id).status == "done"
