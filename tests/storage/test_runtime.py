"""Work leaves a transaction only when the outermost transaction commits (RELIABILITY.md,
"enqueue before commit"): a released savepoint is not yet durable, a rolled-back one never was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from infoshare_workflow.records import audit
from infoshare_workflow.storage import outbox
from infoshare_workflow.storage.models import AuditEvent, OutboxMessage

from .. import factories
from ..conftest import apply_accepted
from ..workflow import DSL, set_up_school


def recording(runtime: Any) -> list[tuple[str, str, bool]]:
    """Publish into a list, noting whether the outbox row was committed when it was published."""
    published: list[tuple[str, str, bool]] = []

    def publish(message_id: str, task: str, kwargs: dict[str, Any]) -> None:
        with runtime.sessions() as other:  # another connection sees only committed rows
            published.append((message_id, task, other.get(OutboxMessage, message_id) is not None))

    runtime.publish = publish
    return published


def test_a_released_savepoint_publishes_nothing_until_the_real_commit(runtime):
    published = recording(runtime)
    with runtime.sessions() as session, session.begin():
        with session.begin_nested():
            outbox.enqueue(session, "infoshare.test.noop")
        assert published == []
    assert [(task, committed) for _, task, committed in published] == [("infoshare.test.noop", True)]


def test_a_rolled_back_savepoint_drops_only_its_own_work(runtime):
    published = recording(runtime)
    with runtime.sessions() as session, session.begin():
        outbox.enqueue(session, "infoshare.test.kept")
        audit.append(session, actor="test", action="test.kept")
        try:
            with session.begin_nested():
                outbox.enqueue(session, "infoshare.test.dropped")
                audit.append(session, actor="test", action="test.dropped")
                raise LookupError
        except LookupError:
            pass
    assert [task for _, task, _ in published] == ["infoshare.test.kept"]
    with runtime.transaction() as session:
        assert list(session.scalars(select(AuditEvent.action))) == ["test.kept"]


def test_applying_a_concern_publishes_its_email_only_once_the_email_row_is_committed(mis, runtime):
    set_up_school(mis, runtime)
    published = recording(runtime)
    body = factories.body_of(factories.concern_raised("C-commit-1", assigned_dsl=DSL))
    response = mis.client.post("/webhooks/mis", data=body, headers=factories.signed_headers(
        runtime.settings.mis_webhook_secret, body))
    assert response.status_code == 202
    assert apply_accepted(runtime) == 1
    assert [task for _, task, _ in published] == ["infoshare.mail.send"]
    assert all(committed for _, _, committed in published), published
