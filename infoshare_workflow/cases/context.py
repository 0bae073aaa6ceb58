"""What a task page shows: the full case for the DSL, a pseudonymised one for the manager.

Golden rule 3: seek advice "without disclosing the identity of the individual where
possible": the consultation view has no name, no date of birth (the year group instead),
no contact details, and free text is pseudonymised too (`pseudonymise.py`: every part of
the pupil's and contacts' names, the date of birth, emails, phone numbers, postcodes).
Facts and opinion are always shown apart (the Accurate principle).
"""

from __future__ import annotations

from typing import Any

from infoshare_workflow.cases.pseudonymise import Identity, Pseudonymiser
from infoshare_workflow.storage.models import Case, Staff

KIND_LABELS = {
    "concern_raised": "Concern raised",
    "facts_addendum": "Facts added",
    "opinion_addendum": "Opinion added",
    "urgency_changed": "Urgency changed",
    "threshold_changed": "Threshold changed",
}


def _masker(case: Case) -> Pseudonymiser:
    pupil = case.concern.pupil
    return Pseudonymiser(Identity(pupil_names=(pupil.given_name, pupil.family_name),
                                  contact_names=tuple(c.name for c in pupil.contacts),
                                  date_of_birth=pupil.date_of_birth))


def _concern(case: Case, mask: Any) -> dict[str, Any]:
    concern = case.concern
    facts = [concern.facts, *[e.text for e in case.chronology if e.kind == "facts_addendum"]]
    opinion = [concern.opinion, *[e.text for e in case.chronology if e.kind == "opinion_addendum"]]
    return {
        "category": concern.category, "raised_at": concern.raised_at, "summary": mask(concern.summary),
        "facts": [mask(t) for t in facts if t], "opinion": [mask(t) for t in opinion if t],
    }


def _chronology(case: Case, mask: Any) -> list[dict[str, Any]]:
    return [{"at": e.at, "label": KIND_LABELS.get(e.kind, e.kind), "text": mask(e.text) if e.text else None}
            for e in case.chronology]


def _decisions(case: Case, mask: Any, *, private: bool) -> list[dict[str, Any]]:
    shown = []
    for record in case.decisions:
        payload = dict(record.payload)
        if not private:
            payload.pop("party_name", None)
        shown.append({"kind": record.kind, "recorded_at": record.recorded_at, "recorded_by": record.recorded_by,
                      "payload": {k: mask(v) if isinstance(v, str) else v for k, v in payload.items()}})
    return shown


def full_view(case: Case, reporter: Staff | None) -> dict[str, Any]:
    """For the DSL, who owns the case (consent, information and share steps)."""
    pupil = case.concern.pupil
    same = lambda text: text  # noqa: E731
    return {
        "pseudonymised": False,
        "case_id": case.case_id, "urgency": case.urgency, "threshold": case.threshold,
        "pupil": {"name": f"{pupil.given_name} {pupil.family_name}", "date_of_birth": pupil.date_of_birth,
                  "year_group": pupil.year_group, "email": pupil.email,
                  "contacts": [{"name": c.name, "relationship": c.relationship_to_pupil, "email": c.email,
                                "parental_responsibility": c.parental_responsibility} for c in pupil.contacts]},
        "reporter": {"staff_id": case.concern.reporter_staff_id, "name": reporter.name if reporter else None},
        "concern": _concern(case, same),
        "chronology": _chronology(case, same),
        "decisions": _decisions(case, same, private=True),
    }


def pseudonymised_view(case: Case) -> dict[str, Any]:
    """For the consulted manager: what is needed to advise, without identity."""
    mask = _masker(case)
    return {
        "pseudonymised": True,
        "case_id": case.case_id, "urgency": case.urgency, "threshold": case.threshold,
        "pupil": {"year_group": case.concern.pupil.year_group},
        "concern": _concern(case, mask),
        "chronology": _chronology(case, mask),
        "decisions": _decisions(case, mask, private=False),
    }
