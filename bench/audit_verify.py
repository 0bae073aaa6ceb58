"""How long `infoshare audit verify` takes over a long chain, beside a plain scan of the same rows (issue 14).

Why it exists: verifying the tamper-evident chain (golden rule 7) recomputes one SHA-256 per
event, in Python, in order. The database can hand the rows over far faster than that, so the
figure that matters is how close verification comes to a bare read of the same rows.

What it does, for each size (default 100,000 and 1,000,000 events):

1. creates a fresh PostgreSQL database (`infoshare_bench_<random>`, as bench/ingest.py does),
   applies the product's migrations and loads a valid chain with COPY: realistic actors, actions, case ids (one in
   five none) and canonical JSON details, microsecond timestamps (one in a thousand on a whole
   second), every hash by `records.audit.chain_hash` as `write_pending` writes it; then
   VACUUM ANALYZE, as autovacuum would have left a live database;
2. measures, each in a fresh process so that its memory is its own, `--repeats` times:
   - the baseline: a psycopg server-side cursor over the same rows and columns in seq order,
     fetching batches of `records.audit.VERIFY_BATCH` and discarding them;
   - verify: `records.audit.verify(session)` in one transaction, as `infoshare audit verify`
     runs it (it must report ok with every event checked);
   and once more verify under tracemalloc (untimed: tracing slows allocation) for the peak of
   Python's own allocations;
3. prints the median wall times, the ratio verify/scan, events per second, peak RSS growth
   over the process's size before the measurement, the tracemalloc peak, and, at a million
   events or more, whether verify met its target (a million events in under 10 s, larger
   chains pro rata); drops the database.

Exit status: 0 target met (and every chain verified), 1 missed (or a chain did not verify),
2 bad arguments, 3 the benchmark could not run, 130 interrupted. `bench/README.md` has the
figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]

import psycopg  # noqa: E402
from ingest import (  # noqa: E402
    DEFAULT_ADMIN_URL,
    EXIT_COULD_NOT_RUN,
    EXIT_MISSED,
    BenchError,
    bench_database,
    machine,
    progress,
    run_guarded,
)

from infoshare_workflow.records import audit  # noqa: E402
from infoshare_workflow.storage.db import make_engine, make_sessionmaker, transaction  # noqa: E402

TARGET_EVENTS, TARGET_SECONDS = 1_000_000, 10.0  # judged at this size and above, pro rata
COLUMNS = "seq, at, actor, action, case_id, details, prev_hash, hash"
ACTORS = ("mis", "system", "staff:S-0142", "staff:S-0007", "admin:ops")
ACTIONS = ("event.accepted", "case.opened", "step.opened", "step.completed", "email.queued", "reminder.sent")


# --- the chain -------------------------------------------------------------------------------


def chain_rows(size: int, start: datetime) -> Iterator[tuple[Any, ...]]:
    """`size` events of a valid chain, hashed by the product's own `chain_hash`."""
    prev = audit.GENESIS
    for seq in range(1, size + 1):
        at = start + timedelta(microseconds=37_013 * seq)
        if seq % 1000 == 0:
            at = at.replace(microsecond=0)
        case_id = None if seq % 5 == 0 else f"IS-2026-{seq // 7:06d}"
        details = audit.canonical({"event_id": f"msg_{seq:012x}", "type": "concern.raised"} if seq % 3 == 0
                                  else {"step": "consent", "round": seq % 3 + 1, "case": case_id})
        actor, action = ACTORS[seq % len(ACTORS)], ACTIONS[seq % len(ACTIONS)]
        digest = audit.chain_hash(seq, at, actor, action, case_id, details, prev)
        yield seq, at, actor, action, case_id, details, prev, digest
        prev = digest


def fill(url: str, size: int) -> None:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT count(*) FROM audit_events").fetchone() != (0,):
            raise BenchError("the migrated database already holds audit events; the chain must start at 1")
        with conn.cursor().copy(f"COPY audit_events ({COLUMNS}) FROM STDIN") as copy:
            for n, row in enumerate(chain_rows(size, datetime(2026, 9, 1, 7, 30, tzinfo=timezone.utc)), 1):
                copy.write_row(row)
                if n % 250_000 == 0:
                    progress(f"[{size:>9,} events] {n:,} loaded")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE audit_events")


@contextmanager
def chain_database(admin_url: str, size: int) -> Iterator[str]:
    """A fresh, migrated database (ingest's, dropped after) holding a valid chain of `size` events."""
    with bench_database(admin_url) as url:
        started = time.perf_counter()
        fill(url, size)
        progress(f"[{size:>9,} events] filled in {time.perf_counter() - started:.1f}s")
        yield url


# --- one measurement, in a fresh process -------------------------------------------------------


def scan(url: str) -> tuple[int, bool]:
    """The baseline: every row and column, streamed in verify's batch size, and thrown away."""
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor(name="bench_scan") as cursor:
        cursor.execute(f"SELECT {COLUMNS} FROM audit_events ORDER BY seq")
        while batch := cursor.fetchmany(audit.VERIFY_BATCH):
            rows += len(batch)
    return rows, True


def verify(url: str) -> tuple[int, bool]:
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            result = audit.verify(session)
    finally:
        engine.dispose()
    return result.events, result.ok


def measure(kind: str, url: str) -> dict[str, Any]:
    """Run one measurement in this (fresh) process: rows, whether the chain verified, wall seconds, memory."""
    work = scan if kind == "scan" else verify
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    traced = kind == "verify-tracemalloc"
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    rows, ok = work(url)
    seconds = time.perf_counter() - started
    figures = {"kind": kind, "rows": rows, "ok": ok, "seconds": seconds,
               "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024}
    if traced:
        figures["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    return figures


def child(kind: str, url: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--measure", kind, "--url", url],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"the {kind} measurement failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the run -------------------------------------------------------------------------------------


def run_size(admin_url: str, size: int, repeats: int) -> dict[str, Any]:
    with chain_database(admin_url, size) as url:
        runs: dict[str, list[dict[str, Any]]] = {"scan": [], "verify": []}
        for n in range(1, repeats + 1):
            for kind in runs:
                runs[kind].append(child(kind, url))
                progress(f"[{size:>9,} events] {kind} {n}/{repeats}: {runs[kind][-1]['seconds']:.2f}s")
        traced = child("verify-tracemalloc", url)
    verified = all(m["ok"] and m["rows"] == size for m in [*runs["verify"], traced])
    if not verified:
        progress(f"[{size:>9,} events] verify did NOT report ok over every event: {runs['verify'] + [traced]}")
    if any(m["rows"] != size for m in runs["scan"]):
        raise BenchError(f"the scan saw {[m['rows'] for m in runs['scan']]} rows, not {size}")
    target_s = TARGET_SECONDS * size / TARGET_EVENTS if size >= TARGET_EVENTS else None
    scan_s = statistics.median(m["seconds"] for m in runs["scan"])
    verify_s = statistics.median(m["seconds"] for m in runs["verify"])
    return {
        "events": size, "scan_s": round(scan_s, 3), "verify_s": round(verify_s, 3),
        "ratio": round(verify_s / scan_s, 2), "events_per_s": round(size / verify_s),
        "scan_rss_growth_mb": round(max(m["rss_growth_mb"] for m in runs["scan"]), 1),
        "verify_rss_growth_mb": round(max(m["rss_growth_mb"] for m in runs["verify"]), 1),
        "verify_tracemalloc_peak_mb": round(traced["tracemalloc_peak_mb"], 1),
        "verified": verified, "target_s": target_s,
        "meets_target": None if target_s is None else verified and verify_s <= target_s,
        "seconds_each": {kind: [round(m["seconds"], 3) for m in measured] for kind, measured in runs.items()},
    }


def report(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'events':>10} {'scan s':>7} {'verify s':>9} {'ratio':>6} {'events/s':>9} {'scan RSS+':>10} "
             f"{'verify RSS+':>12} {'verify py peak':>15} {'target':>8}  met"]
    for r in rows:
        lines.append(f"{r['events']:>10,} {r['scan_s']:>7.2f} {r['verify_s']:>9.2f} {r['ratio']:>6.2f} "
                     f"{r['events_per_s']:>9,} {r['scan_rss_growth_mb']:>7.1f} MB {r['verify_rss_growth_mb']:>9.1f} MB "
                     f"{r['verify_tracemalloc_peak_mb']:>12.1f} MB "
                     f"{'-' if r['target_s'] is None else format(r['target_s'], '.1f') + 's':>8}  "
                     f"{ {None: '-', True: 'yes', False: 'NO'}[r['meets_target']]}"
                     f"{'' if r['verified'] else '  (the chain did NOT verify)'}")
    lines.append(f"\ntarget: verify {TARGET_EVENTS:,} events in under {TARGET_SECONDS:.0f} s (larger chains pro rata), "
                 "memory flat; RSS+ is peak RSS growth during the measurement, py peak is tracemalloc's")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    about = machine()
    progress(f"{about['cpus']} CPUs (load average {about['load_average_at_start']}); sizes "
             f"{', '.join(f'{s:,}' for s in args.sizes)}; {args.repeats} repeats")
    rows = [run_size(args.postgres, size, args.repeats) for size in args.sizes]
    print(report(rows), flush=True)
    met = all(r["verified"] and r["meets_target"] is not False for r in rows)
    if args.json:
        document = {"machine": about, "repeats": args.repeats,
                    "target": {"events": TARGET_EVENTS, "seconds": TARGET_SECONDS},
                    "batch": audit.VERIFY_BATCH, "results": rows, "meets_target": met}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
        progress(f"wrote {args.json}")
    return 0 if met else EXIT_MISSED


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/audit_verify.py",
        description="Measure `audit verify` over a chain of N events on PostgreSQL beside a plain streamed scan "
                    "of the same rows, in the same run. Creates and drops its own database per size.",
        epilog=f"Target: {TARGET_EVENTS:,} events in under {TARGET_SECONDS:.0f} s (judged at that size and above, "
               "pro rata), memory flat. "
               f"Exit status: 0 target met, {EXIT_MISSED} missed (or the chain did not verify), 2 bad arguments, "
               f"{EXIT_COULD_NOT_RUN} the benchmark could not run, 130 interrupted. Figures: bench/README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[100_000, 1_000_000],
                        help="events in the chain, one fresh database each")
    parser.add_argument("--repeats", type=positive_int, default=3, help="timed runs of each; the median is reported")
    parser.add_argument("--postgres", default=DEFAULT_ADMIN_URL,
                        help="a PostgreSQL URL whose role may create databases (or INFOSHARE_BENCH_POSTGRES)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure and the machine to this file")
    parser.add_argument("--measure", choices=["scan", "verify", "verify-tracemalloc"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.url)))
        return 0
    return run_guarded(lambda: run(args), "database dropped")


if __name__ == "__main__":
    sys.exit(main())
