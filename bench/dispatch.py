"""How one dispatcher pass grows with the number of open steps, and whether its wall time
follows its database time (issue 14: target, a pass under 1.5x its database time).

For each size (default 10,000 and 100,000 open steps, 1% with a reminder due), it fills a
fresh PostgreSQL database, then measures one `dispatch_timers` pass: wall time, database
time (summed around every statement, the driver's own work included, and every commit),
their ratio against the 1.5x target, and the time of the claim query alone. The baseline measured in the same run
is the same claim query with index scans turned off (a sequential scan), so that ratio shows
what the partial index on due time buys. A warm-up pass first fires a cohort due two hours
ago (as beat's worker has, its statements compiled and its mappers configured once a
process), and peak Python memory is taken on a third cohort (due 12 hours on, fired by a pass
"13 hours on") under tracemalloc, so the tracing does not slow the timed pass; each cohort is
as large as the due one.

    .venv/bin/python bench/dispatch.py [--sizes 10000 100000] [--due-fraction 0.01] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from cryptography.fernet import Fernet
from sqlalchemy import event, text

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from infoshare_workflow.settings.config import Settings  # noqa: E402
from infoshare_workflow.sharing.reminders import claim_due_timers, dispatch_timers  # noqa: E402
from infoshare_workflow.storage.crypto import KeyRing  # noqa: E402
from infoshare_workflow.storage.migrate import upgrade  # noqa: E402
from infoshare_workflow.storage.runtime import build_runtime  # noqa: E402

TARGET = 1.5  # a pass's wall time over its database time
ADMIN_URL = os.environ.get("INFOSHARE_BENCH_POSTGRES", "postgresql://root@127.0.0.1:5432/test")

FILL = """
INSERT INTO staff (staff_id, name, email, active) VALUES ('S-02', :tok, :email_tok, true);
INSERT INTO staff_roles (staff_id, role) VALUES ('S-02', 'dsl');
INSERT INTO pupils (mis_id, given_name, family_name, date_of_birth, updated_at)
  VALUES ('P-1', :tok, :tok, :dob_tok, now());
INSERT INTO concerns (concern_id, pupil_id, raised_at, category, summary, facts, opinion, reporter_staff_id)
  SELECT 'C-' || g, (SELECT id FROM pupils), now(), 'neglect', :tok, :tok, :tok, 'S-17'
  FROM generate_series(1, :n) g;
INSERT INTO cases (case_id, concern_id, dsl_staff_id, status, urgency, legal_hold, opened_at)
  SELECT 'IS-B' || id, id, 'S-02', 'open', 'standard', false, now() FROM concerns;
INSERT INTO steps (case_id, kind, round, status, assignee, opened_at, due_at, reminders_sent, escalated)
  SELECT id, 'consent', 1, 'open', 'S-02', now(), now() + interval '3 days', 0, false FROM cases;
INSERT INTO step_timers (step_id, kind, seq, due_at)
  SELECT id, 'reminder', 1,
         CASE WHEN id % :every = 0 THEN now() - interval '1 minute'
              WHEN id % :every = 1 THEN now() + interval '12 hours'
              WHEN id % :every = 2 THEN now() - interval '2 hours' ELSE now() + interval '1 day' END FROM steps;
INSERT INTO step_timers (step_id, kind, seq, due_at)
  SELECT id, 'reminder', 2, now() + interval '3 days' FROM steps;
INSERT INTO step_timers (step_id, kind, seq, due_at)
  SELECT id, 'escalation', 1, now() + interval '4 days' FROM steps;
"""


class DbClock:
    """Sums the time spent in the database: inside every statement (the driver's work on it
    included) and every commit (a round trip and the WAL flush, the database's time too)."""

    def __init__(self, engine: Any) -> None:
        self.seconds, self.statements, self.commit_seconds = 0.0, 0, 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        commit = engine.dialect.do_commit

        def timed_commit(dbapi_connection: Any) -> None:
            started = time.perf_counter()
            try:
                commit(dbapi_connection)
            finally:
                elapsed = time.perf_counter() - started
                self.seconds += elapsed
                self.commit_seconds += elapsed

        engine.dialect.do_commit = timed_commit

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, *_: Any) -> None:
        self.seconds += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
        self.statements += 1


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, broker_url="memory://",
                    mis_webhook_secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
                    secret_key=secrets.token_urlsafe(16), encryption_keys=(Fernet.generate_key().decode(),),
                    outbox_dir="/tmp/infoshare-bench-outbox")


def claim_query_seconds(runtime: Any, seq_scan: bool, repeats: int = 5) -> float:
    """Median time of the claim query (rolled back, so nothing is taken)."""
    timings = []
    for _ in range(repeats):
        with runtime.sessions() as session, session.begin():
            if seq_scan:
                session.execute(text("SET LOCAL enable_indexscan = off"))
                session.execute(text("SET LOCAL enable_bitmapscan = off"))
            started = time.perf_counter()
            claim_due_timers(session, datetime.now(timezone.utc), limit=200)
            timings.append(time.perf_counter() - started)
            session.rollback()
    return sorted(timings)[len(timings) // 2]


def measure(size: int, due_fraction: float, log: Any) -> dict[str, Any]:
    name = f"infoshare_bench_dispatch_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        runtime = build_runtime(settings_for(url))
        upgrade(runtime.engine)
        token = KeyRing.fernet().encrypt(b"bench").decode()
        log(f"[{size:>7} open steps] filling the database ...")
        started = time.perf_counter()
        with runtime.engine.begin() as conn:
            for statement in FILL.strip().split(";\n"):
                conn.execute(text(statement), {"tok": token, "email_tok": KeyRing.fernet().encrypt(b"s@x.example").decode(),
                                               "dob_tok": KeyRing.fernet().encrypt(b"2013-01-01").decode(),
                                               "n": size, "every": max(1, round(1 / due_fraction))})
            conn.execute(text("ANALYZE"))
        log(f"[{size:>7} open steps] filled in {time.perf_counter() - started:.1f}s; a warm-up pass, an hour ago ...")
        dispatch_timers(runtime.sessions, now=datetime.now(timezone.utc) - timedelta(hours=1))
        log(f"[{size:>7} open steps] measuring the claim query ...")
        with runtime.engine.connect() as conn:
            plan = "\n".join(r[0] for r in conn.execute(text(
                "EXPLAIN SELECT * FROM step_timers WHERE fired_at IS NULL AND due_at <= now() "
                "ORDER BY due_at LIMIT 200 FOR UPDATE SKIP LOCKED")))
            due = conn.execute(text("SELECT count(*) FROM step_timers WHERE fired_at IS NULL AND due_at <= now()")).scalar()
        indexed = claim_query_seconds(runtime, seq_scan=False)
        scanned = claim_query_seconds(runtime, seq_scan=True)
        log(f"[{size:>7} open steps] one dispatch pass over {due} due reminders ...")
        clock = DbClock(runtime.engine)
        started = time.perf_counter()
        result = dispatch_timers(runtime.sessions)
        wall = time.perf_counter() - started
        db_seconds, statements, commits = clock.seconds, clock.statements, clock.commit_seconds
        log(f"[{size:>7} open steps] a second pass, 12 hours on, under tracemalloc (peak memory) ...")
        tracemalloc.start()
        later = dispatch_timers(runtime.sessions, now=datetime.now(timezone.utc) + timedelta(hours=13))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        runtime.engine.dispose()
        return {"open_steps": size, "due": due, "fired": result.reminders, "fired_later": later.reminders,
                "pass_wall_s": round(wall, 3), "pass_db_s": round(db_seconds, 3), "of_which_commit_s": round(commits, 3),
                "wall_over_db": round(wall / db_seconds, 2) if db_seconds else None, "target": TARGET,
                "statements": statements,
                "claim_query_ms": round(indexed * 1000, 2), "claim_query_seq_scan_ms": round(scanned * 1000, 2),
                "index_speedup": round(scanned / indexed, 1) if indexed else None,
                "peak_python_mb": round(peak / 2**20, 1), "plan": plan}
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="open steps per run")
    parser.add_argument("--due-fraction", type=float, default=0.01, help="share of steps with a reminder due")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    rows = [measure(size, args.due_fraction, lambda line: print(line, flush=True)) for size in args.sizes]
    print()
    print(f"{'open steps':>10} {'due':>6} {'pass wall':>10} {'pass DB':>9} {'commits':>8} {'wall/DB':>8} {'target':>7} {'stmts':>6} "
          f"{'claim (index)':>14} {'claim (seq scan)':>17} {'index x':>8} {'peak MB':>8}")
    for r in rows:
        verdict = "ok" if r["wall_over_db"] is not None and r["wall_over_db"] < r["target"] else "MISSED"
        print(f"{r['open_steps']:>10} {r['due']:>6} {r['pass_wall_s']:>9.2f}s {r['pass_db_s']:>8.2f}s "
              f"{r['of_which_commit_s']:>7.2f}s "
              f"{r['wall_over_db']:>7.2f}x {'<' + str(r['target']) + 'x':>7} {r['statements']:>6} "
              f"{r['claim_query_ms']:>12.2f}ms {r['claim_query_seq_scan_ms']:>15.2f}ms "
              f"{r['index_speedup']:>7}x {r['peak_python_mb']:>8.1f}  {verdict}")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(f"\ngrowth {first['open_steps']} -> {last['open_steps']} open steps: claim query x"
              f"{last['claim_query_ms'] / first['claim_query_ms']:.2f}, pass DB time x"
              f"{last['pass_db_s'] / first['pass_db_s']:.2f} (due work x{last['due'] / first['due']:.0f})")
    print("\nclaim query plan (largest run):\n" + rows[-1]["plan"])
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
