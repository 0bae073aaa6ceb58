"""`GET/POST /disclosures/{token}`: what a recipient sees (INTERFACES.md §2).

GET is a landing page with one button: it never reveals content or records receipt, as
mail scanners fetch every link. POST shows exactly the shared items, and the first POST
records receipt (golden rule 7: record what you shared and with whom).
"""

from __future__ import annotations

from flask import Blueprint, Response

from infoshare_workflow.links import DISCLOSURE_SALT, LinkState
from infoshare_workflow.models import Case, utcnow
from infoshare_workflow.sharing import find_disclosure, reveal
from infoshare_workflow.timeliness import signature_max_age

from . import runtime
from .pages import gone, page, unknown, unsign

bp = Blueprint("disclosures", __name__)


def _open(token: str, *, record: bool) -> Response:
    max_age = signature_max_age(runtime().settings.policy.disclosure_link_lifetime)
    state, link_id = unsign(token, DISCLOSURE_SALT, max_age)
    if state is LinkState.UNKNOWN:
        return unknown()
    if state is LinkState.GONE or link_id is None:
        return gone("disclosure")
    with runtime().transaction() as session:
        disclosure = find_disclosure(session, link_id)
        if disclosure is None:
            return unknown()
        if disclosure.expires_at <= utcnow():
            return gone("disclosure")
        case = session.get(Case, disclosure.case_pk)
        school = runtime().settings.school_name
        if not record:
            return page("pages/disclosure_landing.html", token=token, case_id=case.case_id if case else "",
                        school_name=school, recipient=disclosure.recipient)
        reveal(session, disclosure)
        return page("pages/disclosure.html", case_id=case.case_id if case else "", school_name=school,
                    content=disclosure.content or {}, items=disclosure.items, recipient=disclosure.recipient,
                    snapshot_hash=disclosure.snapshot_hash, expires_at=disclosure.expires_at)


@bp.get("/disclosures/<token>")
def landing(token: str) -> Response:
    return _open(token, record=False)


@bp.post("/disclosures/<token>")
def show(token: str) -> Response:
    return _open(token, record=True)
