"""Scheduled sweeps in the admin API: schedule, change, delete, run now, and read the runs
and their reports as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from infoshare_workflow.storage.models import AuditEvent, Schedule, ScheduleRun

from ..audit_trail import actions
from ..schedule_jobs import registered_test_jobs
from ..workflow import drain

WEEKLY = {"job": "retention_sweep", "cron": "0 2 * * 1"}
FIELDS = {"id", "job", "cron", "description", "timezone", "enabled", "last_run_at", "next_run_at"}


@pytest.fixture
def admin(client, admin_token):
    """The admin API as an integrator calls it, with a valid bearer token."""

    class Admin:
        def __call__(self, method, path, **kwargs):
            headers = {"Authorization": f"Bearer {admin_token}", **kwargs.pop("headers", {})}
            return client.open(path, method=method, headers=headers, **kwargs)

        def add(self, **overrides):
            response = self("POST", "/api/v1/schedules", json={**WEEKLY, **overrides})
            assert response.status_code == 201, response.get_json()
            return response.get_json()

    return Admin()


@pytest.fixture
def test_jobs() -> Iterator[None]:
    with registered_test_jobs():
        yield


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/schedules"), ("POST", "/api/v1/schedules"), ("PATCH", "/api/v1/schedules/1"),
    ("DELETE", "/api/v1/schedules/1"), ("POST", "/api/v1/schedules/1/run"), ("GET", "/api/v1/schedules/1/runs"),
    ("GET", "/api/v1/schedules/1/runs/1"),
])
def test_every_route_needs_a_token_and_answers_401_in_json(client, runtime, method, path):
    response = client.open(path, method=method, json=WEEKLY)
    assert response.status_code == 401 and response.is_json
    with runtime.transaction() as session:
        assert session.scalars(select(Schedule)).all() == []


def test_post_schedules_a_sweep_and_answers_201_with_its_timing_in_words(admin, runtime):
    response = admin("POST", "/api/v1/schedules", json={**WEEKLY, "timezone": "Europe/London"})

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == FIELDS
    assert body["description"] == "At 02:00, only on Monday" and body["enabled"] is True
    assert body["last_run_at"] is None and body["next_run_at"].endswith(("T02:00:00+00:00", "T01:00:00+00:00"))
    with runtime.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "schedule.created")).one()
        assert event.actor.startswith("admin:test-")


def test_the_list_shows_every_schedule_oldest_first(admin):
    assert admin("GET", "/api/v1/schedules").get_json() == {"items": []}
    first, second = admin.add(), admin.add(cron="*/30 * * * *", timezone="UTC", enabled=False)
    items = admin("GET", "/api/v1/schedules").get_json()["items"]
    assert [i["id"] for i in items] == [first["id"], second["id"]]
    assert items[1]["description"] == "Every 30 minutes" and items[1]["next_run_at"] is None


@pytest.mark.parametrize("body, fields", [
    ({**WEEKLY, "cron": "0 2 * *"}, {"cron"}),
    ({**WEEKLY, "cron": "61 2 * * 1"}, {"cron"}),
    ({**WEEKLY, "timezone": "Europe/Londres"}, {"timezone"}),
    ({**WEEKLY, "job": "annual_report"}, {"job"}),
    ({"cron": "0 2 * * 1"}, {"job"}),
    ({**WEEKLY, "enabled": "yes", "every": "week"}, {"enabled", "every"}),
    ({"job": 3, "cron": None, "timezone": ""}, {"job", "cron", "timezone"}),
])
def test_a_bad_schedule_is_422_naming_each_field(admin, runtime, body, fields):
    response = admin("POST", "/api/v1/schedules", json=body)
    assert response.status_code == 422 and response.is_json
    assert set(response.get_json()["errors"]) == fields
    with runtime.transaction() as session:
        assert session.scalars(select(Schedule)).all() == []


@pytest.mark.parametrize("data, content_type, status", [
    ("{not json", "application/json", 400), ("[1]", "application/json", 400),
    ('{"job": "retention_sweep", "job": "x", "cron": "0 2 * * 1"}', "application/json", 400),
    (json.dumps(WEEKLY), "text/plain", 415),
])
def test_a_body_that_is_not_a_json_object_is_400_or_415(admin, data, content_type, status):
    response = admin("POST", "/api/v1/schedules", data=data, content_type=content_type)
    assert response.status_code == status and response.is_json


def test_patch_changes_the_timing_and_works_out_the_next_run_again(admin, runtime):
    made = admin.add()
    response = admin("PATCH", f"/api/v1/schedules/{made['id']}", json={"cron": "30 1 * * *", "timezone": "UTC"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["cron"], body["timezone"], body["description"]) == ("30 1 * * *", "UTC", "At 01:30")
    assert body["next_run_at"].endswith("T01:30:00+00:00")
    disabled = admin("PATCH", f"/api/v1/schedules/{made['id']}", json={"enabled": False}).get_json()
    assert disabled["enabled"] is False and disabled["next_run_at"] is None
    assert actions(runtime, "schedule.") == ["schedule.created", "schedule.updated", "schedule.updated"]


@pytest.mark.parametrize("body, fields", [
    ({}, {"_schema"}), ({"cron": "every day"}, {"cron"}), ({"job": "retention_sweep"}, {"job"}),
    ({"enabled": 1}, {"enabled"}),
])
def test_a_bad_patch_is_422_naming_each_field(admin, body, fields):
    made = admin.add()
    response = admin("PATCH", f"/api/v1/schedules/{made['id']}", json=body)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == fields


@pytest.mark.parametrize("method, suffix", [
    ("PATCH", ""), ("DELETE", ""), ("POST", "/run"), ("GET", "/runs"), ("GET", "/runs/1"),
])
@pytest.mark.parametrize("schedule_id", ["999", "0", "nope", "99999999999"])
def test_an_unknown_schedule_is_a_json_404(admin, method, suffix, schedule_id):
    response = admin(method, f"/api/v1/schedules/{schedule_id}{suffix}", json={"enabled": True})
    assert response.status_code == 404 and response.is_json


def test_delete_answers_204_and_then_the_schedule_is_gone_but_its_runs_are_kept(admin, runtime):
    made = admin.add()
    run_id = admin("POST", f"/api/v1/schedules/{made['id']}/run").get_json()["run_id"]

    assert admin("DELETE", f"/api/v1/schedules/{made['id']}").status_code == 204

    assert admin("GET", "/api/v1/schedules").get_json() == {"items": []}
    for method, suffix in (("PATCH", ""), ("DELETE", ""), ("POST", "/run"), ("GET", "/runs"),
                           ("GET", f"/runs/{run_id}")):
        assert admin(method, f"/api/v1/schedules/{made['id']}{suffix}", json={"enabled": True}).status_code == 404
    with runtime.transaction() as session:
        assert session.get(ScheduleRun, run_id) is not None
    assert actions(runtime, "schedule.")[-1] == "schedule.deleted"


def test_run_now_answers_202_with_the_run_which_a_worker_then_runs(admin, app, runtime):
    made = admin.add()

    response = admin("POST", f"/api/v1/schedules/{made['id']}/run")

    assert response.status_code == 202 and set(response.get_json()) == {"run_id"}
    run_id = response.get_json()["run_id"]
    assert drain(app) == ["infoshare.schedules.run"]
    runs = admin("GET", f"/api/v1/schedules/{made['id']}/runs").get_json()
    assert runs["next_cursor"] is None and [r["id"] for r in runs["items"]] == [run_id]
    run = runs["items"][0]
    assert run["status"] == "succeeded" and run["job"] == "retention_sweep" and run["error"] is None
    assert run["requested_by"].startswith("admin:test-") and run["attempts"] == 1
    assert run["started_at"] and run["finished_at"] and all(isinstance(v, int) for v in run["counts"].values())
    listed = admin("GET", "/api/v1/schedules").get_json()["items"][0]
    assert listed["last_run_at"] == run["started_at"]


def test_runs_are_listed_newest_first_a_page_at_a_time(admin):
    made = admin.add()
    ids = [admin("POST", f"/api/v1/schedules/{made['id']}/run").get_json()["run_id"] for _ in range(3)]
    page = admin("GET", f"/api/v1/schedules/{made['id']}/runs?limit=2").get_json()
    assert [r["id"] for r in page["items"]] == ids[:0:-1] and page["next_cursor"] == str(ids[1])
    rest = admin("GET", f"/api/v1/schedules/{made['id']}/runs?limit=2&cursor={page['next_cursor']}").get_json()
    assert [r["id"] for r in rest["items"]] == ids[:1] and rest["next_cursor"] is None
    bad = admin("GET", f"/api/v1/schedules/{made['id']}/runs?limit=0&cursor=x")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"limit", "cursor"}


def test_a_run_shows_its_report_as_json_and_its_read_is_audited(admin, app, runtime, test_jobs):
    made = admin.add(job="test_recording")
    run_id = admin("POST", f"/api/v1/schedules/{made['id']}/run").get_json()["run_id"]
    drain(app)

    response = admin("GET", f"/api/v1/schedules/{made['id']}/runs/{run_id}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["counts"] == {"disposed": 3, "listed": 0, "retained": 2}
    assert [(i["kind"], i["item"]["case_id"]) for i in body["report_items"]] == [
        ("disposal", "IS-T1"), ("disposal", "IS-T2"), ("disposal", "IS-T3")]
    assert actions(runtime, "schedule.")[-1] == "schedule.run_read"


def test_a_run_report_as_csv_has_a_row_per_report_row_and_no_formula_cells(admin, app, test_jobs):
    made = admin.add(job="test_recording")
    run_id = admin("POST", f"/api/v1/schedules/{made['id']}/run").get_json()["run_id"]
    drain(app)

    response = admin("GET", f"/api/v1/schedules/{made['id']}/runs/{run_id}", headers={"Accept": "text/csv"})

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert f"run-{run_id}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [["kind", "case_id", "category", "note"]] + [
        ["disposal", f"IS-T{i}", "low_level", "'=SUM(A1)"] for i in (1, 2, 3)]


def test_a_failed_run_shows_its_error_class(admin, app, test_jobs):
    made = admin.add(job="test_failing")
    run_id = admin("POST", f"/api/v1/schedules/{made['id']}/run").get_json()["run_id"]
    drain(app)
    body = admin("GET", f"/api/v1/schedules/{made['id']}/runs/{run_id}").get_json()
    assert (body["status"], body["error"], body["report_items"]) == ("failed", "JobBroke", [])


def test_a_run_of_another_schedule_is_404(admin):
    one, other = admin.add(), admin.add()
    run_id = admin("POST", f"/api/v1/schedules/{one['id']}/run").get_json()["run_id"]
    assert admin("GET", f"/api/v1/schedules/{other['id']}/runs/{run_id}").status_code == 404
