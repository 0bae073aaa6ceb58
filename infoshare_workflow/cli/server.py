"""`infoshare serve` and `infoshare demo`: the web app, and the product walked with a small school.

On the embedded defaults both migrate the SQLite file and run an in-process worker; emailed
links name the port the app listens on unless INFOSHARE_BASE_URL says otherwise.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

import click

from infoshare_workflow.cli.context import CommandFailed, migrated_runtime, removed_on_failure
from infoshare_workflow.settings.config import load_settings, served_at
from infoshare_workflow.storage.migrate import safe_url, upgrade
from infoshare_workflow.storage.runtime import build_runtime

PORT = click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
HOST = click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")


@click.command(help="Run the web app (on the embedded defaults with nothing set).")
@HOST
@PORT
def serve(host: str, port: int) -> None:
    from gunicorn.app.base import BaseApplication

    from infoshare_workflow.service.app import create_app

    _can_listen(host, port)
    with removed_on_failure():
        settings = served_at(load_settings(), host, port)
        if settings.embedded:
            upgrade(build_runtime(settings).engine)
        else:
            migrated_runtime()
        flask_app = create_app(settings)
    if settings.embedded_broker:
        from infoshare_workflow.service.inprocess import InProcessWorker

        runtime = flask_app.extensions["infoshare"]

        def post_fork(server: Any, worker: Any) -> None:
            InProcessWorker(flask_app.extensions["infoshare.celery"], runtime).start()
    else:
        post_fork = None

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("workers", 1)
            self.cfg.set("logger_class", "infoshare_workflow.monitoring.log_redaction.GunicornLogger")
            if post_fork is not None:  # the embedded broker lives in the one worker process
                self.cfg.set("post_fork", post_fork)

        def load(self) -> Any:
            return flask_app

    click.echo(f"infoshare: serving on http://{host}:{port}, links to {settings.base_url} "
               f"(database {safe_url(settings.database_url)})")
    Server().run()


@click.command(help="Run the product on the embedded defaults with a small school and three concerns; "
                    "prints each emailed link. --auto answers every task and exits.")
@click.option("--auto", is_flag=True, help="Walk every case to its end, then exit 0 (1 if anything fails).")
@click.option("--verbose", "-v", is_flag=True, help="Show migration and request logs too.")
@HOST
@PORT
def demo(auto: bool, verbose: bool, host: str, port: int) -> None:
    from infoshare_workflow.cli.demo import run_demo

    # The demo's own lines are the output; migration and request logs only when asked for
    # (werkzeug raises its own logger to INFO unless it is set).
    logging.getLogger().setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)
    _can_listen(host, port)
    try:
        with removed_on_failure():
            code = run_demo(served_at(load_settings(), host, port), auto=auto, host=host, port=port,
                            echo=click.echo)
    except (RuntimeError, TimeoutError) as exc:
        raise CommandFailed(f"demo: {exc}") from None
    sys.exit(code)


def _can_listen(host: str, port: int) -> None:
    """Fail in one line before anything is created when the address is taken."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise CommandFailed(f"cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__}); "
                            "choose another with --port") from None
