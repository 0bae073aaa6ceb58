"""The baseline for `bench/ingest.py`: the least a signed webhook receiver can do.

Why it exists: the product's throughput only means something beside what the same machine,
server, signature check and database can do with no product logic at all. This app verifies
the Standard Webhooks signature with the same library as `infoshare_workflow/webhooks/mis.py`, parses the
JSON, inserts one row (the `webhook-id` and the raw body) and answers 202. No schema, no
encryption, no audit chain, no ORM session.

It is served by gunicorn with the same options as the product (`bench/ingest.py` starts it
as `baseline_app:app_from_environment()`) and reads:

- `BENCH_DATABASE_URL`: `postgresql://…` of the benchmark's database;
- `BENCH_WEBHOOK_SECRET`: the `whsec_…` secret the load generator signs with.

The table (`BASELINE_TABLE`) is created by `bench/ingest.py` before the server starts.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, jsonify, request
from sqlalchemy import create_engine, text
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

BASELINE_TABLE = "bench_baseline_inbox"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} ("
    " event_id varchar(255) PRIMARY KEY,"
    " body text NOT NULL,"
    " received_at timestamptz NOT NULL DEFAULT now())"
)
_INSERT = text(f"INSERT INTO {BASELINE_TABLE} (event_id, body) VALUES (:event_id, :body)")


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` as SQLAlchemy's psycopg (v3) URL, as the product's make_engine does."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def create_app(database_url: str, secret: str) -> Flask:
    engine = create_engine(sqlalchemy_url(database_url), hide_parameters=True)
    app = Flask("bench_baseline")

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.post("/webhooks/mis")
    def receive() -> tuple[Response, int]:
        body = request.get_data().decode("utf-8")
        try:
            Webhook(secret).verify(body, dict(request.headers), json_parse=False)
        except WebhookVerificationError:
            return jsonify({"status": "unauthorized"}), 401
        payload = json.loads(body)
        if not isinstance(payload, dict):
            return jsonify({"status": "invalid"}), 400
        event_id = request.headers["webhook-id"]
        with engine.begin() as connection:
            connection.execute(_INSERT, {"event_id": event_id, "body": body})
        return jsonify({"status": "accepted", "event_id": event_id}), 202

    return app


def app_from_environment() -> Flask:
    """For gunicorn: `gunicorn 'baseline_app:app_from_environment()'`."""
    return create_app(os.environ["BENCH_DATABASE_URL"], os.environ["BENCH_WEBHOOK_SECRET"])
