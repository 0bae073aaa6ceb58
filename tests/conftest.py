"""Shared fixtures: real PostgreSQL and SQLite databases, the real app, signed requests.

Every database test runs on both engines, unless it is marked `postgresql_only` (production
faults, real worker and server processes, PostgreSQL's own locking). PostgreSQL gets a fresh
database per test run (dropped at the end); tables are emptied between tests.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from celery import Celery
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from infoshare_workflow.service.app import create_app
from infoshare_workflow.settings.config import RateLimits, Settings
from infoshare_workflow.storage.migrate import upgrade
from infoshare_workflow.storage.models import Base
from infoshare_workflow.storage.runtime import Runtime, build_runtime

from . import factories

POSTGRES_ADMIN_URL = os.environ.get("INFOSHARE_TEST_POSTGRES", "postgresql://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("INFOSHARE_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    name = f"infoshare_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'infoshare-test.db'}"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    settings = Settings(
        database_url=database_url,
        broker_url="memory://",
        mis_webhook_secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        secret_key=secrets.token_urlsafe(32),
        encryption_keys=(Fernet.generate_key().decode(),),
        school_name="Northfield Test School",
        rate_limits=RateLimits.off(),  # tests of the limits switch them on (tests/webhooks/test_rate_limits.py)
    )
    return replace(settings, **overrides)


_migrated: set[str] = set()


def _fresh(engine: Engine, url: str) -> None:
    if url not in _migrated:
        upgrade(engine)
        _migrated.add(url)
    with engine.begin() as connection:
        names = [t.name for t in reversed(Base.metadata.sorted_tables)]
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                connection.execute(text(f"DELETE FROM {name}"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each database test on both engines, or on PostgreSQL alone when marked `postgresql_only`."""
    if "database_url" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("postgresql_only") is not None
        metafunc.parametrize("database_url", ["postgresql"] if only else ["postgresql", "sqlite"], indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, outbox_dir=str(tmp_path / "outbox"), queue=f"infoshare-test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    _fresh(rt.engine, settings.database_url)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def app(runtime: Runtime) -> Iterator[Flask]:
    flask_app = create_app(runtime.settings)
    yield flask_app
    flask_app.extensions["infoshare"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class MisSender:
    """Posts events to the receiver as a signing MIS would."""

    def __init__(self, client: FlaskClient, secret: str) -> None:
        self.client, self.secret = client, secret

    def post(self, event: Any, msg_id: str | None = None, **kwargs: Any) -> Any:
        """Post, then apply what was accepted in-process, as the worker would right after."""
        body = event if isinstance(event, bytes) else factories.body_of(event)
        headers = factories.signed_headers(self.secret, body, msg_id=msg_id, **kwargs)
        response = self.client.post("/webhooks/mis", data=body, headers=headers)
        if response.status_code == 202:
            apply_accepted(self.client.application.extensions["infoshare"])
        return response


def apply_accepted(runtime: Runtime) -> int:
    """Apply every accepted, unapplied MIS event (the worker's `infoshare.mis.apply`, in-process)."""
    from infoshare_workflow.cases.intake import apply_pending

    return apply_pending(runtime.sessions)


@pytest.fixture
def mis(client: FlaskClient, settings: Settings) -> MisSender:
    return MisSender(client, settings.mis_webhook_secret)


@pytest.fixture
def admin_token(runtime: Runtime) -> str:
    from infoshare_workflow.access.admin_tokens import create_token

    with runtime.transaction() as session:
        return create_token(session, f"test-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def api(client: FlaskClient, admin_token: str) -> Any:
    class Api:
        """The test client with the token, for every method."""

        def open(self, path: str, method: str = "GET", **kwargs: Any) -> Any:
            return client.open(path, method=method, headers={"Authorization": f"Bearer {admin_token}"}, **kwargs)

        def get(self, path: str, **kwargs: Any) -> Any:
            return self.open(path, "GET", **kwargs)

        def post(self, path: str, **kwargs: Any) -> Any:
            return self.open(path, "POST", **kwargs)

        def put(self, path: str, **kwargs: Any) -> Any:
            return self.open(path, "PUT", **kwargs)

    return Api()


ROOT = Path(__file__).resolve().parent.parent


def worker_env(settings: Settings, queue: str, broker_url: str = REDIS_URL) -> dict[str, str]:
    return {
        **os.environ,
        "INFOSHARE_DATABASE_URL": settings.database_url,
        "INFOSHARE_BROKER_URL": broker_url,
        "INFOSHARE_MIS_WEBHOOK_SECRET": settings.mis_webhook_secret,
        "INFOSHARE_SECRET_KEY": settings.secret_key,
        "INFOSHARE_ENCRYPTION_KEYS": ",".join(settings.encryption_keys),
        "INFOSHARE_SCHOOL_NAME": settings.school_name or "",
        "INFOSHARE_QUEUE": queue,
        "INFOSHARE_OUTBOX_DIR": settings.outbox_dir,
        "INFOSHARE_DISPATCH_INTERVAL": str(settings.dispatch_interval),
        "INFOSHARE_OUTBOX_LEASE": str(settings.outbox_lease_seconds),
        **({"INFOSHARE_SMTP_URL": settings.smtp_url} if settings.smtp_url else {}),
        **({"INFOSHARE_POLICY_FILE": settings.policy_file} if settings.policy_file else {}),
        **{f"INFOSHARE_RATE_LIMIT_{door.upper()}": getattr(settings.rate_limits, door) or "off"
           for door in ("webhook", "pages", "api", "failures")},
        "INFOSHARE_RATE_LIMIT_STORAGE_URL": settings.rate_limits.storage_url,
    }


class WorkerProcess:
    """A real `celery worker` process on Redis, consuming a queue of its own."""

    def __init__(self, settings: Settings, log_path: Path, beat: bool = False, pool: str = "solo",
                 extra_env: dict[str, str] | None = None) -> None:
        self.queue = settings.queue
        self.settings = settings
        self.log_path = log_path
        self.beat = beat
        self.pool = pool
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        celery = str(Path(sys.executable).with_name("celery"))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [celery, "-A", "infoshare_workflow.worker", "worker", "-Q", self.queue, f"--pool={self.pool}",
             "--loglevel=INFO", "-n", f"{self.queue}-{uuid.uuid4().hex[:4]}@%h", "--without-gossip",
             "--without-mingle",
             *(["-B", "-s", str(self.log_path.with_suffix(".beat"))] if self.beat else [])],
            env={**worker_env(self.settings, self.queue), **self.extra_env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: an embedded beat child dies with it
        )

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Signal the whole process group (a SIGKILLed worker must not leave its beat behind)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if sig != signal.SIGKILL:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # anything the group left behind
            except ProcessLookupError:
                pass

    def client(self) -> Celery:
        return Celery("infoshare-test-client", broker=REDIS_URL)

    def send(self, name: str, **kwargs: Any) -> None:
        with self.client() as client:
            client.send_task(name, kwargs=kwargs, queue=self.queue)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def worker(settings: Settings, runtime: Runtime, tmp_path: Path) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(settings, tmp_path / "worker.log")
    proc.start()
    yield proc
    proc.kill()
    redis.Redis.from_url(REDIS_URL).delete(proc.queue)


class WebProcess:
    """The web app under real gunicorn, configured as docker-compose runs it (access log on
    stdout, the redacting logger class), on a free port; everything it logs goes to one file."""

    def __init__(self, settings: Settings, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        from .smtp import free_port

        self.settings, self.log_path, self.port = settings, log_path, free_port()
        self.extra_env = extra_env or {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import requests

        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [gunicorn, f"--bind=127.0.0.1:{self.port}", "--workers=1", "--worker-class=gthread", "--threads=4",
             "--access-logfile=-", "--error-logfile=-",
             "--logger-class=infoshare_workflow.monitoring.log_redaction.GunicornLogger", "infoshare_workflow.wsgi:app"],
            env={**worker_env(self.settings, self.settings.queue), **self.extra_env}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)

        def up() -> bool:
            try:
                return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except requests.RequestException:  # not listening yet, or too busy starting to answer in time
                return False

        wait_for(up, timeout=30)

    def post_event(self, event: dict[str, Any], msg_id: str | None = None, timeout: float = 30.0) -> Any:
        """POST one MIS event to the webhook, signed now as the MIS signs it (`msg_id`: its webhook-id)."""
        import requests

        body = factories.body_of(event)
        return requests.post(f"{self.url}/webhooks/mis", data=body, timeout=timeout,
                             headers=factories.signed_headers(self.settings.mis_webhook_secret, body, msg_id=msg_id))

    def stop(self) -> None:
        """Stop and wait, so that everything it logged is in the file (safe to call twice)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def web(settings: Settings, runtime: Runtime, tmp_path: Path) -> Iterator[WebProcess]:
    proc = WebProcess(settings, tmp_path / "web.log")
    proc.start()
    yield proc
    proc.stop()


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Poll until `predicate()` is truthy; fail with a clear message at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def answers(url: str) -> bool:
    """Whether a server answers `url` at all (any status)."""
    import requests

    try:
        requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    return True


@pytest.fixture
def smtp() -> Iterator[tuple[Any, str]]:
    """A real SMTP server in-process: (inbox, smtp:// URL)."""
    from .smtp import smtp_server

    with smtp_server() as pair:
        yield pair
