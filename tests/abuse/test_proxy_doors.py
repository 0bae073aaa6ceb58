"""The published door as deployed: nginx, running the configuration docker-compose.yml ships,
in front of real gunicorn. It takes the slow clients that stop gunicorn alone
(tests/abuse/test_gunicorn_doors.py, the strict xfail), refuses a body over its limit before the
app sees it, and hands the app each client's own address, whatever the client claims.

The nginx configuration is read from docker-compose.yml (`configs: proxy-scale`), not copied:
the test changes only what Debian's nginx 1.22 and this host need (no Docker DNS, no `resolve`,
the test's ports, files in a temp dir), so a change to the shipped config is a change to what
is tested here.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import select

from infoshare_workflow.settings.config import RateLimits, Settings
from infoshare_workflow.storage.models import ReceivedEvent

from .. import factories
from ..conftest import REDIS_URL, ROOT, WebProcess, wait_for
from ..smtp import free_port
from .raw_http import send, slow_clients
from .test_gunicorn_doors import genuine_webhook, received, stored

NGINX = "/usr/sbin/nginx"
pytestmark = [pytest.mark.postgresql_only, pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason=(
    f"{NGINX} is not installed (Debian: apt-get install nginx-light; .ci/run installs it)"))]

GUNICORN_THREADS = 4  # WebProcess runs one gthread worker with 4 threads, as tests/conftest.py says
SLOW_HEADERS = SLOW_BODIES = GUNICORN_THREADS + 2  # the xfail's kinds of client, each alone more than the threads
TWO_MIB = 2 * 1024 * 1024  # the proxy's client_max_body_size
LIMIT = 3  # webhooks per hour per client: one fixed window for the whole test
FLOODER, MIS = "127.0.0.2", "127.0.0.3"  # two clients, each from its own loopback address

# What the test host needs changed in the shipped config: (pattern, replacement, how many times the
# shipped config must match it). A count that differs means docker-compose.yml changed shape.
ADAPTATIONS_FOR_DEBIANS_NGINX = (
    (r"^[ \t]*resolver\s[^;]*;[ \t]*\n", "", 1),  # Docker's DNS: not here
    (r"^[ \t]*zone\s[^;]*;[ \t]*\n", "", 1),  # with `resolve`, needs nginx 1.27.3
    (r"[ \t]+resolve(?=[ \t;])", "", 2),  # ditto
)


@dataclass(frozen=True)
class Proxy:
    """A running nginx: its port, and the file any access log would have gone to."""

    port: int
    access_log: Path


def shipped_proxy_config() -> str:
    """nginx's conf.d file as docker-compose.yml gives it to the proxy (`$$` is Compose's `$`)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["configs"]["proxy-scale"]["content"].replace("$$", "$")


def adapted(conf: str, web_port: int, listen_port: int) -> str:
    """The shipped server and upstream blocks, changed only where Debian's nginx 1.22 and the test's
    ports require; every other directive stays as shipped."""
    adaptations = ADAPTATIONS_FOR_DEBIANS_NGINX + (
        (r"\bserver\s+web(-2)?:5000\b", f"server 127.0.0.1:{web_port}", 2),  # both webs: the test's gunicorn
        (r"\blisten\s+8080;", f"listen 127.0.0.1:{listen_port};", 1),
    )
    for pattern, replacement, expected in adaptations:
        conf, count = re.subn(pattern, replacement, conf, flags=re.M)
        assert count == expected, f"docker-compose.yml's proxy config changed: {pattern!r} matched {count}x"
    return conf


def main_config(server_conf: str, run_dir: Path) -> str:
    """The `events {}` / `http {}` a conf.d file lives in, with every file nginx writes in `run_dir`.
    The http-level access log is what the server would inherit if it did not turn its own off."""
    temp_paths = "\n".join(f"    {kind}_temp_path {run_dir / kind};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, nginx's workers would run as `nobody`, who cannot write into the test's temp dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"daemon off;\n{user}pid {run_dir / 'nginx.pid'};\nerror_log {run_dir / 'error.log'} warn;\n"
            f"events {{}}\nhttp {{\n{temp_paths}\n    access_log {run_dir / 'access.log'};\n"
            f"{server_conf}\n}}\n")


@contextmanager
def running_nginx(web_port: int, run_dir: Path) -> Iterator[Proxy]:
    """nginx in the foreground with the shipped config in front of `web_port`; killed on the way out."""
    run_dir.mkdir()
    port = free_port()
    conf = run_dir / "nginx.conf"
    conf.write_text(main_config(adapted(shipped_proxy_config(), web_port, port), run_dir))
    with (run_dir / "stderr.log").open("ab") as log:
        process = subprocess.Popen([NGINX, "-p", str(run_dir), "-c", str(conf), "-e", str(run_dir / "error.log")],
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited {process.returncode}: {(run_dir / 'stderr.log').read_text()}"
                                   f"{(run_dir / 'error.log').read_text() if (run_dir / 'error.log').exists() else ''}")
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, timeout=30)
        yield Proxy(port, run_dir / "access.log")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # fast shutdown: the master stops its workers first
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@contextmanager
def deployed(settings: Settings, tmp_path: Path) -> Iterator[Proxy]:
    """gunicorn as docker-compose runs it (trusting the one proxy hop), reached only through nginx."""
    web = WebProcess(settings, tmp_path / "web.log", extra_env={"INFOSHARE_PROXY_HOPS": "1"})
    try:
        web.start()
        with running_nginx(web.port, tmp_path / "nginx") as proxy:
            yield proxy
    finally:
        web.stop()


@pytest.fixture
def proxy(settings, runtime, tmp_path) -> Iterator[Proxy]:
    with deployed(settings, tmp_path) as running:
        yield running


@pytest.fixture
def limited_proxy(settings, runtime, tmp_path) -> Iterator[Proxy]:
    limits = RateLimits(storage_url=REDIS_URL, webhook=f"{LIMIT} per hour", pages=None, api=None, failures=None)
    with deployed(replace(settings, rate_limits=limits), tmp_path) as running:
        yield running


def test_more_slow_clients_than_gunicorn_has_threads_do_not_stop_a_genuine_webhook(proxy, settings, runtime):
    """What stops gunicorn alone (the xfail in test_gunicorn_doors.py) costs nginx connections only:
    it reads each whole request before a gunicorn thread sees it."""
    with slow_clients(proxy.port, SLOW_HEADERS, body=False), slow_clients(proxy.port, SLOW_BODIES, body=True):
        event_ids = [genuine_webhook(proxy, settings, deadline=10.0) for _ in range(3)]

    assert all(received(runtime, event_id) for event_id in event_ids)
    assert stored(runtime, ReceivedEvent) == 3
    assert proxy.access_log.read_bytes() == b""  # paths carry tokens: the shipped config logs no request


def test_a_body_over_two_mib_is_refused_by_the_proxy_and_nothing_is_stored(proxy, settings, runtime):
    event_id = "msg_over_the_proxy_limit"
    body = factories.body_of(factories.staff_upserted("S-big", ["staff"], padding="x" * TWO_MIB))
    assert len(body) > TWO_MIB

    answer = send(proxy.port, "POST", "/webhooks/mis", body,
                  factories.signed_headers(settings.mis_webhook_secret, body, msg_id=event_id), timeout=30)

    assert answer.status == 413
    assert b"nginx" in answer.body and not answer.body.startswith(b"{")  # nginx's page: the app never saw it
    assert not received(runtime, event_id) and stored(runtime, ReceivedEvent) == 0


def signed_from(source: str, settings: Settings, port: int, forwarded_for: str) -> tuple[str, int]:
    """A genuine webhook from `source` claiming, in X-Forwarded-For, to come from `forwarded_for`."""
    event_id = f"msg_{source.replace('.', '_')}_{forwarded_for.replace('.', '_')}"
    body = factories.body_of(factories.staff_upserted(f"S-{forwarded_for.rsplit('.', 1)[1]}", ["staff"]))
    headers = {**factories.signed_headers(settings.mis_webhook_secret, body, msg_id=event_id),
               "X-Forwarded-For": forwarded_for}
    return event_id, send(port, "POST", "/webhooks/mis", body, headers, source=source, timeout=30).status


def test_the_webhook_limit_counts_each_client_by_its_own_address_whatever_it_claims(limited_proxy, settings,
                                                                                     runtime):
    """nginx replaces X-Forwarded-For with the address it saw, and the app trusts that one hop:
    a client cannot escape its limit by claiming other addresses, nor spend another client's."""
    flood = [signed_from(FLOODER, settings, limited_proxy.port, f"203.0.113.{i}") for i in range(1, LIMIT + 3)]
    mis = signed_from(MIS, settings, limited_proxy.port, FLOODER)  # claims to be the flooder

    assert [status for _, status in flood] == [202] * LIMIT + [429] * 2
    assert mis[1] == 202
    with runtime.transaction() as session:
        kept = set(session.scalars(select(ReceivedEvent.event_id)))
    assert stored(runtime, ReceivedEvent) == LIMIT + 1
    assert kept == {event_id for event_id, _ in flood[:LIMIT]} | {mis[0]}
