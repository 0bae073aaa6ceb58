"""The retention review pages behind emailed links: a DSL answers a list in parts, a manager
approves what was proposed, and the proposer and approver may stop what waits for erasure."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from infoshare_workflow.review import sweep
from infoshare_workflow.review.holds import set_legal_hold
from infoshare_workflow.review.lists import remind_due_lists
from infoshare_workflow.storage.models import Case, Disposal, ReviewList, utcnow

from ..review.school import Report, case_row, due_cases, no_progress, staff
from ..workflow import csrf_of, drain, latest_to, link_in, read_outbox

DSL_EMAIL = "s-02@school.example"


def review_link(mis, runtime, app, settings, n=2):
    staff(mis)
    case_ids = due_cases(mis, runtime, n)
    sweep.retention_sweep(runtime, 1, no_progress, Report())
    drain(app)
    return case_ids, link_in(latest_to(settings.outbox_dir, DSL_EMAIL))


def post(client, path, form):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path, data={"csrf_token": csrf_of(page.get_data(as_text=True)), **form})


def parts(day: date, name: str) -> dict[str, str]:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


def test_the_list_shows_each_case_on_a_card_and_is_answered_in_parts(mis, runtime, app, settings, client):
    (first, second), path = review_link(mis, runtime, app, settings)
    page = client.get(path).get_data(as_text=True)
    assert f"Case {first}" in page and f"Case {second}" in page and "govuk-summary-card" in page
    next_year = date.today() + timedelta(days=365)

    answered = post(client, path, {f"decision_{first}": "retain", f"reason_{first}": "Sibling case still open",
                                   **parts(next_year, f"review_on_{first}")})

    assert answered.status_code == 303 and "recorded=1" in answered.headers["Location"]
    again = client.get(answered.headers["Location"]).get_data(as_text=True)
    assert "1 answer recorded" in again and f"Case {first}" not in again and f"Case {second}" in again
    assert case_row(runtime, first).review_on == next_year

    done = post(client, path, {f"decision_{second}": "dispose", f"reason_{second}": "Past its retention period"})
    assert done.status_code == 303 and "/tasks/recorded/" in done.headers["Location"]
    confirmation = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Every case on the list is answered" in confirmation and "1 case is kept" in confirmation
    assert client.get(path).status_code == 410  # a finished list's link dies


def test_errors_come_at_once_in_our_words_and_record_nothing(mis, runtime, app, settings, client):
    (first, second), path = review_link(mis, runtime, app, settings)
    wrong = post(client, path, {f"decision_{first}": "retain", f"reason_{second}": "typed without a choice"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    for message in (f"Enter why case {first} is kept or disposed of", f"Enter when case {first} is next reviewed",
                    f"Choose whether to keep case {second} or dispose of it"):
        assert message in html, message
    nothing = post(client, path, {})
    assert nothing.status_code == 422 and "Answer at least one case" in nothing.get_data(as_text=True)
    with runtime.transaction() as session:
        assert session.scalars(select(Disposal)).all() == []


def test_a_case_under_legal_hold_leaves_the_list_and_cannot_be_proposed(mis, runtime, app, settings, client):
    (first, second), path = review_link(mis, runtime, app, settings)
    with runtime.transaction() as session:
        set_legal_hold(session, session.scalars(select(Case).where(Case.case_id == first)).one(), hold=True,
                       reason="Inquiry", actor="admin:ops")
    page = client.get(path).get_data(as_text=True)
    assert f"Case {first}" not in page and f"Case {second}" in page
    refused = post(client, path, {f"decision_{first}": "dispose", f"reason_{first}": "Old"})
    assert refused.status_code == 422
    with runtime.transaction() as session:
        assert session.scalars(select(Disposal)).all() == []


def test_a_manager_approves_and_both_people_may_still_stop_it(mis, runtime, app, settings, client):
    (first, second), path = review_link(mis, runtime, app, settings)
    post(client, path, {f"decision_{first}": "dispose", f"reason_{first}": "Past its period",
                        f"decision_{second}": "dispose", f"reason_{second}": "Past its period"})
    drain(app)
    approval = [m for m in read_outbox(settings.outbox_dir) if "proposed disposals" in m["Subject"]]
    assert len(approval) == 1 and approval[0]["To"] != DSL_EMAIL  # one link for the batch, not to the proposer
    approval_path = link_in(approval[0])
    page = client.get(approval_path).get_data(as_text=True)
    assert "Past its period" in page and "Staff S-02" in page  # who proposed it, and why

    decided = post(client, approval_path, {f"approval_{first}": "approve", f"approval_{second}": "reject",
                                           f"reason_{second}": "Needed for a sibling's case"})
    assert decided.status_code == 303
    drain(app)
    pending = [m for m in read_outbox(settings.outbox_dir) if "you can still stop it" in m["Subject"]]
    assert sorted(m["To"] for m in pending) == sorted([DSL_EMAIL, approval[0]["To"]])
    assert case_row(runtime, first).status == "disposal_pending" and case_row(runtime, second).status == "closed"

    stop_path = link_in(next(m for m in pending if m["To"] == DSL_EMAIL))
    assert f"Case {first}" in client.get(stop_path).get_data(as_text=True)
    stopped = post(client, stop_path, {f"cancel_{first}": "y", f"reason_{first}": "The family asked us to keep it"})
    assert stopped.status_code == 303
    assert case_row(runtime, first).status == "closed"


def test_a_list_left_unanswered_is_reminded_at_half_time_and_at_due_once_each(mis, runtime, app, settings):
    review_link(mis, runtime, app, settings)
    with runtime.transaction() as session:
        due = session.scalars(select(ReviewList.due_at)).one()
    for when in (utcnow() + timedelta(minutes=1), due - timedelta(hours=1), due + timedelta(minutes=1),
                 due + timedelta(days=3)):
        with runtime.transaction() as session:
            remind_due_lists(session, now=when)
    drain(app)
    reminders = [m for m in read_outbox(settings.outbox_dir) if m["Subject"].startswith("Reminder: Retention review")]
    assert len(reminders) == 2 and link_in(reminders[-1]).startswith("/tasks/")  # each with a fresh link
