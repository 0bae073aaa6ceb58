"""Events in their own order: for a pupil or a member of staff, the newer MIS timestamp wins.

A late retry of an older `staff.upserted` (a DSL, active) applied after a newer one
(inactive) made the person an active DSL again.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from infoshare_workflow.storage.models import AuditEvent, Case, Pupil, ReceivedEvent, Staff

from .. import factories


def at(event, minutes_ago: int):
    event["timestamp"] = (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat()
    return event


def test_an_older_staff_update_arriving_late_changes_nothing(mis, runtime):
    newer = at(factories.staff_upserted("S-02", ["dsl"], active=False), minutes_ago=1)
    older = at(factories.staff_upserted("S-02", ["dsl", "manager"], active=True), minutes_ago=10)
    assert mis.post(newer).status_code == 202
    response = mis.post(older, msg_id="msg_late_retry")

    assert response.status_code == 202  # accepted: a late retry is normal, not an error
    with runtime.transaction() as session:
        staff = session.get(Staff, "S-02")
        assert staff.active is False and staff.role_names == {"dsl"}
        assert session.get(ReceivedEvent, "msg_late_retry").outcome == "stale"
        stale = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.stale")).one()
        assert json.loads(stale.details)["event_id"] == "msg_late_retry"


def test_a_newer_staff_update_after_an_older_one_applies(mis, runtime):
    mis.post(at(factories.staff_upserted("S-02", ["dsl"], active=True), minutes_ago=10))
    mis.post(at(factories.staff_upserted("S-02", ["dsl"], active=False), minutes_ago=1))
    with runtime.transaction() as session:
        assert session.get(Staff, "S-02").active is False


def test_an_older_pupil_update_changes_neither_the_pupil_nor_the_contacts(mis, runtime):
    mis.post(at(factories.envelope("pupil.updated", {"pupil": factories.pupil(
        given_name="Newer", contacts=[{"name": "New Contact"}])}), minutes_ago=1))
    mis.post(at(factories.envelope("pupil.updated", {"pupil": factories.pupil(given_name="Older")}), minutes_ago=5))
    with runtime.transaction() as session:
        pupil = session.scalars(select(Pupil)).one()
        assert pupil.given_name == "Newer" and [c.name for c in pupil.contacts] == ["New Contact"]


def test_a_concern_sent_before_a_pupil_update_opens_its_case_on_the_newer_record(mis, runtime):
    mis.post(at(factories.envelope("pupil.updated", {"pupil": factories.pupil(year_group="Year 8")}), minutes_ago=1))
    response = mis.post(at(factories.concern_raised("C-old-pupil", pupil={"year_group": "Year 7"}), minutes_ago=3))
    assert response.status_code == 202
    with runtime.transaction() as session:
        case = session.scalars(select(Case)).one()
        assert case.case_id == response.get_json()["case_id"] and case.concern.pupil.year_group == "Year 8"
