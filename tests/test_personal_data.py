"""Personal data stays out of logs, the audit table and plain-text columns.

Golden rule 6 ("shared securely") and DOMAIN.md: audit details and logs refer to cases by
id; names, dates of birth, contacts and concern text are encrypted at rest.
"""

from __future__ import annotations

import logging

from sqlalchemy import text

from infoshare_workflow.storage.models import Base

from . import factories

SECRETS = [factories.PUPIL_GIVEN, factories.PUPIL_FAMILY, factories.PUPIL_DOB, factories.CONTACT_NAME,
           factories.CONCERN_SUMMARY, factories.CONCERN_FACTS, factories.CONCERN_OPINION, "ottoline@example.org"]


def exercise(mis):
    mis.post(factories.concern_raised("C-pd-1"))
    mis.post(factories.concern_raised("C-pd-1"))
    mis.post(factories.concern_raised("C-pd-2", urgency="soon"))
    mis.post(factories.concern_updated("C-pd-1", facts_addendum=factories.CONCERN_FACTS + " again"))
    mis.post(factories.envelope("pupil.updated", {"pupil": factories.pupil()}))


def test_no_personal_data_reaches_the_logs(mis, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statements and their parameters
    try:
        exercise(mis)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert "INSERT INTO" in caplog.text  # the SQL log was really captured
    for secret in SECRETS:
        assert secret not in caplog.text


def test_no_personal_data_is_stored_in_plain_text_anywhere(mis, runtime):
    exercise(mis)
    with runtime.engine.connect() as connection:
        dump = []
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f"SELECT * FROM {table.name}")):
                dump.append(" ".join(str(v) for v in row))
    everything = "\n".join(dump)
    assert "case.opened" in everything  # the audit table was really read
    for secret in SECRETS:
        assert secret not in everything


def test_the_stored_record_decrypts_to_what_the_mis_sent(mis, runtime):
    from sqlalchemy import select

    from infoshare_workflow.storage.models import Concern

    mis.post(factories.concern_raised("C-pd-3"))
    with runtime.transaction() as session:
        concern = session.scalars(select(Concern)).one()
        assert (concern.facts, concern.opinion) == (factories.CONCERN_FACTS, factories.CONCERN_OPINION)
        assert concern.pupil.given_name == factories.PUPIL_GIVEN
        assert concern.pupil.date_of_birth.isoformat() == factories.PUPIL_DOB
