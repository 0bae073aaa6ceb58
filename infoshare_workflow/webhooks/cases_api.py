"""Cases through the admin API: the list, one case, its audit trail, revoking a disclosure.

Every read is audited with the token's name (golden rule 7: who looked at a child's record
is part of the record), and a case is readable from its 202 on (`status: "received"`).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request
from marshmallow import ValidationError

from infoshare_workflow.cases import inbox
from infoshare_workflow.cases.queries import (
    case_view,
    disclosure_view,
    get_case,
    list_cases,
    received_view,
    summary_view,
)
from infoshare_workflow.records import audit
from infoshare_workflow.schemas.api import (
    AuditEventSchema,
    CasePageSchema,
    CaseQuerySchema,
    CaseSchema,
    DisclosureSchema,
)
from infoshare_workflow.sharing.disclosures import disclosure_of_case, revoke
from infoshare_workflow.storage.models import AuditEvent
from infoshare_workflow.webhooks import runtime
from infoshare_workflow.webhooks.admin_api import actor, bp, error, row_id


def _encode_cursor(row_id: int | None) -> str | None:
    return None if row_id is None else str(row_id)


@bp.get("/cases")
def cases() -> Response:
    try:
        args = CaseQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        return error(422, "Invalid query.", errors=exc.messages)
    before = int(args["cursor"]) if "cursor" in args else None
    with runtime().transaction() as session:
        rows, next_id = list_cases(session, status=args.get("status"), overdue=args.get("overdue"),
                                   limit=args["limit"], before_id=before)
        page = CasePageSchema().dump({"items": [summary_view(c) for c in rows], "next_cursor": _encode_cursor(next_id)})
        # Golden rule 7: who looked at which cases is on the record too.
        audit.append(session, actor=actor(), action="cases.listed", details={"case_ids": [c.case_id for c in rows]})
    return jsonify(page)


@bp.get("/cases/<case_id>")
def case(case_id: str) -> Response:
    with runtime().transaction() as session:
        found = get_case(session, case_id)
        if found is not None:
            view = case_view(found, inbox.received_at(session, case_id))
        else:
            entry = inbox.received_case(session, case_id)
            if entry is None:
                return error(404, "No such case.")
            view = received_view(entry)
        audit.append(session, actor=actor(), action="case.read", case_id=case_id, details={"status": view["status"]})
        return jsonify(CaseSchema().dump(view))


@bp.get("/cases/<case_id>/audit")
def case_audit(case_id: str) -> Response:
    with runtime().transaction() as session:
        if get_case(session, case_id) is None:
            return error(404, "No such case.")
        events = audit.case_events(session, case_id)
        items = [
            AuditEventSchema().dump({**_audit_row(e), "details": json.loads(e.details)}) for e in events
        ]
        audit.append(session, actor=actor(), action="case.audit_read", case_id=case_id, details={"events": len(items)})
    return jsonify({"items": items})


def _audit_row(event: AuditEvent) -> dict[str, Any]:
    return {"seq": event.seq, "at": event.at, "actor": event.actor, "action": event.action,
            "case_id": event.case_id, "hash": event.hash}


@bp.post("/cases/<case_id>/disclosures/<disclosure_id>/revoke")
def revoke_disclosure(case_id: str, disclosure_id: str) -> Response:
    """Kill a disclosure's link now (golden rule 6): it stays on record, and opens nothing more."""
    with runtime().transaction() as session:
        found = disclosure_of_case(session, case_id, row_id(disclosure_id))
        if found is None:
            return error(404, "No such disclosure in this case.")
        revoke(session, found, actor=actor(), reason="revoked")
        return jsonify(DisclosureSchema().dump(disclosure_view(found)))
