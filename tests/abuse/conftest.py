"""The abuse suite runs on PostgreSQL, as deployed: what it proves is about the doors (HTTP,
gunicorn, the forms), not the database engine, which the rest of the suite covers on both."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_url(postgresql_url: str) -> str:
    return postgresql_url
