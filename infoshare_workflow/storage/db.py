"""Engine and session plumbing for PostgreSQL (production) and SQLite (embedded default).

The database is the source of truth for every case, step and decision, so both engines are
set up for concurrent writers: SQLite runs in WAL mode and takes its write lock at BEGIN
(BEGIN IMMEDIATE), so two writers queue instead of failing halfway through a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Parameters are hidden from logs and error messages: they may carry a child's record."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _serialise_sqlite_writers(engine)
        return engine
    # No ping per checkout (it costs a round trip on every request); a connection broken by a
    # database restart is invalidated on first use, which answers 503 and the MIS retries.
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, **kwargs)


def _serialise_sqlite_writers(engine: Engine) -> None:
    """pysqlite's own BEGIN handling defers locks; take over so every transaction is IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def insert(executor: Session | Connection, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both dialects (constraints, not check-then-insert)."""
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# Work that belongs to a transaction and must happen only when the *outermost* transaction
# commits: audit events chained just before it, outbox messages published just after it.
# SQLAlchemy fires before_commit/after_commit when a SAVEPOINT is released too, and
# after_rollback when one is rolled back, so these hooks tell the two apart: a released
# savepoint keeps its items for the real commit, a rolled-back one drops only its own.
_DEFERRED = "deferred"
_MARKS = "deferred_marks"


def defer(session: Session, key: str, item: Any) -> None:
    """Keep `item` until the outermost transaction ends: `take_deferred` on commit, dropped on rollback."""
    session.info.setdefault(_DEFERRED, {}).setdefault(key, []).append(item)


def take_deferred(session: Session, key: str) -> list[Any]:
    return list(session.info.get(_DEFERRED, {}).pop(key, []))


def outermost_commit(session: Session) -> bool:
    """True in before_commit/after_commit for the real commit, False for a released savepoint."""
    return not session.in_nested_transaction()


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: Any) -> None:
    if transaction.nested:
        lengths = {key: len(items) for key, items in session.info.get(_DEFERRED, {}).items()}
        session.info.setdefault(_MARKS, {})[transaction] = lengths


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: Any) -> None:
    lengths = session.info.get(_MARKS, {}).pop(previous_transaction, None)
    if previous_transaction.nested and lengths is not None:
        for key, items in session.info.get(_DEFERRED, {}).items():
            del items[lengths.get(key, 0):]
    elif previous_transaction.parent is None:
        session.info.pop(_DEFERRED, None)


@event.listens_for(Session, "after_transaction_end")
def _end_of_outermost(session: Session, transaction: Any) -> None:
    """Nothing deferred outlives its transaction (a session may run several in turn)."""
    if transaction.parent is None:
        session.info.pop(_MARKS, None)
        session.info.pop(_DEFERRED, None)
