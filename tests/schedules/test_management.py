"""Schedules are added, changed, disabled and deleted by an admin; each change audited, each
refusal naming its field, and the next run always worked out from now."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from infoshare_workflow.schedules import cron
from infoshare_workflow.schedules.management import (
    InvalidSchedule,
    ScheduleNotFound,
    create_schedule,
    delete_schedule,
    disable_schedule,
    enable_schedule,
    get_schedule,
    list_schedules,
    schedule_view,
    update_schedule,
)
from infoshare_workflow.storage.models import AuditEvent, Schedule, utcnow

ADMIN = "admin:ops"
WEEKLY = {"job": "retention_sweep", "cron": "0 2 * * 1"}


def events(runtime, prefix="schedule."):
    with runtime.transaction() as session:
        return [(e.actor, e.action, json.loads(e.details)) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.seq))]


def add(runtime, **values):
    with runtime.transaction() as session:
        schedule = create_schedule(session, {**WEEKLY, **values}, actor=ADMIN)
        return schedule.id, schedule_view(schedule)


def test_a_new_schedule_runs_next_at_its_first_slot_in_the_schools_time_zone_and_is_audited(runtime):
    before = utcnow()
    schedule_id, view = add(runtime)

    assert view["timezone"] == runtime.settings.timezone == "Europe/London"
    assert view["description"] == "At 02:00, only on Monday" and view["enabled"] is True
    assert view["next_run_at"] == cron.next_after("0 2 * * 1", "Europe/London", before)
    assert view["last_run_at"] is None
    assert events(runtime) == [(ADMIN, "schedule.created", {
        "schedule_id": schedule_id, "job": "retention_sweep", "cron": "0 2 * * 1", "timezone": "Europe/London",
        "enabled": True})]


def test_every_wrong_field_is_named_at_once(runtime):
    with runtime.transaction() as session, pytest.raises(InvalidSchedule) as refused:
        create_schedule(session, {"job": "annual_report", "cron": "0 25 * * *", "timezone": "Europe/Londres",
                                  "colour": "red"}, actor=ADMIN)
    assert set(refused.value.errors) == {"job", "cron", "timezone", "colour"}
    assert "retention_sweep" in refused.value.errors["job"][0]
    with runtime.transaction() as session:
        assert session.scalars(select(Schedule)).all() == []
    assert events(runtime) == []


def test_changing_the_timing_works_the_next_run_out_again_and_records_what_changed(runtime):
    schedule_id, _ = add(runtime)
    with runtime.transaction() as session:
        view = schedule_view(update_schedule(session, schedule_id, {"cron": "30 1 * * *", "timezone": "UTC"},
                                             actor=ADMIN))
    assert view["next_run_at"] - utcnow() <= timedelta(days=1) and view["next_run_at"].minute == 30
    assert events(runtime)[-1][1:] == ("schedule.updated", {
        "schedule_id": schedule_id, "job": "retention_sweep", "cron": "30 1 * * *", "timezone": "UTC",
        "enabled": True, "fields": ["cron", "timezone"]})


def test_a_change_to_nothing_new_is_not_audited(runtime):
    schedule_id, _ = add(runtime)
    with runtime.transaction() as session:
        update_schedule(session, schedule_id, {"cron": " 0 2 * *  1"}, actor=ADMIN)
    assert [action for _, action, _ in events(runtime)] == ["schedule.created"]


def test_a_disabled_schedule_has_no_next_run_and_enabling_it_counts_from_now(runtime):
    schedule_id, _ = add(runtime)
    with runtime.transaction() as session:
        assert disable_schedule(session, schedule_id, actor=ADMIN).next_run_at is None
    with runtime.transaction() as session:
        schedule = enable_schedule(session, schedule_id, actor=ADMIN)
        assert schedule.enabled and schedule.next_run_at > utcnow()
    assert [d.get("enabled") for _, a, d in events(runtime) if a == "schedule.updated"] == [False, True]


def test_the_job_of_a_schedule_cannot_change(runtime):
    schedule_id, _ = add(runtime)
    with runtime.transaction() as session, pytest.raises(InvalidSchedule) as refused:
        update_schedule(session, schedule_id, {"job": "retention_sweep"}, actor=ADMIN)
    assert set(refused.value.errors) == {"job"}


def test_a_deleted_schedule_is_kept_for_the_record_but_never_found_again(runtime):
    schedule_id, _ = add(runtime)
    with runtime.transaction() as session:
        delete_schedule(session, schedule_id, actor=ADMIN)
    with runtime.transaction() as session:
        assert list_schedules(session) == []
        kept = session.get(Schedule, schedule_id)
        assert kept is not None and kept.deleted_at is not None and kept.next_run_at is None and not kept.enabled
        with pytest.raises(ScheduleNotFound):
            get_schedule(session, schedule_id)
        with pytest.raises(ScheduleNotFound):
            update_schedule(session, schedule_id, {"enabled": True}, actor=ADMIN)
    assert events(runtime)[-1][:2] == (ADMIN, "schedule.deleted")


@pytest.mark.parametrize("schedule_id", [None, 0, -1, 2**31, True, 999])
def test_an_id_no_schedule_can_have_is_not_found(runtime, schedule_id):
    with runtime.transaction() as session, pytest.raises(ScheduleNotFound):
        get_schedule(session, schedule_id)
