"""Servers of a fault test's own, which it may kill and restart without disturbing anyone else,
and the stack (gunicorn web, Celery worker with beat) pointed at them.

Why private: the shared Redis and PostgreSQL serve every other test (and other helpers) on
the machine; a test that kills them would fail the rest. So the Redis test starts its own
`redis-server` with no persistence (`--save "" --appendonly no`): killed and started again on
the same port it comes back EMPTY, as a production Redis without persistence does. The
database-outage test runs its own PostgreSQL cluster (initdb into a temporary directory,
fsync off so it starts in well under a second) and stops it with `pg_ctl stop -m immediate`:
the real thing refusing connections and cutting live ones, not a simulation of it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from sqlalchemy import update

from infoshare_workflow.settings.config import Settings
from infoshare_workflow.storage.models import Schedule, utcnow
from infoshare_workflow.storage.runtime import Runtime

from ..conftest import WebProcess, WorkerProcess, wait_for
from ..smtp import free_port


class RedisServer:
    """A `redis-server` on a free port that keeps nothing across a restart."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.answers, timeout=30)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def kill(self) -> None:
        """SIGKILL: whatever the broker held (queued and unacknowledged messages) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def queued(self, queue: str, task: str) -> int:
        """Messages for `task` waiting in `queue` (a Redis list of JSON envelopes under kombu)."""
        try:
            waiting = self.client().lrange(queue, 0, -1)
        except redis.RedisError:
            return 0
        return sum(1 for raw in waiting if json.loads(raw).get("headers", {}).get("task") == task)  # type: ignore[union-attr]


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    """A PostgreSQL cluster in a temporary directory, owned by the `postgres` system user (the
    server refuses to run as root), on a free TCP port with trust authentication for `root`."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.data, self.sockets = directory / "data", directory / "sockets"
        self.url = f"postgresql://root@127.0.0.1:{self.port}/infoshare"

    def _as_postgres(self, *command: str) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *command], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, timeout=120)
        assert done.returncode == 0, f"{command[0]} failed: {done.stderr}"

    def create(self) -> None:
        bindir = _postgres_bin()
        if bindir is None or shutil.which("runuser") is None or os.geteuid() != 0:
            pytest.skip("a private PostgreSQL cluster needs initdb and root (to run it as the postgres user)")
        self.bindir = bindir
        self.sockets.mkdir(parents=True)
        shutil.chown(self.directory, "postgres")
        shutil.chown(self.sockets, "postgres")
        self._as_postgres(str(bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "root", "-E", "UTF8",
                          "--locale=C", "--no-sync")
        self.start()
        with psycopg.connect(f"postgresql://root@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE infoshare")

    def start(self) -> None:
        # fsync off: a killed server keeps what it wrote (the OS has it), and starts fast. Never
        # synchronous_commit off: a server killed then forgets commits it had acknowledged.
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=60")
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                          str(self.directory / "postgres.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Immediate shutdown: live connections are cut mid-transaction, new ones refused."""
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(name="private_redis")
def private_redis_fixture(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture(name="private_postgres", scope="module")
def private_postgres_fixture() -> Iterator[PostgresCluster]:
    """Module-scoped: made once (initdb, then the `runtime` fixture migrates it), stopped and
    started by the tests."""
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="infoshare-postgres-")))
    cluster.create()
    yield cluster
    cluster.destroy()


@contextmanager
def private_stack(settings: Settings, broker: RedisServer, directory: Path) -> Iterator[
        tuple[WebProcess, WorkerProcess]]:
    """gunicorn and a Celery worker embedding beat, on `broker` and `settings`'s database (the
    shared Redis is never touched); both stopped on the way out, whatever happened."""
    env = {"INFOSHARE_BROKER_URL": broker.url}
    web = WebProcess(settings, directory / "web.log", extra_env=env)
    worker = WorkerProcess(settings, directory / "worker.log", beat=True, extra_env=env)
    try:
        web.start()
        worker.start()
        yield web, worker
    finally:
        worker.kill()
        web.stop()


def beat_alive(worker: WorkerProcess) -> bool:
    """Whether the worker is running and its process group still holds a live child (the
    embedded beat): read from /proc, where a dead but unreaped child shows as a zombie."""
    assert worker.process is not None
    if worker.process.poll() is not None:
        return False
    live = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _parent, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue  # gone meanwhile
        live += int(group) == worker.process.pid and state != "Z"
    return live >= 2


def make_due(runtime: Runtime, web: WebProcess, admin_token: str, job: str, cron: str) -> int:
    """A schedule made through gunicorn's admin API whose slot has already come: the
    dispatcher's next pass (beat's tick) makes its run."""
    made = requests.post(f"{web.url}/api/v1/schedules", headers={"Authorization": f"Bearer {admin_token}"},
                         json={"job": job, "cron": cron}, timeout=60)
    assert made.status_code == 201, made.text
    with runtime.transaction() as session:
        session.execute(update(Schedule).where(Schedule.id == made.json()["id"])
                        .values(next_run_at=utcnow() - timedelta(seconds=1)))
    return int(made.json()["id"])


def post_event(web: WebProcess, event: dict[str, Any], msg_id: str) -> requests.Response | None:
    """POST one signed MIS event as the MIS would; the answer, or None when the connection
    failed (the MIS then retries, as after a 503)."""
    try:
        return web.post_event(event, msg_id=msg_id, timeout=60)  # type: ignore[no-any-return]
    except requests.RequestException:
        return None
