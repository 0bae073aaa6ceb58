"""The README's first command: `infoshare serve` on the embedded defaults, nothing set."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import requests

from . import factories
from .conftest import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_on_the_embedded_defaults_and_accepts_a_signed_concern(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFOSHARE_")}
    server = subprocess.Popen([str(Path(sys.executable).with_name("infoshare")), "serve", "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def healthy() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(healthy, timeout=60)
        secrets = json.loads((tmp_path / "infoshare.db.secrets.json").read_text())
        secret = secrets["INFOSHARE_MIS_WEBHOOK_SECRET"]
        for event in (factories.staff_upserted("S-02", ["dsl"]), factories.concern_raised()):
            body = factories.body_of(event)
            response = requests.post(f"http://127.0.0.1:{port}/webhooks/mis", data=body,
                                     headers=factories.signed_headers(secret, body), timeout=10)
            assert response.status_code == 202
        assert response.json()["case_id"].startswith("IS-")
        assert (tmp_path / "infoshare.db").exists()
        # The in-process worker sends the DSL's task email to the outbox folder.
        emails = wait_for(lambda: list((tmp_path / "outbox").glob("*.eml")), timeout=30)
        assert b"s-02@school.example" in emails[0].read_bytes()
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "generated secrets" in output
