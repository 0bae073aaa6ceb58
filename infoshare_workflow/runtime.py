"""What a running process holds: settings, the database engine and its sessions.

Built once by the app factory, the worker factory or the CLI, from the same settings, so
every door into the product sees the same database and keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .crypto import KeyRing
from .db import make_engine, make_sessionmaker, transaction


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

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


def build_runtime(settings: Settings) -> Runtime:
    KeyRing.configure(settings.encryption_keys)
    engine = make_engine(settings.database_url)
    return Runtime(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
