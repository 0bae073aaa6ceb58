"""The project's vocabulary (DOMAIN.md): public enum values, spelled exactly."""

from __future__ import annotations

URGENCIES = ("immediate", "high", "standard")
THRESHOLDS = ("universal", "early_help", "child_in_need", "child_protection")
CATEGORIES = (
    "physical_abuse", "emotional_abuse", "sexual_abuse", "neglect", "online_safety",
    "peer_on_peer", "domestic_abuse", "mental_health", "attendance", "other",
)
ROLES = ("dsl", "manager", "admin", "staff")
# information: the DSL answers more_information; reconsideration: the DSL decides again on a suppressed notice
STEP_KINDS = ("consent", "consultation", "information", "share", "reconsideration")
CONSENT_OUTCOMES = ("given", "refused", "not_sought", "withdrawn")
CONSENT_PARTIES = ("parent_carer", "young_person", "other")
NOT_SOUGHT_REASONS = ("risk_to_child", "risk_to_others", "undue_delay", "cannot_contact", "not_required_lawful_basis")
ADVICE = ("share", "do_not_share", "more_information")
SHARE_DECISIONS = ("share", "do_not_share")
RECIPIENT_KINDS = ("childrens_social_care", "police", "health", "early_help", "school", "safeguarding_partnership",
                   "other")
LAWFUL_BASES = ("consent", "legal_obligation", "vital_interests", "public_task", "legitimate_interests")
CONDITIONS = ("safeguarding_children_and_individuals_at_risk", "explicit_consent", "vital_interests",
              "legal_claims_or_court_order", "substantial_public_interest_other")
SHARE_ITEMS = ("summary", "facts", "opinion", "chronology", "pupil_identity", "pupil_contacts", "pupil_date_of_birth",
               "reporter_identity")
PRINCIPLES = ("necessary", "proportionate", "relevant", "adequate", "accurate", "timely", "secure")
FAMILY_NOTICE = ("send", "suppress")
RECONSIDER = ("send_now", "keep_suppressed")
NOTICE_KINDS = ("privacy", "sharing")
NOTICE_STATUSES = ("queued", "sent", "failed", "suppressed", "no_email", "no_contact")
STEP_STATUSES = ("pending", "open", "done", "cancelled")
CASE_STATUSES = ("received", "open", "closed", "disposal_pending", "disposed")  # received: accepted, not applied
EVENT_TYPES = ("concern.raised", "concern.updated", "pupil.updated", "staff.upserted", "calendar.closures")
RETENTION_CATEGORIES = ("child_protection", "early_help", "low_level")
# A run report row naming a pupil (`pupil`, their MIS id): erased with them (review.erasure).
NO_EMAIL_REPORT = "contact_without_email"

LABELS: dict[str, str] = {
    # consent
    "given": "Consent given", "refused": "Consent refused", "not_sought": "Consent not sought",
    "withdrawn": "Consent withdrawn",
    "parent_carer": "Parent or carer", "young_person": "The young person", "other": "Other",
    "risk_to_child": "Seeking consent would put the child at risk",
    "risk_to_others": "Seeking consent would put others at risk",
    "undue_delay": "Seeking consent would cause undue delay",
    "cannot_contact": "The family cannot be contacted",
    "not_required_lawful_basis": "Not required: another lawful basis applies",
    # consultation
    "share": "Share", "do_not_share": "Do not share", "more_information": "I need more information",
    # recipients
    "childrens_social_care": "Children's social care", "police": "Police", "health": "Health",
    "early_help": "Early help", "school": "School", "safeguarding_partnership": "Safeguarding partnership",
    # lawful basis and condition
    "consent": "Consent (Art. 6(1)(a))", "legal_obligation": "Legal obligation (Art. 6(1)(c))",
    "vital_interests": "Vital interests", "public_task": "Public task (Art. 6(1)(e))",
    "legitimate_interests": "Legitimate interests (Art. 6(1)(f))",
    "safeguarding_children_and_individuals_at_risk":
        "Safeguarding of children and individuals at risk (DPA 2018 Sch. 1 Pt. 2 para. 18)",
    "explicit_consent": "Explicit consent", "legal_claims_or_court_order": "Legal claims or court order",
    "substantial_public_interest_other": "Other substantial public interest",
    # items
    "summary": "Summary of the concern", "facts": "Facts", "opinion": "Opinion", "chronology": "Chronology",
    "pupil_identity": "Pupil's name and year group", "pupil_contacts": "Pupil's contacts",
    "pupil_date_of_birth": "Pupil's date of birth", "reporter_identity": "Who reported the concern",
    # principles (golden rule 6)
    "necessary": "Necessary for the purpose", "proportionate": "Proportionate to the need and the risk",
    "relevant": "Relevant, and only to those who need it", "adequate": "Adequate for its purpose",
    "accurate": "Accurate and up to date, fact and opinion apart", "timely": "Shared in a timely fashion",
    "secure": "Shared securely",
    # family notice
    "send": "Tell the family what was shared, with whom and why",
    "suppress": "Do not tell the family now: it would put the child at risk",
    "send_now": "Tell the family now", "keep_suppressed": "Do not tell them yet: it would still put the child at risk",
    # thresholds and urgency
    "universal": "Universal", "child_in_need": "Child in need (s17)", "child_protection": "Child protection (s47)",
    "immediate": "Immediate", "high": "High", "standard": "Standard",
}


def label(value: str | None) -> str:
    return LABELS.get(value or "", (value or "").replace("_", " ").capitalize())
