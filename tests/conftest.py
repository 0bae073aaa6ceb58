"""Shared fixtures: real PostgreSQL and SQLite databases, the real app, signed requests.

Every database test runs on both engines. PostgreSQL gets a fresh database per test run
(dropped at the end); tables are emptied between tests.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from infoshare_workflow.app import create_app
from infoshare_workflow.config import Settings
from infoshare_workflow.migrate import upgrade
from infoshare_workflow.models import Base
from infoshare_workflow.runtime import Runtime, build_runtime

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


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


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
        body = event if isinstance(event, bytes) else factories.body_of(event)
        headers = factories.signed_headers(self.secret, body, msg_id=msg_id, **kwargs)
        return self.client.post("/webhooks/mis", data=body, headers=headers)


@pytest.fixture
def mis(client: FlaskClient, settings: Settings) -> MisSender:
    return MisSender(client, settings.mis_webhook_secret)


@pytest.fixture
def admin_token(runtime: Runtime) -> str:
    from infoshare_workflow.admin_tokens import create_token

    with runtime.transaction() as session:
        return create_token(session, f"test-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def api(client: FlaskClient, admin_token: str) -> Any:
    class Api:
        def get(self, path: str, **kwargs: Any) -> Any:
            return client.get(path, headers={"Authorization": f"Bearer {admin_token}"}, **kwargs)

    return Api()


ROOT = Path(__file__).resolve().parent.parent
