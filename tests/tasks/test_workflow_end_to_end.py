"""The sharing workflow end to end: a real Celery worker on Redis, PostgreSQL, and a real SMTP
server. Every email is checked for its recipient, its link and the absence of personal data."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from infoshare_workflow.records import audit
from infoshare_workflow.storage.models import Case, Disclosure, Email, Notice, OutboxMessage

from .. import factories
from ..conftest import REDIS_URL, WorkerProcess, wait_for
from ..smtp import silent_smtp_server
from ..workflow import (
    DSL_EMAIL,
    LINK,
    MANAGER_EMAIL,
    code_in,
    consent_given,
    set_up_school,
    share_form,
    submit,
    text_of,
)

PERSONAL = (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.PUPIL_DOB, factories.CONTACT_NAME,
            factories.CONCERN_SUMMARY, factories.CONCERN_FACTS, factories.CONCERN_OPINION)


pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def settings(settings, smtp):  # type: ignore[no-untyped-def]
    return replace(settings, broker_url=REDIS_URL, smtp_url=smtp[1], dispatch_interval=1, outbox_lease_seconds=6)


@pytest.fixture
def inbox(smtp):  # type: ignore[no-untyped-def]
    return smtp[0]


@pytest.fixture
def live_worker(settings, runtime, tmp_path: Path) -> Iterator[WorkerProcess]:  # type: ignore[no-untyped-def]
    proc = WorkerProcess(settings, tmp_path / "worker.log", beat=True)
    proc.start()
    yield proc
    proc.kill()


class Mailbox:
    """Waits for the next email to an address and hands back its task path."""

    def __init__(self, inbox) -> None:  # type: ignore[no-untyped-def]
        self.inbox = inbox
        self.seen: dict[str, int] = {}

    def next(self, address: str, timeout: float = 45):  # type: ignore[no-untyped-def]
        count = self.seen.get(address, 0)
        wait_for(lambda: len(self.inbox.to(address)) > count, timeout=timeout)
        self.seen[address] = count + 1
        message = self.inbox.to(address)[count]
        check_email(message)
        return message

    def path(self, address: str) -> str:
        found = LINK.search(text_of(self.next(address)))
        assert found
        return found.group(1)


def check_email(message) -> None:  # type: ignore[no-untyped-def]
    raw = message.as_string()
    assert message["X-Infoshare-Case"] and message["X-Infoshare-Case"] in message["Subject"]
    for secret in PERSONAL:
        assert secret not in raw, f"personal data in an email: {secret!r}"


def case_of(runtime, case_id):  # type: ignore[no-untyped-def]
    session = runtime.sessions()
    return session, session.scalars(select(Case).where(Case.case_id == case_id)).one()


def chain_ok(runtime) -> bool:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return audit.verify(session).ok


def case_actions(runtime, case_id):  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return [e.action for e in audit.case_events(session, case_id)]


def test_consent_given_advice_share_shared_and_receipt_recorded(mis, runtime, client, inbox, live_worker):
    recipients = set_up_school(mis, runtime)
    mail = Mailbox(inbox)
    case_id = mis.post(factories.concern_raised("C-e2e-1")).get_json()["case_id"]

    assert submit(client, mail.path(DSL_EMAIL), consent_given()).status_code == 303
    assert submit(client, mail.path(MANAGER_EMAIL), {"advice": "share", "rationale": "Clear need"}).status_code == 303
    form = share_form([recipients["csc"]], lawful_basis="consent", condition="explicit_consent")
    assert submit(client, mail.path(DSL_EMAIL), form).status_code == 303
    disclosure_path = mail.path("csc@council.example")
    assert disclosure_path.startswith("/disclosures/")
    assert client.post(disclosure_path).status_code == 200  # "Email me a code"
    revealed = client.post(disclosure_path, data={"code": code_in(mail.next("csc@council.example"))}).get_data(
        as_text=True)

    assert factories.CONCERN_FACTS in revealed and factories.CONCERN_OPINION in revealed
    session, case = case_of(runtime, case_id)
    with session:
        assert (case.status, case.outcome) == ("closed", "shared")
        assert [(d.kind, d.payload.get("outcome") or d.payload.get("advice") or d.payload.get("decision"))
                for d in case.decisions] == [("consent", "given"), ("consultation", "share"), ("share", "share")]
        assert session.scalars(select(Disclosure.accessed_at)).one() is not None
    actions = case_actions(runtime, case_id)
    assert {"consent.recorded", "advice.recorded", "share.decided", "disclosure.sent", "disclosure.code_sent",
            "disclosure.received", "case.closed"} <= set(actions)
    wait_for(lambda: case_actions(runtime, case_id).count("email.sent") == 5)  # three tasks, the link, the code
    assert chain_ok(runtime)


def test_refused_shared_under_safeguarding_with_the_family_notice_suppressed(mis, runtime, client, inbox, live_worker):
    recipients = set_up_school(mis, runtime)
    mail = Mailbox(inbox)
    case_id = mis.post(factories.concern_raised("C-e2e-2", threshold="child_protection")).get_json()["case_id"]
    refused = {"outcome": "refused", "party": "parent_carer", "party_name": "Parent", "sought_at": "2026-11-24T10:00"}

    submit(client, mail.path(DSL_EMAIL), refused)
    submit(client, mail.path(MANAGER_EMAIL), {"advice": "share", "rationale": "Significant harm"})
    form = share_form([recipients["csc"], recipients["police"]], family_notice="suppress",
                      suppress_reason="Would alert the alleged abuser", reconsider_on="2027-03-01")
    assert submit(client, mail.path(DSL_EMAIL), form).status_code == 303
    for address in ("csc@council.example", "hub@police.example"):
        assert mail.path(address).startswith("/disclosures/")

    session, case = case_of(runtime, case_id)
    with session:
        share = [d for d in case.decisions if d.kind == "share"][0].payload
        assert (share["lawful_basis"], share["condition"]) == (
            "public_task", "safeguarding_children_and_individuals_at_risk")
        notice = session.scalars(select(Notice)).one()
        assert (notice.status, str(notice.reconsider_on)) == ("suppressed", "2027-03-01")
        assert case.outcome == "shared"
    assert "notice.suppressed" in case_actions(runtime, case_id)
    assert chain_ok(runtime)


def test_not_sought_more_information_answered_then_not_shared(mis, runtime, client, inbox, live_worker):
    set_up_school(mis, runtime)
    mail = Mailbox(inbox)
    case_id = mis.post(factories.concern_raised("C-e2e-3")).get_json()["case_id"]

    submit(client, mail.path(DSL_EMAIL), {"outcome": "not_sought", "not_sought_reason": "risk_to_child",
                                          "explanation": "Contacting home could escalate risk"})
    submit(client, mail.path(MANAGER_EMAIL), {"advice": "more_information", "rationale": "Any previous concerns?"})
    submit(client, mail.path(DSL_EMAIL), {"response": "None recorded before"})
    submit(client, mail.path(MANAGER_EMAIL), {"advice": "do_not_share", "rationale": "Monitor"})
    assert submit(client, mail.path(DSL_EMAIL), {"decision": "do_not_share", "reasons": "Monitor in school"}).status_code == 303

    session, case = case_of(runtime, case_id)
    with session:
        assert (case.status, case.outcome) == ("closed", "not_shared")
        assert [d.kind for d in case.decisions] == ["consent", "consultation", "information", "consultation", "share"]
        assert case.disclosures == []
    assert chain_ok(runtime)


def test_an_immediate_concern_alerts_the_dsl_and_the_managers_at_once(mis, runtime, client, inbox, live_worker):
    set_up_school(mis, runtime)
    mis.post(factories.staff_upserted("S-10", ["manager"]))
    mail = Mailbox(inbox)
    case_id = mis.post(factories.concern_raised("C-e2e-4", urgency="immediate")).get_json()["case_id"]

    dsl = mail.next(DSL_EMAIL)
    alerts = [mail.next(MANAGER_EMAIL), mail.next("s-10@school.example")]

    assert dsl["Subject"].startswith("URGENT") and case_id in dsl["Subject"]
    assert all(a["Subject"].startswith("URGENT") and case_id in a["Subject"] for a in alerts)
    assert "case.alerted" in case_actions(runtime, case_id)
    session, case = case_of(runtime, case_id)
    with session:
        consent = [s for s in case.steps if s.kind == "consent"][0]
        assert (consent.status, consent.prefill) == ("open", {"outcome": "not_sought", "not_sought_reason": "undue_delay"})
        assert case.decisions == []  # nothing is decided for the DSL: the pre-fill waits for confirmation
    assert chain_ok(runtime)


def test_a_worker_killed_between_commit_and_email_sends_it_exactly_once_after_restart(
        mis, runtime, client, inbox, settings, tmp_path):
    set_up_school(mis, runtime)
    with silent_smtp_server() as silent:
        stuck = WorkerProcess(replace(settings, smtp_url=silent), tmp_path / "stuck.log", beat=True)
        stuck.start()
        try:
            case_id = mis.post(factories.concern_raised("C-e2e-kill")).get_json()["case_id"]

            def claimed() -> bool:
                with runtime.transaction() as session:
                    return session.scalars(select(Email.status).where(Email.case_id == case_id)).first() == "sending"

            wait_for(claimed, timeout=45)
            stuck.kill(signal.SIGKILL)
        finally:
            stuck.kill(signal.SIGKILL)
    assert inbox.to(DSL_EMAIL) == []

    restarted = WorkerProcess(settings, tmp_path / "restarted.log", beat=True)
    restarted.start()
    try:
        wait_for(lambda: len(inbox.to(DSL_EMAIL)) == 1, timeout=60)
        time.sleep(settings.outbox_lease_seconds + 3)  # past another lease: nothing is sent twice
    finally:
        restarted.kill()

    assert len(inbox.to(DSL_EMAIL)) == 1
    with runtime.transaction() as session:
        email_row = session.scalars(select(Email).where(Email.case_id == case_id)).one()
        assert email_row.status == "sent" and email_row.attempts == 2
        assert all(m.done_at is not None for m in session.scalars(select(OutboxMessage)))
