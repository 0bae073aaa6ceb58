"""`infoshare demo`: the product on the embedded defaults, with a small school and three concerns.

It starts the web app and an in-process worker, posts signed events as the MIS would,
prints each emailed link as it is sent (so a person can walk a case in a browser), and
shows the audit trail. `--auto` answers every task itself, walking each case to its end.
Printed output carries case references and links only, never a pupil's details.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from werkzeug.serving import make_server

from infoshare_workflow.cases import inbox
from infoshare_workflow.mail.rendering import Renderer
from infoshare_workflow.records import audit
from infoshare_workflow.service.app import create_app
from infoshare_workflow.service.inprocess import InProcessWorker
from infoshare_workflow.settings.config import Settings
from infoshare_workflow.storage import outbox
from infoshare_workflow.storage.migrate import upgrade
from infoshare_workflow.storage.models import Email, Recipient
from infoshare_workflow.storage.runtime import build_runtime
from infoshare_workflow.vocabulary import PRINCIPLES

SCHOOL = "Northfield Primary School (demo)"
CONTACT = "01632 960000, safeguarding@school.example"  # a drama number: Ofcom keeps 01632 960xxx unused
DSL, MANAGER = ("S-DSL", "Dana Lead", "dsl@school.example"), ("S-HEAD", "Morgan Head", "head@school.example")
RECIPIENTS = [("Northshire Children's Social Care", "childrens_social_care", "mash@northshire.example"),
              ("Northshire Police Safeguarding Hub", "police", "hub@police.example")]


@dataclass
class Sent:
    to: str
    case_id: str | None
    template: str
    subject: str
    link: str | None
    code: str | None = None


@dataclass
class Mailroom:
    """Every email the worker sends, printed as it goes and kept for --auto to follow."""

    echo: Callable[[str], None]
    sent: list[Sent] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    shown: int = 0

    def record(self, item: Sent) -> None:
        """Called from the worker thread: kept until the main thread prints it, in order."""
        with self.changed:
            self.sent.append(item)
            self.changed.notify_all()

    def flush(self, wait: float = 0) -> None:
        """Print the emails sent since the last flush (waiting up to `wait` seconds for one)."""
        with self.changed:
            if wait and self.shown == len(self.sent):
                self.changed.wait(wait)
            new, self.shown = self.sent[self.shown:], len(self.sent)
        for item in new:
            self.echo(f"  email to {item.to}: {item.subject}")
            if item.link:
                self.echo(f"    {item.link}")
            if item.code:
                self.echo(f"    one-time code {item.code}")

    def wait_for(self, to: str, case_id: str, after: int, timeout: float = 60) -> tuple[Sent, int]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for index in range(after, len(self.sent)):
                    if self.sent[index].to == to and self.sent[index].case_id == case_id:
                        return self.sent[index], index + 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no email to {to} for case {case_id}")
                self.changed.wait(remaining)


def _sign(secret: str, msg_id: str, body: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{stamp}.{body}".encode(), hashlib.sha256).digest()
    return {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": stamp,
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


class Browser:
    """Just enough of a browser: GET a page, post its form with the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base

    def request(self, path: str, data: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, str, str]:
        body = raw if raw is not None else (
            urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None)
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {},
                                     method="POST" if body is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, path, exc.read().decode()

    def answer(self, path: str, form: dict[str, Any]) -> None:
        status, _, page = self.request(path)
        if status != 200:
            raise RuntimeError(f"task page answered {status}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        status, url, page = self.request(path, {"csrf_token": token.group(1) if token else "", **form})
        if status == 200 and 'name="confirm"' in page:  # a share: check the answers, then send
            status, url, page = self.request(path, {"csrf_token": token.group(1) if token else "", **form,
                                                    "confirm": "y"})
        if "/tasks/recorded" not in url:
            raise RuntimeError(f"the answer was not recorded ({status})")


def _concerns(run: str) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc).isoformat()

    def concern(n: int, urgency: str, threshold: str, category: str, pupil: tuple[str, str, str, str]) -> dict[str, Any]:
        mis_id, given, family, dob = pupil
        return {"type": "concern.raised", "timestamp": now, "data": {
            "concern_id": f"C-DEMO-{run}-{n}", "raised_at": now, "urgency": urgency, "threshold": threshold,
            "category": category, "summary": "Demo concern: see facts and opinion",
            "facts": "Observed at 08:40 in the playground; noted by the class teacher.",
            "opinion": "The teacher believes this needs a closer look.",
            "pupil": {"mis_id": mis_id, "given_name": given, "family_name": family, "date_of_birth": dob,
                      "year_group": "Year 8", "email": None,
                      "contacts": [{"name": f"Parent {family}", "relationship": "parent",
                                    "email": f"parent.{family.lower()}@example.org",
                                    "parental_responsibility": True, "preferred_language": "en"}]},
            "reported_by": {"staff_id": "S-T01", "name": "Class Teacher", "email": "teacher@school.example"},
            "assigned_dsl": DSL[0]}}

    return [concern(1, "standard", "early_help", "neglect", ("P-D1", "Riley", "Demo", "2013-05-04")),
            concern(2, "high", "child_protection", "physical_abuse", ("P-D2", "Jordan", "Sample", "2012-09-14")),
            concern(3, "immediate", "child_in_need", "online_safety", ("P-D3", "Casey", "Example", "2014-01-22"))]


def _principles() -> dict[str, str]:
    return {p: "y" for p in PRINCIPLES}


def run_demo(settings: Settings, *, auto: bool, host: str, port: int, echo: Callable[[str], None]) -> int:
    """Serve, load the school, and walk (or wait for a person to walk) the cases; the exit code."""
    settings = replace(settings, school_name=settings.school_name or SCHOOL,
                       school_contact=settings.school_contact or CONTACT)
    upgrade(build_runtime(settings).engine)
    app = create_app(settings)
    runtime, celery = app.extensions["infoshare"], app.extensions["infoshare.celery"]
    mailroom = Mailroom(echo)
    renderer = Renderer(settings)

    def after_task(task: str, kwargs: dict[str, Any]) -> None:
        if task != "infoshare.mail.send":
            return
        with runtime.transaction() as session:
            email = session.get(Email, kwargs["email_id"])
            if email is not None and email.status == "sent":
                subject = renderer.render(email)["Subject"]
                mailroom.record(Sent(email.to_address, email.case_id, email.template, subject, renderer.link(email),
                                     renderer.code(email)))

    worker = InProcessWorker(celery, runtime, interval=0.5, after_task=after_task)
    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    worker.start()
    echo(f"infoshare demo: {settings.school_name}, web app on {settings.base_url}, in-process worker running")
    browser = Browser(settings.base_url)
    settled = _settler(runtime, mailroom)
    try:
        case_ids = _load_school(runtime, settings, browser, echo, settled)
        if auto:
            return _walk(case_ids, browser, mailroom, echo, settled)
        echo("\nOpen the links above in a browser to walk the cases. Press Ctrl-C to stop and see the audit trail.")
        while True:
            mailroom.flush(wait=0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        mailroom.flush()
        _show_audit(runtime, echo)
        worker.stop()
        server.shutdown()


def _settler(runtime: Any, mailroom: Mailroom) -> Callable[[], None]:
    """Wait until the worker has applied every event and sent every email, then print them:
    so each line of the demo is followed by the emails it caused, in order."""

    def sent_so_far() -> int:
        with runtime.transaction() as session:
            return session.scalar(select(func.count()).select_from(Email).where(Email.status == "sent")) or 0

    before = sent_so_far()  # a demo run again over the same database has sent emails already

    def settle(timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with runtime.transaction() as session:
                busy = inbox.backlog(session)["unapplied"] or outbox.backlog(session)["pending"]
            with mailroom.changed:  # the worker records an email just after marking it sent
                seen = len(mailroom.sent)
            if not busy and before + seen >= sent_so_far():
                break
            time.sleep(0.05)
        mailroom.flush()

    return settle


def _post(browser: Browser, settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(event)
    status, _, text = browser.request("/webhooks/mis", raw=body.encode(),
                                      headers=_sign(settings.mis_webhook_secret, f"msg_{uuid.uuid4().hex}", body))
    if status not in (200, 202):
        raise RuntimeError(f"the MIS event was refused ({status}): {text}")
    return json.loads(text)


def _load_school(runtime: Any, settings: Settings, browser: Browser, echo: Callable[[str], None],
                 settled: Callable[[], None]) -> list[str]:
    now = datetime.now(timezone.utc).isoformat()
    for staff_id, name, email, role in (DSL + ("dsl",), MANAGER + ("manager",)):
        _post(browser, settings, {"type": "staff.upserted", "timestamp": now, "data": {
            "staff_id": staff_id, "name": name, "email": email, "roles": [role], "active": True}})
    with runtime.transaction() as session:
        known = set(session.scalars(select(Recipient.name)))
        session.add_all(Recipient(name=n, kind=k, email=e) for n, k, e in RECIPIENTS if n not in known)
    echo(f"school loaded: DSL {DSL[2]}, manager {MANAGER[2]}, {len(RECIPIENTS)} recipients")
    case_ids = []
    for event in _concerns(uuid.uuid4().hex[:6].upper()):
        result = _post(browser, settings, event)
        echo(f"MIS: concern {event['data']['concern_id']} ({event['data']['urgency']}) -> case {result['case_id']}")
        settled()
        case_ids.append(result["case_id"])
    return case_ids


def _recipient_ids(browser: Browser, path: str) -> list[str]:
    _, _, page = browser.request(path)
    return re.findall(r'<input[^>]*\bname="recipients"[^>]*\bvalue="(\d+)"', page)


def _walk(case_ids: list[str], browser: Browser, mailroom: Mailroom, echo: Callable[[str], None],
          settled: Callable[[], None]) -> int:
    dsl, head = DSL[2], MANAGER[2]
    first, second, third = case_ids

    def share(path: str, **extra: str) -> dict[str, Any]:
        return {"decision": "share", "reasons": "Needed for an assessment", "recipients": _recipient_ids(browser, path),
                "purpose": "Assessment of need", "items": ["summary", "facts", "opinion"], **_principles(), **extra}

    given = {"outcome": "given", "party": "parent_carer", "party_name": "Parent", "sought_at":
             datetime.now().strftime("%Y-%m-%dT%H:%M"), "explicit": "y", "freely_given": "y"}
    refused = {**given, "outcome": "refused", "explicit": "", "freely_given": ""}
    plan = [
        (dsl, first, given, "consent given"),
        (head, first, {"advice": "share", "rationale": "Early help needs the family's agreement, which we have"}, "advice: share"),
        (dsl, first, lambda p: share(p, lawful_basis="consent", condition="explicit_consent"), "shared with consent"),
        (dsl, second, refused, "consent refused"),
        (head, second, {"advice": "share", "rationale": "Risk of significant harm outweighs the refusal"}, "advice: share"),
        (dsl, second, lambda p: share(p, lawful_basis="public_task",
                                      condition="safeguarding_children_and_individuals_at_risk",
                                      family_notice="suppress", suppress_reason="Telling the family now could increase the risk",
                                      reconsider_on="2027-06-01"), "shared without consent, notice suppressed"),
        (dsl, third, {"outcome": "not_sought", "not_sought_reason": "undue_delay",
                      "explanation": "Immediate: seeking consent would delay protection"}, "consent not sought (emergency)"),
        (head, third, {"advice": "more_information", "rationale": "Has the school seen this before?"}, "advice: more information"),
        (dsl, third, {"response": "No earlier concerns are recorded"}, "DSL answered the question"),
        (head, third, {"advice": "do_not_share", "rationale": "Manage in school with monitoring"}, "advice: do not share"),
        (dsl, third, {"decision": "do_not_share", "reasons": "Below the threshold for referral; monitor"}, "decided not to share"),
    ]
    answered: dict[tuple[str, str], int] = {}
    for to, case_id, form, what in plan:
        key = (to, case_id)
        deadline = time.monotonic() + 60
        while True:
            links = [s for s in mailroom.sent if s.to == to and s.case_id == case_id and s.template == "task"]
            if len(links) > answered.get(key, 0):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no task email to {to} for case {case_id}")
            time.sleep(0.1)
        path = urllib.parse.urlsplit(links[answered.get(key, 0)].link or "").path
        answered[key] = answered.get(key, 0) + 1
        browser.answer(path, form(path) if callable(form) else form)
        echo(f"auto: {what} ({case_id})")
        settled()
    for case_id in (first, second):
        for name, _kind, address in RECIPIENTS:
            sent, seen = mailroom.wait_for(address, case_id, 0, timeout=30)
            path = urllib.parse.urlsplit(sent.link or "").path
            browser.request(path, {})  # "Email me a code"
            echo(f"auto: {name} asked for a one-time code for {case_id}")
            settled()
            code, _ = mailroom.wait_for(address, case_id, seen, timeout=30)
            status, _, _ = browser.request(path, {"code": code.code or ""})
            if status != 200:
                raise RuntimeError(f"the disclosure did not open with its emailed code ({status})")
            echo(f"auto: {name} entered the emailed code and opened the disclosure for {case_id} ({status})")
    return 0


def _show_audit(runtime: Any, echo: Callable[[str], None]) -> None:
    with runtime.transaction() as session:
        result = audit.verify(session)
        events = audit.recent(session, 40)
    echo("\naudit trail (latest events):")
    for event in events:
        echo(f"  #{event.seq:<5} {event.at:%H:%M:%S} {event.actor:<16} {event.action:<22} {event.case_id or ''}")
    echo(f"audit chain {'ok' if result.ok else 'BROKEN at ' + str(result.first_bad)}: "
         f"{result.events} events, head {result.head[:16]}…")
