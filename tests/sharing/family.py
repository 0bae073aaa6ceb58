"""A case shared without the family's consent, and the family it may tell (golden rule 2)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from infoshare_workflow.notices.reconsideration import notice_reconsideration
from infoshare_workflow.storage.models import Notice

from .. import factories
from ..workflow import DSL_EMAIL, REFUSED, answer, drain, read_outbox, share_form, walk_to_share

MOTHER, FATHER, CHILDMINDER = "ottoline@example.org", "tad@example.org", "minder@example.org"
FAMILY = [
    {"name": factories.CONTACT_NAME, "relationship": "mother", "email": MOTHER, "parental_responsibility": True,
     "preferred_language": "en"},
    {"name": "Tad Quillfeather", "relationship": "father", "email": FATHER, "parental_responsibility": True,
     "preferred_language": "cy-GB"},
    {"name": "Nan Quillfeather", "relationship": "grandmother", "email": None, "parental_responsibility": True},
    {"name": "Mo Minder", "relationship": "childminder", "email": CHILDMINDER, "parental_responsibility": False},
]
PERSONAL = (factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.PUPIL_DOB, factories.CONCERN_SUMMARY,
            factories.CONCERN_FACTS, factories.CONCERN_OPINION, "Quillfeather", "Ottoline")
HOLD = {"family_notice": "suppress", "suppress_reason": "The father may move the child if told",
        "reconsider_on": (date.today() + timedelta(days=30)).isoformat()}


def shared_without_consent(mis: Any, runtime: Any, app: Any, settings: Any, client: Any,
                           contacts: list[dict[str, Any]] = FAMILY, **form: Any) -> str:
    """Consent refused, then shared with children's social care; the family notice as `form` says."""
    recipients, case_id = walk_to_share(mis, runtime, app, settings, client, REFUSED, pupil={"contacts": contacts})
    response = answer(client, settings, app, DSL_EMAIL, share_form([recipients["csc"]], **form))
    assert response.status_code == 303, response.get_data(as_text=True)
    return case_id


def notices(runtime: Any) -> list[tuple[Any, ...]]:
    with runtime.transaction() as session:
        return [(n.status, n.addressee, n.relationship, n.language)
                for n in session.scalars(select(Notice).order_by(Notice.id))]


def family_mail(settings: Any) -> list[Any]:
    return [m for m in read_outbox(settings.outbox_dir) if m["To"] in (MOTHER, FATHER, CHILDMINDER)]


def ask_again(runtime: Any, app: Any, on: date | None = None) -> dict[str, int]:
    """The reconsideration date comes, and the scheduled job runs (its emails sent)."""
    with runtime.transaction() as session:
        session.execute(update(Notice).where(Notice.status == "suppressed", Notice.reconsidered_at.is_(None))
                        .values(reconsider_on=on or date.today()))
    counts = notice_reconsideration(runtime, 1, lambda done, total: None, lambda *row: None)
    drain(app)
    return counts
