"""The `infoshare` command line (INTERFACES.md §4). A bad argument exits 2 with one line."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from .config import ConfigError, load_settings
from .runtime import Runtime, build_runtime


def _runtime() -> Runtime:
    return build_runtime(load_settings())


@click.group(help="Safeguarding information-sharing workflow for schools.")
@click.version_option(package_name="infoshare-workflow")
def cli() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@cli.command(help="Run the web app (on the embedded defaults with nothing set).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
def serve(host: str, port: int) -> None:
    from gunicorn.app.base import BaseApplication

    from .app import create_app
    from .migrate import upgrade

    settings = load_settings()
    if settings.embedded:
        upgrade(build_runtime(settings).engine)
    flask_app = create_app(settings)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("workers", 1)

        def load(self) -> Any:
            return flask_app

    click.echo(f"infoshare: serving on http://{host}:{port} (database {_safe_url(settings.database_url)})")
    Server().run()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.group(help="Database schema and keys.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply schema migrations up to the newest.")
def db_upgrade() -> None:
    from .migrate import upgrade

    runtime = _runtime()
    upgrade(runtime.engine)
    click.echo(f"database {_safe_url(runtime.settings.database_url)} is up to date")


@db.command("reencrypt", help="Re-encrypt sensitive columns under the newest INFOSHARE_ENCRYPTION_KEYS key.")
def db_reencrypt() -> None:
    from .key_rotation import reencrypt

    total = reencrypt(_runtime().engine, progress=click.echo)
    click.echo(f"{total} values re-encrypted under the newest key")


@cli.group(help="Administration.")
def admin() -> None:
    pass


@admin.command("create-token", help="Create an admin API token; it is printed once, stored hashed.")
@click.argument("name")
def create_token(name: str) -> None:
    from .admin_tokens import TokenNameTaken
    from .admin_tokens import create_token as create

    try:
        with _runtime().transaction() as session:
            token = create(session, name)
    except TokenNameTaken:
        raise click.UsageError(f"a token named {name!r} already exists") from None
    click.echo(token)


@cli.group(help="The tamper-evident audit trail.")
def audit() -> None:
    pass


@audit.command("verify", help="Recompute the hash chain; exit 1 and name the first bad event if broken.")
def audit_verify() -> None:
    from . import audit as audit_trail

    with _runtime().transaction() as session:
        result = audit_trail.verify(session)
    if result.ok:
        click.echo(f"ok: {result.events} events, head {result.head}")
        return
    click.echo(f"broken: first bad event is seq {result.first_bad} ({result.events} checked)", err=True)
    sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="infoshare", standalone_mode=False)
    except click.UsageError as exc:
        click.echo(f"infoshare: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.Abort:
        sys.exit(1)
    except ConfigError as exc:
        click.echo(f"infoshare: {exc}", err=True)
        sys.exit(2)
