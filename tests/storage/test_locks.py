"""Taking a case's row: waiting for it by default, or not at all when asked (storage/locks.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from infoshare_workflow.storage.locks import lock_case
from infoshare_workflow.storage.models import Case

from .. import factories

pytestmark = pytest.mark.postgresql_only  # SQLite runs one writing transaction at a time


@pytest.fixture
def case_id(mis) -> str:
    return mis.post(factories.concern_raised("C-lock")).get_json()["case_id"]


def case_in(session, case_id: str) -> Case:
    return session.scalars(select(Case).where(Case.case_id == case_id)).one()


def test_a_case_another_transaction_holds_is_not_taken_without_waiting(runtime, case_id):
    with runtime.transaction() as holder:
        assert lock_case(holder, case_in(holder, case_id))
        with runtime.transaction() as other:
            assert lock_case(other, case_in(other, case_id), wait=False) is False


def test_a_free_case_is_taken_and_read_again_as_committed(runtime, case_id):
    with runtime.transaction() as session:
        case = case_in(session, case_id)
        with runtime.transaction() as other:
            other.execute(update(Case).where(Case.case_id == case_id).values(urgency="high"))

        assert lock_case(session, case, wait=False)
        assert case.urgency == "high"
