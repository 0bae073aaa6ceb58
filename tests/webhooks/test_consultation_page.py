"""The manager's consultation page in any script: pseudonymised, never a 500, never a name in a log.

Golden rule 3: seek advice "without disclosing the identity of the individual where possible".
"""

from __future__ import annotations

import html
import logging
import uuid
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from .. import factories
from ..workflow import DSL_EMAIL, MANAGER_EMAIL, consent_given, drain, link_in, set_up_school, submit


def manager_page(mis, runtime, app, settings, client, concern_id: str = "C-page", **overrides: Any) -> tuple[int, str]:
    """Raise a concern, answer consent, and open the manager's consultation link."""
    response = mis.post(factories.concern_raised(concern_id, **overrides))
    assert response.status_code == 202, response.get_json()
    drain(app)
    case_id = response.get_json()["case_id"]
    dsl_link = next(link_in(m) for m in reversed(
        [m for m in _outbox(settings) if m["To"] == DSL_EMAIL and m["X-Infoshare-Case"] == case_id]))
    dsl_page = client.get(dsl_link)
    assert dsl_page.status_code == 200
    submit(client, dsl_link, consent_given())
    drain(app)
    manager_link = next(link_in(m) for m in reversed(
        [m for m in _outbox(settings) if m["To"] == MANAGER_EMAIL and m["X-Infoshare-Case"] == case_id]))
    page = client.get(manager_link)
    return page.status_code, html.unescape(page.get_data(as_text=True))  # what the manager reads


def _outbox(settings):
    from ..workflow import read_outbox

    return read_outbox(settings.outbox_dir)


def test_a_pupil_called_ibrahim_is_masked_in_every_case_and_the_page_answers(mis, runtime, app, settings, client,
                                                                            caplog):
    set_up_school(mis, runtime)
    caplog.set_level(logging.DEBUG)
    status, page = manager_page(mis, runtime, app, settings, client, pupil={"given_name": "İbrahim"},
                                summary="İbrahim's coat was wet", facts="IBRAHIM said he slept in the car. ibrahim cried.")
    assert status == 200
    for name in ("İbrahim", "IBRAHIM", "ibrahim", "Ibrahim"):
        assert name not in page
    assert "[pupil] said he slept in the car" in page and "[pupil]'s coat" in page
    assert "brahim" not in caplog.text.lower()


def test_every_part_of_every_name_and_contact_details_are_masked(mis, runtime, app, settings, client):
    set_up_school(mis, runtime)
    status, page = manager_page(
        mis, runtime, app, settings, client,
        pupil={"given_name": "Anna Maria", "family_name": "Lopez-Garcia", "date_of_birth": "2013-07-19",
               "contacts": [{"name": "Li Wu", "relationship": "aunt", "email": "li.wu@example.org"}]},
        facts=("Anna said Li Wu collects her; Maria's friend saw Lopez-Garcia at 08:10. A. Lopez-Garcia was born "
               "19/07/2013. Her aunt (li.wu@example.org, 07700 900123) lives at S1 2HE."),
        opinion="Wu seems worried about A.M.L.G.")
    assert status == 200
    for leak in ("Anna", "Maria", "Lopez", "Garcia", "Li Wu", " Wu", "li.wu@example.org", "07700 900123",
                 "S1 2HE", "19/07/2013", "A.M.L.G."):
        assert leak not in page, leak
    assert "08:10" in page and "[email]" in page and "[phone]" in page and "[postcode]" in page


def test_ordinary_words_are_left_alone(mis, runtime, app, settings, client):
    set_up_school(mis, runtime)
    status, page = manager_page(mis, runtime, app, settings, client,
                                pupil={"given_name": "Riley", "family_name": "Demo"},
                                summary="Demo concern: see facts and opinion", facts="Riley Demo was upset.")
    assert status == 200
    assert "Demo concern: see facts and opinion" in page and "[pupil] was upset" in page


names = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    lambda s: s.strip() != "")
prose = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(
    lambda s: s.strip() != "")


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(given_name=names, family_name=names, contact=names, summary=prose, facts=prose, data=st.data())
def test_no_page_answers_500_for_any_unicode(mis, runtime, app, settings, client, caplog, given_name, family_name,
                                             contact, summary, facts, data):
    set_up_school(mis, runtime)
    mention = data.draw(st.sampled_from([given_name.upper(), given_name.casefold(), family_name.title(), contact]))
    concern_id = f"C-u-{uuid.uuid4().hex[:12]}"  # the database lives across examples
    status, page = manager_page(mis, runtime, app, settings, client, concern_id,
                                pupil={"given_name": given_name, "family_name": family_name,
                                       "contacts": [{"name": contact}]},
                                summary=summary, facts=f"{facts} {mention} said so.")
    assert status == 200
    assert all(r.levelno < logging.ERROR for r in caplog.records), [r.getMessage() for r in caplog.records]
