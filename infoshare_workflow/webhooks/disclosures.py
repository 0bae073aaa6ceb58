"""`GET/POST /disclosures/{token}`: what a recipient sees (INTERFACES.md §2).

GET is a landing page with one button: it never reveals content, sends a code or records
receipt, as mail scanners fetch every link. The button (a POST without `code`) emails a
one-time code to the recipient's address; a POST with the right `code` shows exactly the
shared items, and the first such reveal records receipt (golden rule 7: record what you
shared and with whom). A revoked disclosure, or one whose recipient is deactivated, is 410.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from infoshare_workflow.access.links import DISCLOSURE_SALT, LinkState
from infoshare_workflow.schemas.forms import DisclosureCodeSchema
from infoshare_workflow.sharing.decision import find_disclosure, reveal
from infoshare_workflow.sharing.disclosures import CODE_LIFETIME, MAX_TRIES, CodeCheck, check_code, is_live, send_code
from infoshare_workflow.storage.models import Case, DecisionRecord, Disclosure, Staff
from infoshare_workflow.timeliness.due_dates import signature_max_age
from infoshare_workflow.webhooks import FORM_LIMIT, limit_body, runtime
from infoshare_workflow.webhooks.pages import gone, page, unknown, unsign

bp = Blueprint("disclosures", __name__)
bp.before_request(limit_body(FORM_LIMIT))
MINUTES = int(CODE_LIFETIME.total_seconds() // 60)


class _Closed(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@bp.errorhandler(_Closed)
def _closed(exc: _Closed) -> Response:
    return exc.response


def _live(session: Session, token: str) -> tuple[Disclosure, str]:
    """The disclosure the token names, and its case reference; _Closed with a 404 or 410 otherwise."""
    max_age = signature_max_age(runtime().settings.policy.disclosure_link_lifetime)
    state, link_id = unsign(token, DISCLOSURE_SALT, max_age)
    if state is LinkState.UNKNOWN:
        raise _Closed(unknown())
    if state is LinkState.GONE or link_id is None:
        raise _Closed(gone("disclosure"))
    disclosure = find_disclosure(session, link_id)
    if disclosure is None:
        raise _Closed(unknown())
    if not is_live(disclosure):
        raise _Closed(gone("disclosure"))
    case = session.get(Case, disclosure.case_pk)
    return disclosure, case.case_id if case else ""


def _sharer(session: Session, decision: DecisionRecord | None) -> str | None:
    """The designated safeguarding lead who decided to share: the recipient's person to call."""
    if decision is None or not decision.recorded_by.startswith("staff:"):
        return None
    staff = session.get(Staff, decision.recorded_by.removeprefix("staff:"))
    return staff.name if staff is not None and staff.name else None


def _code_page(token: str, case_id: str, status: int = 200, *, sent: bool = True, errors: dict | None = None,
               spent: bool = False) -> Response:
    return page("pages/disclosure_code.html", status, token=token, case_id=case_id, sent=sent, spent=spent,
                errors=errors or {}, minutes=MINUTES, tries=MAX_TRIES)


@bp.get("/disclosures/<token>")
def landing(token: str) -> Response:
    with runtime().transaction() as session:
        disclosure, case_id = _live(session, token)
        return page("pages/disclosure_landing.html", token=token, case_id=case_id, minutes=MINUTES, recipient=disclosure.recipient)


@bp.post("/disclosures/<token>")
def open_disclosure(token: str) -> Response:
    if "code" not in request.form:  # the button: email a code
        with runtime().transaction() as session:
            disclosure, case_id = _live(session, token)
            sent = send_code(session, disclosure, case_id)
        return _code_page(token, case_id, sent=sent)
    try:
        code = DisclosureCodeSchema().load({"code": request.form.get("code", "")})["code"]
    except ValidationError as exc:
        with runtime().transaction() as session:
            _, case_id = _live(session, token)
        return _code_page(token, case_id, 422, errors=exc.messages_dict)
    with runtime().transaction() as session:
        disclosure, case_id = _live(session, token)
        result = check_code(session, disclosure, code, runtime().settings.secret_key, case_id)
        if result.check is CodeCheck.RIGHT:
            reveal(session, disclosure)
            decision = session.get(DecisionRecord, disclosure.decision_id)
            sharer = _sharer(session, decision)
            return page("pages/disclosure.html", case_id=case_id,
                        content=disclosure.content or {}, items=disclosure.items, recipient=disclosure.recipient,
                        snapshot_hash=disclosure.snapshot_hash, expires_at=disclosure.expires_at,
                        shared_at=disclosure.created_at, purpose=decision.payload.get("purpose") if decision else None,
                        sharer=sharer)
    if result.check is CodeCheck.WRONG and result.tries_left:
        message = f"That code is not right. Check the email and try again ({result.tries_left} left)."
        return _code_page(token, case_id, 422, errors={"code": [message]})
    return _code_page(token, case_id, 422, spent=True, errors={"code": [
        "This code has expired, was used, or was tried too many times. Send a new code."]})
