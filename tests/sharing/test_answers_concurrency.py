"""One answer per step, whichever of its links is used, even at the moment a reminder fires
(golden rule 7: the record is the decision that was made, once; and never an error page for
an answer that was fine).

A step often has more than one live link: each reminder emails a fresh one and the first
still works, so a DSL may open the task from two emails, or on a phone and a laptop, and
send both. Each link is claimed once by an atomic UPDATE, but two links are two rows: the
step itself has to decide. And answering closes the step's links and cancels its timers
while the dispatcher may hold those timers to fire a reminder. Both used to deadlock on
PostgreSQL (one side failed with an error); now every writer locks the step first.

On PostgreSQL these transactions run side by side; SQLite takes every transaction with
BEGIN IMMEDIATE, so there they cannot overlap at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from infoshare_workflow.access.links import issue_task_link
from infoshare_workflow.cases.intake import apply_pending
from infoshare_workflow.settings.policy import parse_policy
from infoshare_workflow.sharing.answers import answer
from infoshare_workflow.sharing.reminders import dispatch_timers
from infoshare_workflow.storage.models import (
    Case,
    DecisionRecord,
    Email,
    ReceivedEvent,
    Step,
    StepTimer,
    TaskLink,
    utcnow,
)

from .. import factories
from ..audit_trail import actions
from ..concurrency import meeting_after, side_by_side
from ..parking import post_unapplied
from ..workflow import DSL, MANAGER, consent_given, drain, share_form, walk_to_share

pytestmark = pytest.mark.postgresql_only
# A standard step's first reminder comes 30 s after it opens, the next at 60 s; a high one is
# due sooner, so raising the urgency re-plans the open step.
POLICY = {"steps": {"standard": {"consent": "60 seconds", "consultation": "60 seconds", "share": "60 seconds",
                                 "reminders": [0.5, 1.0], "escalate_after": "30 seconds"},
                    "high": {"consent": "30 seconds", "consultation": "30 seconds", "share": "30 seconds",
                             "reminders": [0.5, 1.0], "escalate_after": "30 seconds"}}}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, policy=parse_policy(POLICY))


@pytest.fixture
def links(mis, app, runtime) -> list[str]:
    """The consent step's two live links: the first email's and a reminder's."""
    for staff_id, role in ((DSL, "dsl"), (MANAGER, "manager")):
        assert mis.post(factories.staff_upserted(staff_id, [role])).status_code == 202
    assert mis.post(factories.concern_raised("C-twice", assigned_dsl=DSL)).status_code == 202
    drain(app)
    with runtime.transaction() as session:
        step = session.scalars(select(Step).where(Step.kind == "consent")).one()
        issue_task_link(session, step, utcnow() + timedelta(days=7))
    with runtime.transaction() as session:
        return list(session.scalars(select(TaskLink.id).order_by(TaskLink.created_at)))


def answering(runtime, link_id: str) -> Callable[[], str]:
    """Give consent through `link_id` in a transaction of its own; the answered step's kind."""
    def body() -> str:
        with runtime.transaction() as session:
            return answer(session, link_id, consent_given(), "Europe/London")[1].kind
    return body


def test_two_links_of_one_step_answered_at_once_record_one_decision(links, runtime, app):
    """Each answer is held just after claiming its link until the other has claimed too (or a
    second has passed, when it is rightly waiting for the step): the moment a check made in
    memory would let both through."""
    outcomes = side_by_side(runtime, {"after_cursor_execute": meeting_after("UPDATE task_links SET used_at")},
                            first=answering(runtime, links[0]), second=answering(runtime, links[1]))
    drain(app)

    assert sorted(type(o).__name__ for o in outcomes.values()) == ["LinkGone", "str"], outcomes
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(DecisionRecord)) == 1
        steps = session.execute(select(Step.kind, Step.status).order_by(Step.id)).all()
    assert [tuple(s) for s in steps] == [("consent", "done"), ("consultation", "open"), ("share", "pending")]
    assert actions(runtime, "consent.").count("consent.recorded") == 1


def test_an_answer_while_the_dispatcher_fires_the_steps_reminder_waits_for_it_and_both_succeed(links, runtime, app):
    """The dispatcher claims the reminder first and is held there until the answer has had every
    chance to reach the step's timers (or two seconds, when it is rightly waiting for the step)."""
    with runtime.transaction() as session:
        opened = session.scalars(select(Step.opened_at).where(Step.kind == "consent")).one()
    claimed, cancelling = threading.Event(), threading.Event()

    def hold(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == "dispatcher" and "FOR UPDATE OF step_timers" in statement:
            claimed.set()
            cancelling.wait(timeout=2)

    def reach(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == "answer" and statement.startswith("UPDATE step_timers"):
            cancelling.set()  # about to cancel the timers the dispatcher holds

    def answer_once_claimed() -> str:
        claimed.wait(timeout=10)
        return answering(runtime, links[0])()

    outcomes = side_by_side(
        runtime, {"after_cursor_execute": hold, "before_cursor_execute": reach},
        dispatcher=lambda: dispatch_timers(runtime.sessions, now=opened + timedelta(seconds=31)).reminders,
        answer=answer_once_claimed)

    assert outcomes == {"dispatcher": 1, "answer": "consent"}
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(DecisionRecord)) == 1
        assert session.scalars(select(Step.status).where(Step.kind == "consent")).one() == "done"
        assert session.scalar(select(func.count()).select_from(StepTimer).where(StepTimer.fired_at.is_(None),
                                                                                StepTimer.step_id == Step.id,
                                                                                Step.kind == "consent")) == 0
        to_dsl = session.scalars(select(Email.context).where(Email.template == "task", Email.to_label == f"staff:{DSL}")
                                 .order_by(Email.created_at)).all()
    assert [c["reason"] for c in to_dsl] == ["opened", "reminder"]  # the first email, then the reminder, once


def test_a_share_decision_while_the_mis_raises_the_urgency_goes_first_and_both_succeed(mis, runtime, app, settings,
                                                                                          client):
    """The decision has locked its step and is held there until the MIS update has written the
    case (or two seconds, when the update rightly keeps off the busy case): then the decision
    closes the case while the update re-plans the open share step."""
    recipients, case_id = walk_to_share(mis, runtime, app, settings, client, consent_given())
    with runtime.transaction() as session:
        link_id = session.scalars(select(TaskLink.id).join(Step, Step.id == TaskLink.step_id)
                                  .where(Step.kind == "share", TaskLink.used_at.is_(None))).one()
    post_unapplied(client, settings, factories.concern_updated("C-wf-1", urgency="high"))
    locked, written = threading.Event(), threading.Event()

    def hold(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        name = threading.current_thread().name
        if name == "decision" and statement.startswith("SELECT steps.") and "FOR UPDATE" in statement:
            locked.set()
            written.wait(timeout=2)
        elif name == "update" and statement.startswith("UPDATE cases"):
            written.set()

    def decide() -> str:
        with runtime.transaction() as session:
            return answer(session, link_id, share_form([recipients["csc"]]), "Europe/London")[1].kind

    def update_once_locked() -> int:
        locked.wait(timeout=10)
        return apply_pending(runtime.sessions)

    outcomes = side_by_side(runtime, {"after_cursor_execute": hold}, decision=decide, update=update_once_locked)

    assert outcomes == {"decision": "share", "update": 0}  # the case was busy: the update waits for the next pass
    assert apply_pending(runtime.sessions) == 1
    with runtime.transaction() as session:
        case = session.scalars(select(Case).where(Case.case_id == case_id)).one()
        assert (case.status, case.outcome, case.urgency) == ("closed", "shared", "high")
        assert session.scalar(select(func.count()).select_from(ReceivedEvent).where(
            ReceivedEvent.applied_at.is_(None))) == 0
