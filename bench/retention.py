"""How the retention sweep grows with the number of cases (issue 12: retention reviews).

For each size (default 100,000 and 1,000,000 closed cases, 10% due for review) it fills a
fresh PostgreSQL database, then measures, each in a fresh process so that its peak memory
is its own:

- the baseline: a bare keyset scan of the due rows (`SELECT id, dsl FROM cases WHERE due
  AND id > last ORDER BY id LIMIT 1000`, to the end), the least any sweep must do;
- the sweep: `review.sweep.retention_sweep`, which also skips cases already listed or being
  disposed of, puts every due case on its DSL's review list and emails one link per list.

It prints wall time and peak RSS for both, and the ratio. Targets: the sweep of 1M cases in
under 2x the baseline's time, with peak RSS under 200 MB, and time growing linearly with
size while memory stays flat.

    .venv/bin/python bench/retention.py [--sizes 100000 1000000] [--due-every 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import time
import uuid
from typing import Any

import psycopg
from cryptography.fernet import Fernet

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ADMIN_URL = os.environ.get("INFOSHARE_BENCH_POSTGRES", "postgresql://root@127.0.0.1:5432/test")
DSLS = 5

FILL = """
INSERT INTO pupils (mis_id, given_name, family_name, date_of_birth, updated_at)
  VALUES ('P-1', %(tok)s, %(tok)s, %(tok)s, now());
INSERT INTO concerns (concern_id, pupil_id, raised_at, category, summary, facts, opinion, reporter_staff_id)
  SELECT 'C-' || g, (SELECT id FROM pupils), now(), 'neglect', %(tok)s, %(tok)s, %(tok)s, 'S-17'
  FROM generate_series(1, %(n)s) g;
INSERT INTO cases (case_id, concern_id, dsl_staff_id, status, outcome, urgency, threshold, retention_category,
                   review_on, legal_hold, opened_at, closed_at)
  SELECT 'IS-B' || id, id, 'S-D' || ((id / %(every)s) %% %(dsls)s), 'closed', 'not_shared', 'standard', 'early_help',
         'early_help',
         CASE WHEN id %% %(every)s = 0 THEN current_date - 1 ELSE current_date + 365 END,
         false, now() - interval '7 years', now() - interval '6 years'
  FROM concerns;
VACUUM ANALYZE
"""


def baseline(runtime: Any) -> int:
    """The bare keyset scan of the due rows, in batches of the sweep's size."""
    from sqlalchemy import text

    from infoshare_workflow.review.sweep import BATCH

    seen, after = 0, 0
    while True:
        with runtime.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT id, dsl_staff_id FROM cases WHERE status = 'closed' AND review_on <= current_date "
                "AND id > :after ORDER BY id LIMIT :batch"), {"after": after, "batch": BATCH}).all()
        if not rows:
            return seen
        seen += len(rows)
        after = rows[-1][0]


def measure(kind: str, url: str, key: str) -> dict[str, Any]:
    """Run one measurement in this (fresh) process."""
    from infoshare_workflow.review.sweep import retention_sweep
    from infoshare_workflow.settings.config import Settings
    from infoshare_workflow.storage.runtime import build_runtime

    settings = Settings(database_url=url, broker_url="memory://", mis_webhook_secret="whsec_" + "A" * 32,
                        secret_key=secrets.token_urlsafe(32), encryption_keys=(key,), school_name="Bench School",
                        outbox_dir="/tmp/infoshare-bench-outbox")
    runtime = build_runtime(settings)
    started = time.perf_counter()
    if kind == "baseline":
        rows = baseline(runtime)
    else:
        rows = retention_sweep(runtime, 1, lambda done, total: None, lambda session, kind, row: None)["listed"]
    seconds = time.perf_counter() - started
    return {"kind": kind, "rows": rows, "seconds": round(seconds, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def fresh_database(size: int, every: int, key: str) -> str:
    from sqlalchemy import create_engine

    from infoshare_workflow.storage.crypto import KeyRing
    from infoshare_workflow.storage.migrate import upgrade

    name = f"infoshare_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    upgrade(engine)
    engine.dispose()
    KeyRing.configure((key,))
    fernet = Fernet(key.encode())
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(DSLS):
            conn.execute("INSERT INTO staff (staff_id, name, email, active) VALUES (%s, %s, %s, true)",
                         (f"S-D{i}", fernet.encrypt(b"DSL").decode(), fernet.encrypt(f"d{i}@school.example".encode()).decode()))
            conn.execute("INSERT INTO staff_roles (staff_id, role) VALUES (%s, 'dsl')", (f"S-D{i}",))
        params = {"tok": fernet.encrypt(b"x").decode(), "n": size, "every": every, "dsls": DSLS}
        for statement in FILL.split(";"):
            if statement.strip():
                conn.execute(statement, params if "%(" in statement else None)
    return url


def drop(url: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def child(kind: str, url: str, key: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--measure", kind, "--url", url, "--key", key],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--due-every", type=int, default=10, help="one case in N is due (default 10: 10%%)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--measure", choices=["baseline", "sweep"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.url, args.key)))
        return
    key = Fernet.generate_key().decode()
    results = []
    print(f"{'cases':>10} {'due':>8} {'baseline s':>11} {'sweep s':>8} {'ratio':>6} {'baseline MB':>12} {'sweep MB':>9}")
    for size in args.sizes:
        print(f"filling {size:,} cases ...", file=sys.stderr, flush=True)
        url = fresh_database(size, args.due_every, key)
        try:
            base, sweep = child("baseline", url, key), child("sweep", url, key)
        finally:
            drop(url)
        assert base["rows"] == sweep["rows"], (base, sweep)
        ratio = sweep["seconds"] / base["seconds"]
        results.append({"cases": size, "due": base["rows"], "baseline": base, "sweep": sweep, "ratio": round(ratio, 2)})
        print(f"{size:>10,} {base['rows']:>8,} {base['seconds']:>11.2f} {sweep['seconds']:>8.2f} {ratio:>6.2f} "
              f"{base['peak_rss_mb']:>12.1f} {sweep['peak_rss_mb']:>9.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
