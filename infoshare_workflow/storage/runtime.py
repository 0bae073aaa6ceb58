"""What a running process holds: settings, the database engine and its sessions.

Built once by the app factory, the worker factory or the CLI, from the same settings, so
every door into the product sees the same database and keys. Outbox rows written in a
transaction are published right after it commits (never before), through `publish`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from infoshare_workflow.settings.config import Settings
from infoshare_workflow.storage.crypto import KeyRing
from infoshare_workflow.storage.db import make_engine, make_sessionmaker, outermost_commit, transaction
from infoshare_workflow.storage.outbox import committed_messages

log = logging.getLogger(__name__)


Publisher = Callable[[str, str, dict[str, Any]], None]


def _not_wired(message_id: str, task: str, kwargs: dict[str, Any]) -> None:
    """Until a Celery app is wired in, the relay publishes later: nothing is lost."""
    log.debug("outbox %s (%s) left for the relay", message_id, task)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    publish: Publisher = field(default=_not_wired)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.outbox_lease_seconds)

    def publish_safely(self, message_id: str, task: str, kwargs: dict[str, Any]) -> None:
        try:
            self.publish(message_id, task, kwargs)
        except Exception:  # noqa: BLE001 - the relay re-publishes after the lease
            log.warning("publishing outbox %s failed; the relay will retry it", message_id, exc_info=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session

    def database_reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False


def address_key_of(secret_key: str) -> bytes:
    """The key that turns a notice's address into its `addressee_key` (a keyed hash, so the
    column cannot be reversed by hashing guessed addresses)."""
    return hmac.new(secret_key.encode(), b"infoshare.notice-addressee", hashlib.sha256).digest()


def build_runtime(settings: Settings) -> Runtime:
    KeyRing.configure(settings.encryption_keys)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    sessions.configure(info={"policy": settings.policy, "timezone": settings.timezone,
                             "address_key": address_key_of(settings.secret_key)})
    runtime = Runtime(settings=settings, engine=engine, sessions=sessions)

    @event.listens_for(runtime.sessions, "after_commit")
    def _publish_after_commit(session: Session) -> None:
        """Only after the outermost commit: a released savepoint is not yet durable, and a task
        published then would reach a worker before its row exists (RELIABILITY.md)."""
        if outermost_commit(session):
            for message_id, task, kwargs in committed_messages(session):
                runtime.publish_safely(message_id, task, kwargs)

    return runtime
