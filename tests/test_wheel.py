"""The installed product: a wheel, installed into a new venv outside the repository, runs
on its own: the demo from an empty directory, the web app, the worker and beat.

A school platform installs the plugin from a wheel or an image, never a source checkout,
so nothing may depend on files beside the package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import REDIS_URL, ROOT, answers, make_settings, wait_for
from .smtp import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv with the freshly built wheel and nothing else of ours."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(base / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    wheels = list((base / "dist").glob("infoshare_workflow-*.whl"))
    assert len(wheels) == 1
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=120)
    subprocess.run([str(base / "venv" / "bin" / "pip"), "install", "-q", str(wheels[0])], check=True,
                   capture_output=True, timeout=900)
    yield base / "venv" / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any INFOSHARE_* setting or PYTHONPATH of the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFOSHARE_") and k != "PYTHONPATH"}
    return {**env, **extra}


def test_the_wheel_installs_one_import_package_with_its_templates_and_migrations(installed):
    shown = subprocess.run([str(installed / "pip"), "show", "-f", "infoshare-workflow"], check=True,
                           capture_output=True, text=True).stdout
    files = [line.strip() for line in shown.split("Files:", 1)[1].splitlines() if line.strip()]
    tops = {f.split("/")[0] for f in files if not f.startswith("../")}
    assert tops == {"infoshare_workflow", "infoshare_workflow-0.1.0.dist-info"}
    for expected in ("infoshare_workflow/templates/pages/base.html", "infoshare_workflow/templates/static/app.css",
                     "infoshare_workflow/templates/email/task.txt",
                     "infoshare_workflow/storage/migrations/versions/0001_initial_schema.py",
                     "infoshare_workflow/storage/migrations/script.py.mako",
                     "infoshare_workflow/cases/common_words.txt.gz"):
        assert expected in files
    metadata = next(installed.parent.glob("lib/python3*/site-packages/infoshare_workflow-*.dist-info/METADATA"))
    assert "License-Expression: MIT" in metadata.read_text()


def test_the_demo_runs_to_its_end_from_an_empty_directory(installed, tmp_path):
    done = subprocess.run([str(installed / "infoshare"), "demo", "--auto", "--port", str(free_port())],
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "audit chain ok" in done.stdout
    assert list((tmp_path / "outbox").glob("*.eml"))  # emails rendered from the packaged templates


def test_serve_answers_pages_from_the_installed_package(installed, tmp_path):
    port = free_port()
    server = subprocess.Popen([str(installed / "infoshare"), "serve", "--port", str(port)], cwd=tmp_path,
                              env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: answers(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        page = requests.get(f"http://127.0.0.1:{port}/tasks/not-a-token", timeout=10)
        css = requests.get(f"http://127.0.0.1:{port}/static/app.css", timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert health.status_code == 200
    assert page.status_code == 404 and "<html" in page.text
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_the_worker_and_beat_start_from_the_installed_package(installed, tmp_path):
    queue = f"infoshare-wheel-{uuid.uuid4().hex[:8]}"
    settings = make_settings(f"sqlite:///{tmp_path / 'infoshare.db'}")
    env = clean_env(INFOSHARE_DATABASE_URL=settings.database_url, INFOSHARE_BROKER_URL=REDIS_URL,
                    INFOSHARE_QUEUE=queue, INFOSHARE_MIS_WEBHOOK_SECRET=settings.mis_webhook_secret,
                    INFOSHARE_SECRET_KEY=settings.secret_key, INFOSHARE_ENCRYPTION_KEYS=settings.encryption_keys[0],
                    INFOSHARE_SCHOOL_NAME="Wheel Test School")
    subprocess.run([str(installed / "infoshare"), "db", "upgrade"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=120)
    celery = str(installed / "celery")
    worker = subprocess.Popen([celery, "-A", "infoshare_workflow.worker", "worker", "-Q", queue, "--pool=solo",
                               "--loglevel=INFO"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    beat = subprocess.Popen([celery, "-A", "infoshare_workflow.worker", "beat", "--loglevel=INFO",
                             f"--schedule={tmp_path / 'beat-schedule'}"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    time.sleep(12)
    for process in (worker, beat):
        process.terminate()
    worker_log, beat_log = worker.communicate(timeout=60)[0], beat.communicate(timeout=60)[0]
    for name in ("infoshare.mis.apply", "infoshare.mail.send", "infoshare.shares.execute", "infoshare.dispatch.tick"):
        assert name in worker_log, worker_log[-3000:]
    assert "ready" in worker_log and "Traceback" not in worker_log
    assert "Sending due task mis-apply" in beat_log, beat_log[-3000:]
    assert "succeeded" in worker_log  # beat's task reached the worker and ran

