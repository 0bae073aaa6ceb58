"""Two dispatchers over 1,000 due reminders on PostgreSQL: every reminder once, none twice,
none missed; the same when one dispatcher is killed in the middle of a batch."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from infoshare_workflow.sharing.reminders import dispatch_timers
from infoshare_workflow.storage.models import (
    AuditEvent,
    Case,
    Concern,
    Email,
    Pupil,
    Staff,
    StaffRole,
    Step,
    StepTimer,
    utcnow,
)

from ..conftest import worker_env

N = 1000


pytestmark = pytest.mark.postgresql_only


def due_reminders(runtime, n: int = N) -> None:  # type: ignore[no-untyped-def]
    """`n` (1,000) open consent steps, each with a reminder point already due."""
    now = utcnow()
    with runtime.transaction() as session:
        session.add(Staff(staff_id="S-02", name="DSL", email="s-02@school.example", active=True))
        session.add(StaffRole(staff_id="S-02", role="dsl"))
        pupil = Pupil(mis_id="P-1", given_name="A", family_name="B", date_of_birth_text="2013-01-01")
        session.add(pupil)
        session.flush()
        session.execute(insert(Concern), [
            {"concern_id": f"C-{i}", "pupil_id": pupil.id, "raised_at": now, "category": "neglect",
             "summary": "s", "facts": "f", "reporter_staff_id": "S-17"} for i in range(n)])
        concerns = dict(session.execute(select(Concern.concern_id, Concern.id)).all())
        session.execute(insert(Case), [
            {"case_id": f"IS-T{i:05d}", "concern_pk": concerns[f"C-{i}"], "dsl_staff_id": "S-02", "status": "open",
             "urgency": "standard", "opened_at": now} for i in range(n)])
        cases = session.execute(select(Case.id)).scalars().all()
        session.execute(insert(Step), [
            {"case_pk": c, "kind": "consent", "round": 1, "status": "open", "assignee": "S-02", "opened_at": now,
             "due_at": now + timedelta(days=3), "reminders_sent": 0, "escalated": False} for c in cases])
        steps = session.execute(select(Step.id)).scalars().all()
        session.execute(insert(StepTimer), [
            {"step_id": s, "kind": "reminder", "seq": 1, "due_at": now - timedelta(minutes=1)} for s in steps])


def assert_each_reminder_sent_once(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StepTimer).where(StepTimer.fired_at.is_(None))) == 0
        per_step = session.execute(select(Step.reminders_sent, func.count()).group_by(Step.reminders_sent)).all()
        assert per_step == [(1, N)]
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "step.reminded")) == N
        emails = session.execute(select(Email.case_id, func.count()).group_by(Email.case_id)).all()
        assert len(emails) == N and {count for _, count in emails} == {1}


def test_two_dispatchers_at_once_send_every_reminder_exactly_once(runtime):
    due_reminders(runtime)
    results = []

    def run() -> None:
        results.append(dispatch_timers(runtime.sessions, batch=50))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert sum(r.reminders for r in results) == N
    assert all(r.reminders > 0 for r in results), "both dispatchers should have taken a share"
    assert_each_reminder_sent_once(runtime)


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_duplicates_nothing(runtime, settings, tmp_path: Path):
    due_reminders(runtime)
    script = Path(__file__).resolve().parent.parent / "slow_dispatcher.py"
    log_path = tmp_path / "killed.log"
    killed = subprocess.Popen([sys.executable, str(script), "100", "0.004"], env=worker_env(settings, settings.queue),
                              stdout=log_path.open("w"), stderr=subprocess.STDOUT, cwd=str(script.parent.parent))
    deadline = time.monotonic() + 60
    while "committed" not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    survivor_results = []
    survivor = threading.Thread(target=lambda: survivor_results.append(dispatch_timers(runtime.sessions, batch=50)))
    survivor.start()  # the two run at once ...
    time.sleep(0.2)
    killed.kill()  # ... until one dies in the middle of a batch
    killed.wait()
    survivor.join(timeout=300)
    committed = [int(line.split()[1]) for line in log_path.read_text().splitlines() if line.startswith("committed")]
    assert committed and committed[-1] < N, "the dispatcher should have died mid-run"

    # What the dead dispatcher had claimed but not committed is free again: the survivor or the
    # next pass (beat's next tick) takes it.
    next_pass = dispatch_timers(runtime.sessions, batch=50)

    assert committed[-1] + survivor_results[0].reminders + next_pass.reminders == N
    assert_each_reminder_sent_once(runtime)
