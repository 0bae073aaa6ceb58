"""Schemas of the admin API (INTERFACES.md §3): query arguments and step reassignments in, case views out.

They are the single description of the API: views dump with them and the OpenAPI document
is generated from them.
"""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from infoshare_workflow.schemas.fields import TRIMMED_PATTERN, StrictBoolean, Text
from infoshare_workflow.vocabulary import (
    CASE_STATUSES,
    NOTICE_KINDS,
    NOTICE_STATUSES,
    RETENTION_CATEGORIES,
    STEP_KINDS,
    STEP_STATUSES,
)

CURSOR = r"^[1-9][0-9]{0,8}$"


class CaseQuerySchema(Schema):
    # A `received` case (accepted, not applied) is read one at a time, and listed by `infoshare inbox list`.
    status = fields.String(validate=validate.OneOf([s for s in CASE_STATUSES if s != "received"]))
    overdue = fields.Boolean()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Regexp(CURSOR, error="Not a valid cursor."), metadata={
        "description": "Where the page starts: the `next_cursor` of the page before, passed back as it came "
                       "(digits: the position after the last case shown). Pages are newest first."})


class StepSchema(Schema):
    id = fields.Integer(metadata={"description": "The step's id: what `/steps/{step_id}/resend` and `/reassign` take."})
    kind = fields.String(validate=validate.OneOf(STEP_KINDS))
    status = fields.String(validate=validate.OneOf(STEP_STATUSES))
    assignee = fields.String(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    reminders_sent = fields.Integer()
    escalated = fields.Boolean()


def _visible(value: str) -> None:
    """At least one character that is not white space (JSON Schema's `\\s`, which counts U+FEFF)."""
    if not re.search(r"[^\s\ufeff]", value):
        raise ValidationError("Must not be blank.")


def one_line_reason(description: str) -> Text:
    """A reason on one line, checked as sent (not trimmed first), so that the length and the
    pattern mean what the OpenAPI document says."""
    return Text(required=True, validate=[validate.Length(min=1, max=500), _visible],
                metadata={"pattern": TRIMMED_PATTERN, "description": description})


class StepReassignSchema(Schema):
    """Who takes an open step, and why (the reason is on the record: golden rule 7)."""

    class Meta:
        unknown = RAISE

    staff_id = Text(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "An active member of staff holding the step's role: `dsl` for consent, information and "
                       "share, `manager` for consultation; not the step's current assignee."})
    reason = one_line_reason("Why the step moves, on one line; kept encrypted with the case (not in the audit "
                             "trail) and erased when the case is disposed of.")


class LegalHoldSchema(Schema):
    """Place or lift a legal hold: a held case can't be disposed of (DOMAIN.md "Retention")."""

    class Meta:
        unknown = RAISE

    legal_hold = StrictBoolean(required=True, metadata={
        "description": "true to place the hold, false to lift it."})
    reason = one_line_reason("Why (e.g. an inquiry's request), on one line; kept encrypted with the case, "
                             "not in the audit.")


class DisposalCancelSchema(Schema):
    """Stop a disposal that is proposed or waiting for its erasure date."""

    class Meta:
        unknown = RAISE

    reason = one_line_reason("Why it is stopped, on one line.")


class DisposalSchema(Schema):
    """A disposal under way, or done: who proposed and approved it, and when it is (or was) erased."""

    status = fields.String(validate=validate.OneOf(["proposed", "pending", "cancelled", "rejected", "done"]))
    proposed_by = fields.String()
    proposed_at = fields.AwareDateTime()
    approved_by = fields.String(allow_none=True)
    approved_at = fields.AwareDateTime(allow_none=True)
    erase_at = fields.AwareDateTime(allow_none=True, metadata={"description": "When the waiting period ends."})
    disposed_at = fields.AwareDateTime(allow_none=True)


class ReassignmentSchema(Schema):
    """An admin's reassignment of one of the case's steps, with the reason they gave (kept with
    the case and erased with it; the audit trail's `step.reassigned` names it by `id`)."""

    id = fields.Integer()
    step_id = fields.Integer()
    at = fields.AwareDateTime()
    actor = fields.String()
    reason = fields.String()


class DecisionSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    recorded_by = fields.String()
    recorded_at = fields.AwareDateTime()
    supersedes = fields.Integer(allow_none=True, attribute="supersedes_id")
    record = fields.Dict(attribute="payload")


class DecisionsSchema(Schema):
    consent = fields.List(fields.Nested(DecisionSchema))
    consultation = fields.List(fields.Nested(DecisionSchema))
    share = fields.List(fields.Nested(DecisionSchema))
    reconsideration = fields.List(fields.Nested(DecisionSchema), metadata={
        "description": "The DSL's later decisions on a sharing notice held back (`send_now` or `keep_suppressed`)."})


class DisclosureSchema(Schema):
    id = fields.Integer()
    recipient_id = fields.Integer()
    recipient = fields.String()
    items = fields.List(fields.String())
    snapshot_hash = fields.String()
    created_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()
    accessed_at = fields.AwareDateTime(allow_none=True, metadata={"description": "The first reveal (receipt)."})
    revoked_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "Set when the disclosure was revoked, or its recipient deactivated: its link opens nothing."})
    revoked_by = fields.String(allow_none=True)


class NoticeSchema(Schema):
    """A notice to the family (golden rule 2): one per addressee, or one held back for the case."""

    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(NOTICE_KINDS))
    status = fields.String(validate=validate.OneOf(NOTICE_STATUSES), metadata={
        "description": "`queued` (its email is on its way), `sent`, `failed` (could not be delivered: tell them "
                       "another way), `no_email` and `no_contact` (nobody to email: tell them another way), "
                       "`suppressed` (held back by the DSL until `reconsider_on`)."})
    addressee = fields.String(allow_none=True, metadata={"description": "`contact` (with parental responsibility) "
                                                         "or `pupil`; null for a notice held back."})
    relationship = fields.String(allow_none=True, metadata={"description": "The contact's relationship, as the MIS "
                                                            "gives it."})
    language = fields.String(allow_none=True, metadata={
        "description": "The addressee's preferred language; the notice is in it when a translation exists, "
                       "else in English."})
    reconsider_on = fields.Date(allow_none=True)
    reconsidered_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the DSL decided again on a notice held back (see `decisions.reconsideration`)."})
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    failed_at = fields.AwareDateTime(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "The SMTP reply code or the error's class."})


class WaitingOnSchema(Schema):
    """The step a case waits on: what, on whom, by when."""

    kind = fields.String(validate=validate.OneOf(STEP_KINDS))
    assignee = fields.String(allow_none=True, metadata={"description": "The staff id it waits on; null while "
                                                        "nobody active holds the role."})
    due_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Boolean()


class CaseSummarySchema(Schema):
    case_id = fields.String()
    concern_id = fields.String(attribute="concern.concern_id")
    status = fields.String(validate=validate.OneOf(CASE_STATUSES))
    outcome = fields.String(allow_none=True)
    urgency = fields.String(allow_none=True)
    threshold = fields.String(allow_none=True)
    opened_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    waiting_on = fields.Nested(WaitingOnSchema, allow_none=True, metadata={
        "description": "The open step, its assignee and due time; null when nothing waits (closed, or received)."})


class CaseSchema(CaseSummarySchema):
    received_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the concern was accepted from the MIS (the 202)."})
    parked = fields.Boolean(metadata={
        "description": "True when every attempt to apply the accepted concern failed: `infoshare inbox retry` "
                       "re-drives it once the cause is fixed."})
    parked_reason = fields.String(allow_none=True, metadata={
        "description": "The class of the failure that parked it (never the payload)."})
    apply_attempts = fields.Integer(allow_none=True, metadata={
        "description": "Failed attempts to apply a concern that is still `received`."})
    retention_category = fields.String(allow_none=True, validate=validate.OneOf(RETENTION_CATEGORIES))
    review_on = fields.Date(allow_none=True)
    legal_hold = fields.Boolean()
    legal_hold_reason = fields.String(allow_none=True, metadata={
        "description": "The reason given when the hold was placed (while `legal_hold` is true) or last lifted; "
                       "null if the case was never held. Kept encrypted with the case, erased with it."})
    disposal = fields.Nested(DisposalSchema, allow_none=True, metadata={
        "description": "The latest disposal of the case, if any: under way (`disposal_pending` shows its date) "
                       "or done (the tombstone)."})
    steps = fields.List(fields.Nested(StepSchema))
    reassignments = fields.List(fields.Nested(ReassignmentSchema))
    decisions = fields.Nested(DecisionsSchema)
    disclosures = fields.List(fields.Nested("DisclosureSchema"))
    notices = fields.List(fields.Nested("NoticeSchema"))


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema))
    next_cursor = fields.String(allow_none=True, metadata={
        "pattern": CURSOR, "description": "Pass it as `cursor` for the next page; null on the last page."})


class AuditEventSchema(Schema):
    seq = fields.Integer()
    at = fields.AwareDateTime()
    actor = fields.String()
    action = fields.String()
    case_id = fields.String(allow_none=True)
    details = fields.Dict()
    hash = fields.String()


class AuditListSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))


class AuditVerificationSchema(Schema):
    ok = fields.Boolean()
    events = fields.Integer()
    head = fields.String()
    first_bad = fields.Integer(allow_none=True)


class ErrorSchema(Schema):
    status = fields.String(metadata={"description": "invalid, unauthorized, unavailable, rate_limited or error"})
    message = fields.String()
    errors = fields.Dict(metadata={"description": "Messages by field, nested as the body is."})


class IngestSchema(Schema):
    """The webhook's answer to an accepted or duplicate event."""

    status = fields.String(validate=validate.OneOf(["accepted", "duplicate"]))
    event_id = fields.String()
    case_id = fields.String(allow_none=True, metadata={
        "description": "The case a concern opened (or will open): readable at once from the case API."})
