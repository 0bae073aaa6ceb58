"""The retention sweep: every case due goes on its DSL's one review list, emailed as one link;
held cases are skipped, nothing is listed twice, and a rerun adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from infoshare_workflow.review import sweep
from infoshare_workflow.review.holds import set_legal_hold
from infoshare_workflow.review.lists import count_open
from infoshare_workflow.storage.models import Case, Email, ReviewList

from ..workflow import drain, read_outbox
from .school import DSL, DSL2, Report, due_cases, no_progress, staff


def run(runtime, run_id=1, report=None):
    return sweep.retention_sweep(runtime, run_id, no_progress, report or Report())


def lists(runtime):
    """Each open review list's DSL and how many cases are on it."""
    with runtime.transaction() as session:
        return {(rl.assignee, count_open(session, rl)) for rl in session.scalars(select(ReviewList))}


def test_due_cases_go_on_one_list_per_dsl_each_emailed_once(mis, runtime, settings, app):
    staff(mis)
    due_cases(mis, runtime, 3, dsl=DSL)
    due_cases(mis, runtime, 2, dsl=DSL2, prefix="C-other")

    counts = run(runtime)

    assert (counts["due"], counts["listed"], counts["lists"], counts["held"]) == (5, 5, 2, 0)
    assert lists(runtime) == {(DSL, 3), (DSL2, 2)}
    drain(app)
    mails = [m for m in read_outbox(settings.outbox_dir) if "Retention review" in m["Subject"]]
    assert sorted(m["To"] for m in mails) == ["s-02@school.example", "s-03@school.example"]
    assert "3 cases to review" in next(m for m in mails if m["To"] == "s-02@school.example")["Subject"]


def test_a_case_under_legal_hold_is_skipped_and_counted(mis, runtime):
    staff(mis)
    held, listed = due_cases(mis, runtime, 2)
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == held)).one()
        set_legal_hold(session, case, hold=True, reason="Inquiry request", actor="admin:ops")

    counts = run(runtime)

    assert (counts["listed"], counts["held"]) == (1, 1)
    with runtime.transaction() as session:
        from infoshare_workflow.review.lists import open_cases

        on_list = [c.case_id for c in open_cases(session, session.scalars(select(ReviewList)).one())]
    assert on_list == [listed]


def test_a_dsl_keeps_one_open_list_whatever_the_number_of_runs(mis, runtime, settings):
    staff(mis)
    due_cases(mis, runtime, 2)
    first = run(runtime, run_id=1)
    again = run(runtime, run_id=1)
    later = run(runtime, run_id=2)

    assert first["lists"] == 1 and again["lists"] == later["lists"] == 0 and later["listed"] == 2
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ReviewList)) == 1
        assert session.scalar(select(func.count()).select_from(Email).where(Email.template == "review_list")) == 1


def test_the_cases_of_a_dsl_who_has_left_move_to_an_active_one(mis, runtime):
    staff(mis)
    due_cases(mis, runtime, 2, dsl="S-GONE")
    counts = run(runtime)
    assert counts["listed"] == 2 and lists(runtime) in ({(DSL, 2)}, {(DSL2, 2)})


def test_the_scan_goes_in_batches_whatever_the_number_of_cases(mis, runtime, monkeypatch):
    staff(mis)
    due_cases(mis, runtime, 7)
    monkeypatch.setattr(sweep, "BATCH", 2)
    seen: list[tuple[int, int]] = []

    counts = sweep.retention_sweep(runtime, 1, lambda done, total: seen.append((done, total)), Report())

    assert counts["listed"] == 7 and lists(runtime) == {(DSL, 7)}
    assert seen == [(0, 7), (2, 7), (4, 7), (6, 7), (7, 7)]  # the total first, then four batches


def test_a_case_not_yet_due_is_left_alone(mis, runtime):
    staff(mis)
    [case_id] = due_cases(mis, runtime, 1)
    from datetime import date, timedelta

    from sqlalchemy import update

    with runtime.transaction() as session:
        session.execute(update(Case).where(Case.case_id == case_id).values(review_on=date.today() + timedelta(days=1)))
    assert run(runtime)["due"] == 0 and lists(runtime) == set()
