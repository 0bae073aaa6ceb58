"""No step waits on someone who has left: the MIS marks a DSL or manager inactive, or takes the
role away, and their open steps move at once (golden rule 5; the Timely principle)."""

from __future__ import annotations

from sqlalchemy import select

from infoshare_workflow.storage.models import Case, Step

from .. import factories
from ..audit_trail import audited
from ..workflow import DSL, MANAGER, MANAGER_EMAIL, consent_given, drain, latest_to, link_in, submit

OTHER_DSL, OTHER_DSL_EMAIL = "S-03", "s-03@school.example"


def school(mis, *dsls: str) -> None:
    for staff_id in dsls:
        assert mis.post(factories.staff_upserted(staff_id, ["dsl"])).status_code == 202
    assert mis.post(factories.staff_upserted(MANAGER, ["manager"])).status_code == 202


def consent_step(runtime) -> Step:
    with runtime.transaction() as session:
        return session.scalars(select(Step).where(Step.kind == "consent")).one()


def test_a_dsl_marked_inactive_hands_their_open_step_to_another_dsl(mis, runtime, app, settings, client):
    school(mis, DSL, OTHER_DSL)
    mis.post(factories.concern_raised("C-leave", assigned_dsl=DSL))
    drain(app)
    old_link = link_in(latest_to(settings.outbox_dir, f"{DSL.lower()}@school.example"))

    mis.post(factories.staff_upserted(DSL, ["dsl"], active=False))
    drain(app)

    assert consent_step(runtime).assignee == OTHER_DSL
    assert client.get(old_link).status_code == 410
    new_link = link_in(latest_to(settings.outbox_dir, OTHER_DSL_EMAIL))
    assert client.get(new_link).status_code == 200
    assert submit(client, new_link, consent_given()).status_code == 303
    assert [r.details for r in audited(runtime, "step.reassigned")] == [
        {"step": "consent", "step_id": consent_step(runtime).id, "from": DSL, "to": OTHER_DSL,
         "reason": "assignee_left"}]
    with runtime.transaction() as session:
        assert session.scalars(select(Case.dsl_staff_id)).one() == OTHER_DSL  # later steps go to them too


def test_taking_the_role_away_counts_as_leaving_it(mis, runtime, app, settings):
    school(mis, DSL, OTHER_DSL)
    mis.post(factories.concern_raised("C-role", assigned_dsl=DSL))
    mis.post(factories.staff_upserted(DSL, ["staff"]))
    assert consent_step(runtime).assignee == OTHER_DSL


def test_a_manager_who_leaves_hands_the_consultation_to_another_manager(mis, runtime, app, settings, client):
    school(mis, DSL)
    mis.post(factories.staff_upserted("S-10", ["manager"]))
    mis.post(factories.concern_raised("C-mgr", assigned_dsl=DSL))
    drain(app)
    submit(client, link_in(latest_to(settings.outbox_dir, f"{DSL.lower()}@school.example")), consent_given())
    with runtime.transaction() as session:
        holder = session.scalars(select(Step.assignee).where(Step.kind == "consultation")).one()

    mis.post(factories.staff_upserted(holder, ["manager"], active=False))

    with runtime.transaction() as session:
        assert session.scalars(select(Step.assignee).where(Step.kind == "consultation")).one() not in (holder, None)


def test_with_nobody_left_in_the_role_every_manager_is_alerted_and_the_next_dsl_takes_it_up(
        mis, runtime, app, settings, client):
    school(mis, DSL)
    mis.post(factories.concern_raised("C-alone", assigned_dsl=DSL))
    drain(app)

    mis.post(factories.staff_upserted(DSL, ["dsl"], active=False))
    drain(app)

    assert consent_step(runtime).assignee is None
    alert = latest_to(settings.outbox_dir, MANAGER_EMAIL)
    assert alert["Subject"].startswith("Nobody can answer the consent decision for case IS-")
    assert factories.PUPIL_GIVEN not in alert.as_string()
    assert [r.details["managers"] for r in audited(runtime, "step.unassigned")] == [[MANAGER]]

    mis.post(factories.staff_upserted(OTHER_DSL, ["dsl"]))
    drain(app)

    assert consent_step(runtime).assignee == OTHER_DSL
    assert client.get(link_in(latest_to(settings.outbox_dir, OTHER_DSL_EMAIL))).status_code == 200
    assert [r.details["reason"] for r in audited(runtime, "step.reassigned")] == ["assignee_left", "role_filled"]


def test_a_stale_update_does_not_hand_anything_over(mis, runtime, app, settings):
    from datetime import datetime, timedelta, timezone

    school(mis, DSL, OTHER_DSL)
    mis.post(factories.concern_raised("C-stale", assigned_dsl=DSL))
    old = factories.staff_upserted(DSL, ["dsl"], active=False)
    old["timestamp"] = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    mis.post(old)
    assert consent_step(runtime).assignee == DSL
    assert audited(runtime, "step.reassigned") == []
