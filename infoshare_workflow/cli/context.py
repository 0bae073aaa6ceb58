"""What every command needs: a runtime on a database it can use, and who is acting.

A command that reads or changes records checks first that the database answers and is at
the newest migration, without creating anything, and otherwise stops with one line saying
what to do (exit 1). A command that creates the embedded database removes what it made if
it fails, so a failed first step leaves no empty database or secrets file behind.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infoshare_workflow.settings.config import EMBEDDED_DATABASE_URL, database_url_of, embedded_files, load_settings
from infoshare_workflow.storage.migrate import DatabaseNotReady, check_migrated
from infoshare_workflow.storage.runtime import Runtime, build_runtime


class CommandFailed(Exception):
    """The command cannot go on; the message is the one line to show (exit 1)."""


def migrated_runtime() -> Runtime:
    """The runtime, once the database is known to answer and be fully migrated."""
    try:
        check_migrated(database_url_of())
    except DatabaseNotReady as exc:
        raise CommandFailed(str(exc)) from None
    return build_runtime(load_settings())


@contextmanager
def removed_on_failure() -> Iterator[None]:
    """On the embedded defaults, delete the files this command created if it fails."""
    url = database_url_of()
    watched = embedded_files(url) if url == EMBEDDED_DATABASE_URL else []
    existed = {path for path in watched if path.exists()}
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, KeyboardInterrupt):
            _remove(path for path in watched if path not in existed)
        raise


def _remove(paths: Iterator[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def cli_actor() -> str:
    """Who ran the command, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (OSError, KeyError):  # no login name (e.g. a container with an unnamed uid)
        return "cli"
