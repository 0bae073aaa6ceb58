"""Ingest throughput of `POST /webhooks/mis`, beside a bare baseline measured in the same run.

Why it exists: the issue asks that taking in signed MIS webhooks costs no more than it must.
"Fast enough" only means something against what the same machine, server, signature check
and database can do with no product logic, so this script measures both, one after the
other, and reports the ratio (target: the product reaches at least 0.75 of the baseline's
accepted webhooks per second).

What it does:

1. creates a fresh PostgreSQL database (`infoshare_bench_<random>`), applies the product's
   migrations and creates the baseline's one table;
2. starts two gunicorn servers on free local ports with the same worker options: the
   product (`infoshare_workflow.wsgi:app`) and `bench/baseline_app.py` (verify the same
   Standard Webhooks signature, parse the JSON, insert one row, answer 202);
3. for each round, for the baseline then the product: concurrent keep-alive clients post
   distinct, freshly signed `concern.raised` events (as `tests/factories.py` builds them)
   for a warm-up, then for the measured window, timing every request;
4. prints accepted/s, p50 and p99 latency and errors per target, the CPU each server spent
   per accepted webhook and how busy the machine was (to tell "slow" from "starved"), and
   the ratio;
5. checks that every 202 a client saw is a stored row, stops both servers and drops the
   database, whatever happened.

Only 202 counts as accepted; any other status, and any connection failure, is an error.
Run `python bench/ingest.py --help` for the options; `bench/README.md` has the figures.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from base64 import b64encode
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]  # tests.factories and baseline_app, from a checkout

import psycopg  # noqa: E402
from baseline_app import BASELINE_TABLE, CREATE_TABLE  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from infoshare_workflow.storage.db import make_engine  # noqa: E402
from infoshare_workflow.storage.migrate import upgrade  # noqa: E402
from infoshare_workflow.storage.models import ReceivedEvent  # noqa: E402
from tests import factories  # noqa: E402

DEFAULT_ADMIN_URL = os.environ.get("INFOSHARE_BENCH_POSTGRES", "postgresql://root@127.0.0.1:5432/test")
TARGET_RATIO = 0.75  # issue 14 (0.7 before)
PATH = "/webhooks/mis"
PROGRESS_EVERY = 5.0
REQUEST_TIMEOUT = 30.0
EXIT_MISSED, EXIT_COULD_NOT_RUN = 1, 3


class BenchError(RuntimeError):
    """The benchmark could not run (database, server start-up); the message says why."""


# --- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    admin_url: str
    clients: int
    duration: float
    warmup: float
    rounds: int
    workers: int
    worker_class: str
    threads: int
    pupils: int
    dsls: int
    json_path: Path | None
    keep_logs: bool
    broker: str


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return number


def positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {value}")
    return number


def non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return number


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/ingest.py",
        description=(
            "Measure accepted MIS webhooks per second and p50/p99 latency of the product "
            "(POST /webhooks/mis under gunicorn, on PostgreSQL) beside a bare Flask baseline "
            "that verifies the same signature and inserts one row, in the same run. Creates "
            "and drops its own PostgreSQL database."
        ),
        epilog=(
            f"Target: product throughput >= {TARGET_RATIO} x baseline. Exit status: 0 target met, "
            f"{EXIT_MISSED} target missed (or an accepted event was not stored), 2 bad arguments, "
            f"{EXIT_COULD_NOT_RUN} the benchmark could not run, 130 interrupted. Figures and how to read them: "
            "bench/README.md."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    load = parser.add_argument_group("load")
    load.add_argument("--clients", type=positive_int, default=16,
                      help="concurrent clients (threads, one keep-alive connection each)")
    # Many short rounds: a shared machine's speed drifts by tens of percent over a minute, and
    # alternating every few seconds puts both targets on the same stretch of it.
    load.add_argument("--duration", type=positive_float, default=3.0,
                      help="measured seconds per target per round")
    load.add_argument("--warmup", type=float, default=1.0,
                      help="unmeasured seconds of load before each measured window")
    load.add_argument("--rounds", type=positive_int, default=10,
                      help="baseline-then-product rounds; figures pool every round")
    load.add_argument("--pupils", type=non_negative_int, default=0,
                      help="draw each concern's pupil from this many pupils (0: a new pupil per concern)")
    load.add_argument("--dsls", type=non_negative_int, default=2,
                      help="DSLs the product knows (sent as staff.upserted before the load), so concerns are "
                           "routed and task emails queued as in a school; 0: none, as on a fresh install")
    server = parser.add_argument_group("servers (the same for both targets)")
    server.add_argument("--workers", type=positive_int, default=2, help="gunicorn worker processes")
    server.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    server.add_argument("--threads", type=positive_int, default=4, help="threads per gunicorn worker")
    other = parser.add_argument_group("other")
    other.add_argument("--postgres", dest="admin_url", default=DEFAULT_ADMIN_URL, metavar="URL",
                       help="postgresql:// URL of a role allowed to CREATE/DROP DATABASE "
                            "(env INFOSHARE_BENCH_POSTGRES)")
    other.add_argument("--broker", default="redis://127.0.0.1:6379/14", metavar="URL",
                       help="the product's INFOSHARE_BROKER_URL, as in production (each accepted event sets the "
                            "apply nudge's gate there and, when it is open, publishes one nudge; no worker runs, "
                            "and the queue is deleted afterwards)")
    other.add_argument("--json", dest="json_path", type=Path, metavar="PATH",
                       help="also write the figures to PATH as JSON")
    other.add_argument("--keep-logs", action="store_true",
                       help="keep the servers' logs (their paths are printed) instead of deleting them")
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    return Options(**vars(args))


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- database --------------------------------------------------------------------------------


@contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    """A fresh database with the product's schema and the baseline's table; dropped after."""
    name = f"infoshare_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        shown = make_url(admin_url).render_as_string(hide_password=True)
        raise BenchError(f"cannot create a database through {shown}: {exc}".strip()) from exc
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    progress(f"created database {name}")
    try:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with engine.begin() as connection:
                connection.execute(text(CREATE_TABLE))
        finally:
            engine.dispose()
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        progress(f"dropped database {name}")


def stored_rows(url: str) -> dict[str, int]:
    """Rows each target stored: the product's accepted concerns in its inbox, the baseline's table."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            product = connection.scalar(
                select(func.count())
                .select_from(ReceivedEvent)
                .where(ReceivedEvent.outcome == "accepted", ReceivedEvent.type == "concern.raised")
            )
            baseline = connection.scalar(text(f"SELECT count(*) FROM {BASELINE_TABLE}"))
    finally:
        engine.dispose()
    return {"baseline": int(baseline or 0), "product": int(product or 0)}


# --- servers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    app: str
    env: dict[str, str]
    pythonpath: Path | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_webhook_secret() -> str:
    return "whsec_" + b64encode(secrets.token_bytes(32)).decode()


def targets(database_url: str, webhook_secret: str, workdir: Path, broker: str, queue: str) -> list[Target]:
    """The baseline and the product, given the same database and webhook secret.

    Both run in `workdir` (a temporary directory), so nothing they write lands in the checkout.
    The product runs as docker-compose's `web` does: with `PROMETHEUS_MULTIPROC_DIR`, so every
    metric update goes to a shared memory-mapped file, as it must with several gunicorn workers.
    """
    metrics_dir = workdir / "prometheus"
    metrics_dir.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INFOSHARE_", "BENCH_"))}
    baseline = Target(
        name="baseline",
        app="baseline_app:app_from_environment()",
        env={**base, "BENCH_DATABASE_URL": database_url, "BENCH_WEBHOOK_SECRET": webhook_secret},
        pythonpath=BENCH_DIR,
    )
    product = Target(
        name="product",
        app="infoshare_workflow.wsgi:app",
        env={
            **base,
            "INFOSHARE_DATABASE_URL": database_url,
            "INFOSHARE_MIS_WEBHOOK_SECRET": webhook_secret,
            "INFOSHARE_SECRET_KEY": secrets.token_urlsafe(32),
            "INFOSHARE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "INFOSHARE_SCHOOL_NAME": "Bench School",
            "INFOSHARE_BROKER_URL": broker,
            "INFOSHARE_QUEUE": queue,
            "INFOSHARE_OUTBOX_DIR": str(workdir / "outbox"),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            # The limiter runs and counts in Redis as in production (its cost is measured), with a
            # ceiling this one client never reaches: the benchmark is the MIS sending flat out.
            "INFOSHARE_RATE_LIMIT_WEBHOOK": "1000000 per second",
        },
    )
    return [baseline, product]


def _drop_queue(broker: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(broker)
    client.delete(queue, *client.keys(f"_kombu.binding*{queue}*"))


def _log_tail(log: TextIO, lines: int = 20) -> str:
    log.flush()
    return "".join(Path(log.name).read_text(errors="replace").splitlines(keepends=True)[-lines:])


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    pid: int


@contextmanager
def gunicorn(target: Target, options: Options, workdir: Path, start_timeout: float = 60.0) -> Iterator[Server]:
    """Serve `target` from `workdir` on a free port until the block ends; yields once /healthz answers."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", target.app,
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(options.workers),
        "--worker-class", options.worker_class,
        "--threads", str(options.threads),
        "--chdir", str(workdir),
        "--graceful-timeout", "5",
        "--no-control-socket",  # two servers (and any other gunicorn here) would share its default path
    ]
    if target.pythonpath is not None:
        command += ["--pythonpath", str(target.pythonpath)]
    log_path = workdir / f"{target.name}.log"
    with open(log_path, "w+") as log:
        process = subprocess.Popen(command, env=target.env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(port, "/healthz"):
                if process.poll() is not None:
                    raise BenchError(f"{target.name} server exited with {process.returncode}:\n{_log_tail(log)}")
                if time.monotonic() > deadline:
                    raise BenchError(f"{target.name} server did not answer /healthz in {start_timeout:.0f}s:\n"
                                     f"{_log_tail(log)}")
                time.sleep(0.2)
            progress(f"{target.name} server up on 127.0.0.1:{port} (pid {process.pid}, log {log_path})")
            yield Server(target.name, port, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def seed_staff(server: Server, secret: str, dsls: int) -> None:
    """Tell the product about its DSLs through its own door, as the MIS would."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=REQUEST_TIMEOUT)
    try:
        for number in range(1, dsls + 1):
            body = factories.body_of(factories.staff_upserted(f"DSL-{number}", ["dsl"]))
            connection.request("POST", PATH, body=body, headers=factories.signed_headers(secret, body))
            response = connection.getresponse()
            answer = response.read()
            if response.status != 202:
                raise BenchError(f"{server.name} refused staff.upserted: {response.status} {answer[:200]!r}")
    finally:
        connection.close()
    if dsls:
        progress(f"{server.name}: knows {dsls} DSLs")


# --- CPU accounting (Linux /proc; "n/a" elsewhere) -------------------------------------------


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 100


CLOCK_TICKS = _clock_ticks()


def tree_cpu_seconds(root_pid: int) -> float | None:
    """User + system CPU seconds of a process and its children (a gunicorn master and workers)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    total, found = 0, False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        pid, ppid = int(stat.parent.name), int(fields[1])
        if root_pid in (pid, ppid):
            found = True
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS if found else None


def machine_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(v) for v in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


# --- load ------------------------------------------------------------------------------------


class EventSource:
    """Distinct, freshly signed `concern.raised` events, built and signed as the tests do."""

    def __init__(self, secret: str, pupils: int) -> None:
        self.secret = secret
        self.pupils = pupils
        self.run = uuid.uuid4().hex[:8]
        self._numbers = itertools.count(1)  # next() on a count is atomic under the GIL

    def next(self) -> tuple[bytes, dict[str, str]]:
        n = next(self._numbers)
        pupil_number = (n % self.pupils) if self.pupils else n
        event = factories.concern_raised(f"C-{self.run}-{n}", pupil={"mis_id": f"P-{self.run}-{pupil_number}"})
        body = factories.body_of(event)
        return body, factories.signed_headers(self.secret, body)


@dataclass
class ClientLog:
    """One client's requests: (monotonic end, latency in seconds, status or exception name)."""

    samples: list[tuple[float, float, int | str]] = field(default_factory=list)


def client(port: int, events: EventSource, stop: threading.Event, log: ClientLog) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        while not stop.is_set():
            body, headers = events.next()
            started = time.perf_counter()
            outcome: int | str
            try:
                connection.request("POST", PATH, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                outcome = response.status
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
                connection.close()  # the next request reconnects
            ended = time.perf_counter()
            log.samples.append((ended, ended - started, outcome))
    finally:
        connection.close()


@dataclass
class Window:
    """What one target did in its measured windows (pooled over rounds)."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of accepted requests
    errors: Counter[str] = field(default_factory=Counter)
    all_accepted: int = 0  # every 202 seen, warm-up and stragglers included (for the stored-rows check)
    server_cpu: float | None = 0.0  # CPU seconds of the target's gunicorn processes
    machine_busy: int = 0  # busy CPU ticks of the whole machine
    machine_total: int = 0

    def add(self, samples: list[tuple[float, float, int | str]], start: float, end: float) -> None:
        self.seconds += end - start
        for ended, latency, outcome in samples:
            if outcome == 202:
                self.all_accepted += 1
            if not start <= ended < end:
                continue
            if outcome == 202:
                self.latencies.append(latency)
            else:
                self.errors[str(outcome)] += 1


@dataclass(frozen=True)
class CpuMark:
    server: float | None
    machine: tuple[int, int] | None

    @classmethod
    def now(cls, server: Server) -> CpuMark:
        return cls(tree_cpu_seconds(server.pid), machine_cpu_ticks())


def _add_cpu(window: Window, before: CpuMark, after: CpuMark) -> None:
    if window.server_cpu is not None and before.server is not None and after.server is not None:
        window.server_cpu += after.server - before.server
    else:
        window.server_cpu = None
    if before.machine and after.machine:
        window.machine_busy += after.machine[0] - before.machine[0]
        window.machine_total += after.machine[1] - before.machine[1]


def load(server: Server, events: EventSource, options: Options, window: Window, round_no: int) -> None:
    """Warm up, then measure one window of `options.duration` seconds against one server."""
    stop = threading.Event()
    logs = [ClientLog() for _ in range(options.clients)]
    threads = [threading.Thread(target=client, args=(server.port, events, stop, log), daemon=True,
                                name=f"{server.name}-client-{i}") for i, log in enumerate(logs)]
    label = f"{server.name} (round {round_no}/{options.rounds})" if options.rounds > 1 else server.name
    progress(f"{label}: warming up {options.warmup:g}s with {options.clients} clients")
    for thread in threads:
        thread.start()
    time.sleep(options.warmup)
    progress(f"{label}: measuring {options.duration:g}s")
    before = CpuMark.now(server)
    start = time.perf_counter()
    end = start + options.duration
    while (now := time.perf_counter()) < end:
        time.sleep(min(PROGRESS_EVERY, end - now))
        now = time.perf_counter()
        done = [s for log in logs for s in list(log.samples) if start <= s[0] < now]
        accepted = sum(1 for s in done if s[2] == 202)
        elapsed = min(now, end) - start
        progress(f"{label}: {elapsed:4.1f}s  {accepted} accepted ({accepted / elapsed:.0f}/s), "
                 f"{len(done) - accepted} errors")
    _add_cpu(window, before, CpuMark.now(server))
    stop.set()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT + 5)
    window.add([s for log in logs for s in log.samples], start, end)


# --- results ---------------------------------------------------------------------------------


def percentile_ms(sorted_seconds: list[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted latencies, in ms (None when there are none)."""
    if not sorted_seconds:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_seconds)))
    return round(sorted_seconds[rank - 1] * 1000, 2)


@dataclass(frozen=True)
class Figures:
    accepted: int
    seconds: float
    accepted_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    error_kinds: dict[str, int]
    server_cpu_ms_per_accepted: float | None  # the target's gunicorn processes only
    machine_cpu_busy_percent: float | None  # everything on the machine, clients and PostgreSQL included

    @classmethod
    def of(cls, window: Window) -> Figures:
        latencies = sorted(window.latencies)
        accepted = len(latencies)
        cpu = window.server_cpu
        return cls(
            accepted=accepted,
            seconds=round(window.seconds, 3),
            accepted_per_second=round(accepted / window.seconds, 1) if window.seconds else 0.0,
            p50_ms=percentile_ms(latencies, 50),
            p99_ms=percentile_ms(latencies, 99),
            errors=sum(window.errors.values()),
            error_kinds=dict(window.errors.most_common()),
            server_cpu_ms_per_accepted=round(cpu / accepted * 1000, 2) if cpu is not None and accepted else None,
            machine_cpu_busy_percent=(round(100 * window.machine_busy / window.machine_total, 1)
                                      if window.machine_total else None),
        )


def _cell(value: float | None, width: int) -> str:
    return f"{value:>{width}.1f}" if value is not None else f"{'n/a':>{width}}"


def report(figures: dict[str, Figures], ratio: float, options: Options, stored_ok: bool) -> str:
    header = (f"{'target':<10} {'accepted/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'accepted':>9} {'errors':>7} "
              f"{'server CPU ms/req':>18} {'machine CPU %':>14}")
    rows = [header]
    for name, f in figures.items():
        rows.append(f"{name:<10} {f.accepted_per_second:>10.1f} {_cell(f.p50_ms, 8)} {_cell(f.p99_ms, 8)} "
                    f"{f.accepted:>9} {f.errors:>7} {_cell(f.server_cpu_ms_per_accepted, 18)} "
                    f"{_cell(f.machine_cpu_busy_percent, 14)}")
        if f.error_kinds:
            rows.append(f"{'':<10} errors: " + ", ".join(f"{k} x{v}" for k, v in f.error_kinds.items()))
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    threads = f" x {options.threads} threads" if options.worker_class == "gthread" else ""
    setup = (f"({options.clients} clients, {options.rounds} x {options.duration:g}s measured per target, "
             f"gunicorn {options.workers} x {options.worker_class}{threads}, {os.cpu_count()} CPUs)")
    rows += [
        "",
        f"product/baseline throughput: {ratio:.2f} ({verdict} the target of {TARGET_RATIO})",
        f"every 202 stored: {'yes' if stored_ok else 'NO'}",
        setup,
    ]
    return "\n".join(rows)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run(options: Options) -> int:
    about = machine()
    progress(f"{about['cpus']} CPUs (load average {about['load_average_at_start']}); {options.clients} clients; "
             f"gunicorn {options.workers} workers ({options.worker_class}, {options.threads} threads) per target")
    windows = {"baseline": Window(), "product": Window()}
    secret = new_webhook_secret()
    with ExitStack() as stack:
        url = stack.enter_context(bench_database(options.admin_url))
        workdir = Path(tempfile.mkdtemp(prefix="infoshare-bench-")) if options.keep_logs else \
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="infoshare-bench-")))
        queue = f"infoshare-bench-{secrets.token_hex(4)}"
        if options.broker.startswith("redis"):
            stack.callback(_drop_queue, options.broker, queue)
        servers = [stack.enter_context(gunicorn(t, options, workdir))
                   for t in targets(url, secret, workdir, options.broker, queue)]
        seed_staff(next(s for s in servers if s.name == "product"), secret, options.dsls)
        events = EventSource(secret, options.pupils)
        for round_no in range(1, options.rounds + 1):
            for server in servers:
                load(server, events, options, windows[server.name], round_no)
        stored = stored_rows(url)
    figures = {name: Figures.of(window) for name, window in windows.items()}
    base_rate = figures["baseline"].accepted_per_second
    ratio = figures["product"].accepted_per_second / base_rate if base_rate else 0.0
    stored_ok = all(stored[name] == windows[name].all_accepted for name in windows)
    if not stored_ok:
        progress("stored rows do not match the 202s seen: " + ", ".join(
            f"{name} stored {stored[name]}, clients saw {windows[name].all_accepted}" for name in windows))
    print(report(figures, ratio, options, stored_ok), flush=True)
    if options.json_path is not None:
        document = {
            "machine": about,
            "options": {k: v for k, v in asdict(options).items() if k not in ("admin_url", "json_path")},
            "results": {name: asdict(f) for name, f in figures.items()},
            "ratio": round(ratio, 3),
            "target": TARGET_RATIO,
            "meets_target": ratio >= TARGET_RATIO,
            "every_202_stored": stored_ok,
        }
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        options.json_path.write_text(json.dumps(document, indent=2) + "\n")
        progress(f"wrote {options.json_path}")
    return 0 if ratio >= TARGET_RATIO and stored_ok else EXIT_MISSED


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_guarded(work: Callable[[], int], cleaned_up: str) -> int:
    """Run a benchmark so that SIGTERM cleans up as Ctrl-C does, and a BenchError is one line."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return work()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    except KeyboardInterrupt:
        print(f"bench: interrupted; {cleaned_up}", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return run_guarded(lambda: run(options), "servers stopped and database dropped")


if __name__ == "__main__":
    sys.exit(main())
