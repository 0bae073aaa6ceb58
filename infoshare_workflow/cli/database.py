"""`infoshare db`: the schema and the keys of what is stored."""

from __future__ import annotations

import logging

import click

from infoshare_workflow.cli.context import migrated_runtime, removed_on_failure
from infoshare_workflow.settings.config import load_settings
from infoshare_workflow.storage.migrate import safe_url, upgrade
from infoshare_workflow.storage.runtime import build_runtime


@click.group(help="Database schema and keys.")
def db() -> None:
    pass


@db.command("upgrade", help="Create or migrate the database up to the newest schema.")
def db_upgrade() -> None:
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)  # each migration applied, one line
    with removed_on_failure():
        runtime = build_runtime(load_settings())
        upgrade(runtime.engine)
    click.echo(f"database {safe_url(runtime.settings.database_url)} is up to date")


@db.command("reencrypt", help="Re-encrypt sensitive columns under the newest INFOSHARE_ENCRYPTION_KEYS key.")
def db_reencrypt() -> None:
    from infoshare_workflow.storage.key_rotation import reencrypt

    total = reencrypt(migrated_runtime().engine, progress=click.echo)
    click.echo(f"{total} values re-encrypted under the newest key")
