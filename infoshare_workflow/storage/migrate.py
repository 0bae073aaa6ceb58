"""Schema migrations (Alembic), run programmatically so the CLI needs no alembic.ini, and the
check every command makes before it touches a database: reachable, and at the newest
migration, without creating anything (a failed command leaves no empty database behind).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE = 'run "infoshare db upgrade"'


class DatabaseNotReady(RuntimeError):
    """The database cannot be used as it is; the message is the one line to show."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def newest_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revise(engine: Engine, message: str) -> None:
    """Autogenerate a new revision (for developers changing models)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


def safe_url(url: str) -> str:
    """The URL as it may be shown: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def check_migrated(url: str) -> None:
    """Raise DatabaseNotReady unless the database at `url` answers and is at the newest migration.

    Reads only: a SQLite file that does not exist is not created, and one that exists is
    opened read-only.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseNotReady("INFOSHARE_DATABASE_URL is not a database URL such as postgresql://host/name") from None
    shown = safe_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).exists():
            raise DatabaseNotReady(f"the database is not migrated; {UPGRADE}")
        url = f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true"
    try:
        engine = create_engine(url, connect_args={} if parsed.get_backend_name() == "sqlite" else {"connect_timeout": 5})
    except (ArgumentError, NoSuchModuleError):
        raise DatabaseNotReady("INFOSHARE_DATABASE_URL names a database this installation cannot use") from None
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as exc:
        raise DatabaseNotReady(
            f"cannot reach the database at {shown} ({type(exc.orig).__name__}); "
            "check INFOSHARE_DATABASE_URL and that the database server is running") from None
    finally:
        engine.dispose()
    newest = newest_revision()
    if current is None:
        raise DatabaseNotReady(f"the database is not migrated; {UPGRADE}")
    if current != newest:
        script = ScriptDirectory.from_config(alembic_config())
        if current not in {rev.revision for rev in script.walk_revisions()}:
            raise DatabaseNotReady(f"the database is at migration {current}, newer than this version of "
                                   "infoshare-workflow knows: install the newer version")
        raise DatabaseNotReady(f"the database is not migrated (at {current}, the newest is {newest}); {UPGRADE}")
