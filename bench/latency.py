"""Webhook -> DSL's inbox latency, and throughput, with one and two workers, beside a same-run floor.

Why it exists: a concern is only useful once the DSL has it. The issue's target is the time
from the webhook's 202 to the consent task email's arrival in the school's SMTP server:
p50 under 100 ms and p99 under 300 ms at a steady 20 concerns/s with one worker. A figure on
its own says little on a shared machine, so the same run also measures the floor under it:
a bare Celery task that sends one email (`bench/latency_floor.py`), published at the same
rate to a worker started the same way, through the same Redis and SMTP server. The ratio
product/floor is what the product adds over queue + worker + SMTP.

What it does:

1. creates a fresh PostgreSQL database (`bench/ingest.py`'s `bench_database`) and starts, as
   processes, the real stack: gunicorn (the product as docker-compose's `web` runs it), Celery
   beat, and for each `--workers` count that many Celery worker nodes (`--pool`, default as
   deployed: prefork); an aiosmtpd server runs in this process and timestamps each message's
   arrival by its `X-Infoshare-Case` (product) or `X-Bench-Id` (floor) header;
2. for each worker count, the floor then the product: `--rate` per second for `--warmup`
   seconds, then `--duration` seconds measured, sent on a fixed schedule (open loop: a slow
   answer does not slow the load), then waits for every email; latency is each email's
   arrival minus the moment its 202 (the floor: its `send_task`) returned;
3. throughput: `--burst` concerns posted as fast as `--burst-clients` clients can, then the
   same number of floor tasks published at once; processed/s is that number over the time
   from the first request to the last email's arrival;
4. checks that every accepted concern opened one case, stops every process and drops the
   database, whatever happened.

Run `python bench/latency.py --help` for the options; `bench/README.md` has the figures.
"""

from __future__ import annotations

import argparse
import email.policy
import http.client
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT), str(BENCH_DIR)]  # tests.factories and the ingest benchmark, from a checkout

from celery import Celery  # noqa: E402
from ingest import (  # noqa: E402
    EXIT_COULD_NOT_RUN,
    EXIT_MISSED,
    PATH,
    REQUEST_TIMEOUT,
    BenchError,
    EventSource,
    Server,
    _drop_queue,
    bench_database,
    gunicorn,
    machine,
    machine_cpu_ticks,
    new_webhook_secret,
    percentile_ms,
    positive_float,
    positive_int,
    progress,
    run_guarded,
    seed_staff,
    targets,
)
from ingest import parse_args as ingest_options  # noqa: E402
from latency_floor import TASK as FLOOR_TASK  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from infoshare_workflow.storage.db import make_engine  # noqa: E402
from infoshare_workflow.storage.models import Case, ReceivedEvent  # noqa: E402
from tests.smtp import Inbox, smtp_server  # noqa: E402

TARGET_P50_MS, TARGET_P99_MS = 100.0, 300.0
DSLS = 1


# --- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    admin_url: str
    broker: str
    rate: float
    duration: float
    warmup: float
    workers: list[int]
    pool: str
    concurrency: int | None
    burst: int
    burst_clients: int
    web_workers: int
    threads: int
    drain_timeout: float
    json_path: Path | None
    keep_logs: bool


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="bench/latency.py",
        description=(
            "Measure the time from the webhook's 202 to the consent task email's arrival in an SMTP "
            "server (p50/p99 at a steady rate) and the concerns fully processed per second, with one and "
            "with two Celery workers, on the real stack as processes (gunicorn, Celery workers and beat on "
            "Redis, PostgreSQL), beside a bare Celery task that sends one email, in the same run. Creates "
            "and drops its own PostgreSQL database."
        ),
        epilog=(
            f"Targets (one worker, at 20/s): p50 < {TARGET_P50_MS:g} ms, p99 < {TARGET_P99_MS:g} ms. Exit status: "
            f"0 targets met, {EXIT_MISSED} missed (or a concern had no email or no case), 2 bad arguments, "
            f"{EXIT_COULD_NOT_RUN} the benchmark could not run, 130 interrupted. Figures: bench/README.md."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    load = parser.add_argument_group("load")
    load.add_argument("--rate", type=positive_float, default=20.0, help="concerns (and floor tasks) per second")
    load.add_argument("--duration", type=positive_float, default=30.0, help="measured seconds per target")
    load.add_argument("--warmup", type=non_negative_float, default=5.0,
                      help="unmeasured seconds of load before each window")
    load.add_argument("--burst", type=positive_int, default=300,
                      help="concerns posted as fast as possible for the throughput rows")
    load.add_argument("--burst-clients", type=positive_int, default=8, help="concurrent clients for the burst")
    stack = parser.add_argument_group("stack")
    stack.add_argument("--workers", type=positive_int, nargs="+", default=[1, 2],
                       help="Celery worker nodes, one row each")
    stack.add_argument("--pool", default="prefork", help="each worker's pool (prefork as deployed, or solo)")
    stack.add_argument("--concurrency", type=positive_int, default=None,
                       help="each worker's pool size (default: Celery's, the CPU count)")
    stack.add_argument("--web-workers", type=positive_int, default=2, help="gunicorn worker processes")
    stack.add_argument("--threads", type=positive_int, default=4, help="threads per gunicorn worker")
    other = parser.add_argument_group("other")
    other.add_argument("--postgres", dest="admin_url",
                       default=os.environ.get("INFOSHARE_BENCH_POSTGRES", "postgresql://root@127.0.0.1:5432/test"),
                       metavar="URL", help="postgresql:// URL of a role allowed to CREATE/DROP DATABASE "
                                           "(env INFOSHARE_BENCH_POSTGRES)")
    other.add_argument("--broker", default="redis://127.0.0.1:6379/14", metavar="URL",
                       help="Redis for Celery (queues of their own, deleted afterwards)")
    other.add_argument("--drain-timeout", type=positive_float, default=120.0,
                       help="seconds to wait for the last email after the load; later ones count as missing")
    other.add_argument("--keep-logs", action="store_true",
                       help="keep the processes' logs (their folder is printed) instead of deleting them")
    other.add_argument("--json", dest="json_path", type=Path, metavar="PATH", help="also write the figures as JSON")
    return Options(**vars(parser.parse_args(argv)))


def non_negative_float(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return number


# --- the SMTP server that timestamps arrivals ------------------------------------------------


class Arrivals(Inbox):
    """The SMTP server's handler: when each message arrived (perf_counter), by its case or bench id."""

    def __init__(self) -> None:
        super().__init__()
        self.at: dict[str, float] = {}
        self.parser = BytesHeaderParser(policy=email.policy.compat32)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        arrived = time.perf_counter()
        headers = self.parser.parsebytes(envelope.content)
        key = headers.get("X-Infoshare-Case") or headers.get("X-Bench-Id")
        if key:
            with self.lock:
                self.at.setdefault(str(key), arrived)
        return "250 OK"

    def wait(self, keys: list[str], timeout: float) -> dict[str, float]:
        """Arrival times of `keys`, once all are in or at the timeout (missing keys left out)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = {k: self.at[k] for k in keys if k in self.at}
            if len(found) == len(keys) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


# --- processes -------------------------------------------------------------------------------


@contextmanager
def process(name: str, command: list[str], env: dict[str, str], workdir: Path) -> Iterator[None]:
    """Run `command` in its own process group until the block ends (a prefork pool dies with it)."""
    with open(workdir / f"{name}.log", "ab") as log:
        child = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            yield
        finally:
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(child.pid, sig)
                    child.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue


def celery_worker(app: str, queue: str, node: str, options: Options) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", app, "worker", "-Q", queue, "-n", f"{node}@%h",
            "--loglevel=WARNING", "--without-gossip", "--without-mingle", f"--pool={options.pool}",
            *([f"--concurrency={options.concurrency}"] if options.concurrency else [])]


def wait_for_nodes(client: Celery, prefix: str, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = client.control.ping(timeout=1.0) or []
        if sum(1 for reply in replies for node in reply if node.startswith(prefix)) >= count:
            return
    raise BenchError(f"{count} worker(s) named {prefix}* did not answer a ping in {timeout:.0f}s")


@dataclass(frozen=True)
class Stack:
    """What every phase shares: the web server, its environment, Redis and the SMTP server."""

    web: Server
    env: dict[str, str]
    secret: str
    database_url: str
    queue: str
    floor_queue: str
    arrivals: Arrivals
    client: Celery
    workdir: Path


@contextmanager
def workers(stack: Stack, options: Options, count: int, floor: bool) -> Iterator[None]:
    """`count` worker nodes of the product (or of the floor app), up and answering, until the block ends."""
    prefix = f"{'floor' if floor else 'product'}{count}-"
    with ExitStack() as running:
        for number in range(1, count + 1):
            node = f"{prefix}{number}"
            command = (celery_worker("latency_floor", stack.floor_queue, node, options) if floor
                       else celery_worker("infoshare_workflow.worker", stack.queue, node, options))
            running.enter_context(process(node, command, stack.env, stack.workdir))
        wait_for_nodes(stack.client, prefix, count)
        progress(f"{count} {'floor' if floor else 'product'} worker(s) up ({options.pool} pool)")
        yield


# --- load ------------------------------------------------------------------------------------


class Poster:
    """Posts signed concerns to the web server, one keep-alive connection per thread."""

    def __init__(self, port: int, events: EventSource) -> None:
        self.port, self.events, self.local = port, events, threading.local()

    def post(self) -> tuple[str, float] | str:
        """(case id, when the 202 arrived), or what went wrong."""
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                            timeout=REQUEST_TIMEOUT)
        body, headers = self.events.next()
        try:
            connection.request("POST", PATH, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            return type(exc).__name__
        if response.status != 202:
            return str(response.status)
        return str(json.loads(answer)["case_id"]), time.perf_counter()


def floor_sender(client: Celery, queue: str) -> Callable[[], tuple[str, float]]:
    numbers = itertools.count(1)
    run = f"floor-{os.getpid()}-{time.time_ns()}"

    def send() -> tuple[str, float]:
        bench_id = f"{run}-{next(numbers)}"
        client.send_task(FLOOR_TASK, kwargs={"bench_id": bench_id}, queue=queue)
        return bench_id, time.perf_counter()

    return send


@dataclass(frozen=True)
class Latency:
    sent: int
    errors: int
    error_kinds: dict[str, int]  # by HTTP status or exception class
    missing: int  # accepted, but no email within --drain-timeout
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    machine_cpu_busy_percent: float | None


def steady(send: Callable[[], tuple[str, float] | str], options: Options, arrivals: Arrivals, label: str,
           ) -> tuple[Latency, list[str]]:
    """`options.rate` sends a second on a fixed schedule; latency of those in the measured window."""
    total = int((options.warmup + options.duration) * options.rate)
    first_measured = int(options.warmup * options.rate)
    futures: list[Future[tuple[str, float] | str]] = []
    progress(f"{label}: {options.rate:g}/s, {options.warmup:g}s warm-up then {options.duration:g}s measured")
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix=label) as pool:
        start = time.perf_counter()
        for number in range(total):
            if number == first_measured:
                cpu_before = machine_cpu_ticks()
            delay = start + number / options.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send))
        outcomes = [future.result() for future in futures]
    cpu_after = machine_cpu_ticks()
    accepted = [o for o in outcomes if isinstance(o, tuple)]
    measured = [o for o in outcomes[first_measured:] if isinstance(o, tuple)]
    found = arrivals.wait([key for key, _ in accepted], options.drain_timeout)
    latencies = sorted(found[key] - sent for key, sent in measured if key in found)
    busy = None
    if cpu_before and cpu_after and cpu_after[1] > cpu_before[1]:
        busy = round(100 * (cpu_after[0] - cpu_before[0]) / (cpu_after[1] - cpu_before[1]), 1)
    errors = Counter(o for o in outcomes[first_measured:] if isinstance(o, str))
    result = Latency(sent=len(measured), errors=sum(errors.values()), error_kinds=dict(errors.most_common()),
                     missing=len(measured) - len(latencies), p50_ms=percentile_ms(latencies, 50),
                     p99_ms=percentile_ms(latencies, 99), max_ms=percentile_ms(latencies, 100),
                     machine_cpu_busy_percent=busy)
    progress(f"{label}: p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, {result.missing} missing")
    return result, [key for key, _ in accepted]


@dataclass(frozen=True)
class Throughput:
    processed: int
    missing: int
    seconds: float | None
    processed_per_second: float | None


def flat_out(sends: Callable[[int], list[tuple[str, float] | str]], options: Options, arrivals: Arrivals,
             label: str) -> tuple[Throughput, list[str]]:
    """`options.burst` sends as fast as they go; processed/s from the first send to the last arrival."""
    progress(f"{label}: {options.burst} as fast as possible")
    start = time.perf_counter()
    accepted = [o[0] for o in sends(options.burst) if isinstance(o, tuple)]
    found = arrivals.wait(accepted, options.drain_timeout)
    seconds = max(found.values()) - start if found else None
    result = Throughput(processed=len(found), missing=options.burst - len(found),
                        seconds=round(seconds, 3) if seconds else None,
                        processed_per_second=round(len(found) / seconds, 1) if seconds else None)
    progress(f"{label}: {result.processed} processed in {result.seconds} s ({result.processed_per_second}/s)")
    return result, accepted


def concurrently(send: Callable[[], tuple[str, float] | str], clients: int) -> Callable[[int], list[Any]]:
    def run(count: int) -> list[Any]:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            return list(pool.map(lambda _: send(), range(count)))

    return run


# --- a run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    workers: int
    floor: Latency
    product: Latency
    floor_throughput: Throughput
    product_throughput: Throughput

    def ratio(self, field: str) -> float | None:
        product, floor = getattr(self.product, field), getattr(self.floor, field)
        return round(product / floor, 2) if product is not None and floor else None

    @property
    def throughput_ratio(self) -> float | None:
        product, floor = self.product_throughput.processed_per_second, self.floor_throughput.processed_per_second
        return round(product / floor, 2) if product is not None and floor else None


def measure(stack: Stack, options: Options, count: int, seeded: bool) -> tuple[Row, list[str]]:
    send_floor = floor_sender(stack.client, stack.floor_queue)
    with workers(stack, options, count, floor=True):
        floor, _ = steady(send_floor, options, stack.arrivals, f"floor, {count} worker(s)")
        floor_burst, _ = flat_out(concurrently(send_floor, 1), options, stack.arrivals,
                                  f"floor throughput, {count} worker(s)")
    poster = Poster(stack.web.port, EventSource(stack.secret, 0))
    with workers(stack, options, count, floor=False):
        if not seeded:
            seed_staff(stack.web, stack.secret, DSLS)
            wait_applied(stack.database_url)
        product, cases = steady(poster.post, options, stack.arrivals, f"product, {count} worker(s)")
        burst, more = flat_out(concurrently(poster.post, options.burst_clients), options, stack.arrivals,
                               f"product throughput, {count} worker(s)")
    return Row(count, floor, product, floor_burst, burst), cases + more


def wait_applied(database_url: str, timeout: float = 60.0) -> None:
    """The DSLs are known before the first concern (applied by the nudge: no waiting for beat)."""
    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.scalar(select(func.count()).select_from(ReceivedEvent)
                                     .where(ReceivedEvent.applied_at.is_(None))) == 0:
                    return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise BenchError(f"the DSLs' staff.upserted events were not applied within {timeout:.0f}s")


def cases_opened(database_url: str, case_ids: list[str]) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Case)
                                         .where(Case.case_id.in_(case_ids))) or 0)
    finally:
        engine.dispose()


def _cell(value: float | None, width: int) -> str:
    return f"{value:>{width}.1f}" if value is not None else f"{'n/a':>{width}}"


def report(rows: list[Row], options: Options, every_case_opened: bool) -> str:
    lines = [f"webhook 202 -> consent email in the SMTP server, {options.rate:g}/s for {options.duration:g}s "
             f"(after {options.warmup:g}s warm-up); floor: send_task -> worker -> the same SMTP server",
             f"{'workers':>7} {'target':<8} {'sent':>5} {'missing':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
             f"{'machine CPU %':>14}"]
    for row in rows:
        for name, figures in (("floor", row.floor), ("product", row.product)):
            lines.append(f"{row.workers:>7} {name:<8} {figures.sent:>5} {figures.missing:>7} "
                         f"{_cell(figures.p50_ms, 8)} {_cell(figures.p99_ms, 8)} {_cell(figures.max_ms, 8)} "
                         f"{_cell(figures.machine_cpu_busy_percent, 14)}")
            if figures.error_kinds:
                lines.append(f"{'':>7} errors: " + ", ".join(f"{k} x{v}" for k, v in figures.error_kinds.items()))
        lines.append(f"{'':>7} {'ratio':<8} {'':>5} {'':>7} {_cell(row.ratio('p50_ms'), 8)} "
                     f"{_cell(row.ratio('p99_ms'), 8)}")
    lines += ["", f"throughput: {options.burst} posted as fast as possible ({options.burst_clients} clients), "
                  "the same number of floor tasks published at once; processed/s to the last email",
              f"{'workers':>7} {'floor/s':>9} {'product/s':>10} {'ratio':>6} {'missing':>8}"]
    for row in rows:
        lines.append(f"{row.workers:>7} {_cell(row.floor_throughput.processed_per_second, 9)} "
                     f"{_cell(row.product_throughput.processed_per_second, 10)} {_cell(row.throughput_ratio, 6)} "
                     f"{row.product_throughput.missing:>8}")
    one = next((row for row in rows if row.workers == 1), None)
    if one is not None:
        verdict = "meets" if met(one) else "MISSES"
        lines += ["", f"one worker: p50 {one.product.p50_ms} ms, p99 {one.product.p99_ms} ms ({verdict} the targets "
                      f"of {TARGET_P50_MS:g} / {TARGET_P99_MS:g} ms)"]
    concurrency = options.concurrency or os.cpu_count()
    lines += [f"every accepted concern opened its case: {'yes' if every_case_opened else 'NO'}",
              f"(workers: {options.pool} pool x {concurrency}; gunicorn {options.web_workers} x gthread x "
              f"{options.threads}; beat running; {os.cpu_count()} CPUs)"]
    return "\n".join(lines)


def met(row: Row) -> bool:
    p50, p99 = row.product.p50_ms, row.product.p99_ms
    return (p50 is not None and p99 is not None and p50 < TARGET_P50_MS and p99 < TARGET_P99_MS
            and row.product.missing == 0 and row.product.errors == 0)


def run(options: Options) -> int:
    about = machine()
    progress(f"{about['cpus']} CPUs (load average {about['load_average_at_start']}); workers {options.workers}")
    secret = new_webhook_secret()
    rows: list[Row] = []
    case_ids: list[str] = []
    with ExitStack() as stack:
        url = stack.enter_context(bench_database(options.admin_url))
        workdir = Path(tempfile.mkdtemp(prefix="infoshare-latency-")) if options.keep_logs else \
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="infoshare-latency-")))
        if options.keep_logs:
            progress(f"logs in {workdir}")
        arrivals = Arrivals()
        _, smtp_url = stack.enter_context(smtp_server(arrivals))
        run_id = new_webhook_secret()[6:14].replace("/", "x").replace("+", "y")
        queue, floor_queue = f"infoshare-latency-{run_id}", f"infoshare-latency-floor-{run_id}"
        for name in (queue, floor_queue):
            stack.callback(_drop_queue, options.broker, name)
        product = next(t for t in targets(url, secret, workdir, options.broker, queue) if t.name == "product")
        env = {**product.env, "INFOSHARE_SMTP_URL": smtp_url, "INFOSHARE_RATE_LIMIT_PAGES": "off",
               "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(ROOT)]), "BENCH_BROKER_URL": options.broker,
               "BENCH_QUEUE": floor_queue, "BENCH_SMTP_URL": smtp_url}
        web = stack.enter_context(gunicorn(replace(product, env=env), ingest_options(
            ["--workers", str(options.web_workers), "--threads", str(options.threads)]), workdir))
        worker_env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        stack.enter_context(process("beat", [sys.executable, "-m", "celery", "-A", "infoshare_workflow.worker",
                                             "beat", "-s", str(workdir / "beat-schedule"), "--loglevel=WARNING"],
                                    worker_env, workdir))
        client = stack.enter_context(Celery("bench-latency-client", broker=options.broker))
        shared = Stack(web, worker_env, secret, url, queue, floor_queue, arrivals, client, workdir)
        for count in options.workers:
            row, cases = measure(shared, options, count, seeded=bool(rows))
            rows.append(row)
            case_ids += cases
        every_case_opened = cases_opened(url, case_ids) == len(case_ids)
    print(report(rows, options, every_case_opened), flush=True)
    one = next((row for row in rows if row.workers == 1), None)
    if options.json_path is not None:
        document = {
            "machine": about,
            "options": {k: v for k, v in asdict(options).items() if k not in ("admin_url", "json_path")},
            "rows": [{**asdict(row), "ratio_p50": row.ratio("p50_ms"), "ratio_p99": row.ratio("p99_ms"),
                      "throughput_ratio": row.throughput_ratio} for row in rows],
            "targets_ms": {"p50": TARGET_P50_MS, "p99": TARGET_P99_MS},
            "meets_targets": one is not None and met(one),
            "every_case_opened": every_case_opened,
        }
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        options.json_path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        progress(f"wrote {options.json_path}")
    ok = every_case_opened and (one is None or met(one)) and all(r.product.missing == 0 for r in rows)
    return 0 if ok else EXIT_MISSED


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return run_guarded(lambda: run(options), "processes stopped and database dropped")


if __name__ == "__main__":
    sys.exit(main())
