"""CPU instructions per accepted webhook, product beside baseline: a figure load does not move.

Why it exists: `bench/ingest.py`'s throughput ratio is the issue's measure, but on a shared VM
the machine's speed can move by 30 % between runs, and the ratio with it. To judge a change
to the request path, or compare sessions, this script counts the instructions the Python
process executes per request with `valgrind --tool=callgrind`, which repeats to about 0.1 %
whatever else the machine is doing.

Each target (the same two as `bench/ingest.py`, with the same settings, on a fresh database
made the same way) runs in its own process under callgrind with instrumentation off. The
process builds the WSGI app, prepares distinct signed `concern.raised` requests as WSGI
environs, sends the warm-up requests, then switches instrumentation on (`callgrind_control`)
for the measured requests only and calls the app directly: no gunicorn, no HTTP, no clients.
Those costs are the same for both targets, so leaving them out makes this ratio stricter
than the throughput ratio, not kinder. PostgreSQL's CPU is not counted either.

Needs valgrind (`callgrind_control` comes with it) and the PostgreSQL `bench/ingest.py` uses.
Run `python bench/request_cost.py --help` for the options; `bench/README.md` has the figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH_DIR.parent), str(BENCH_DIR)]

from ingest import (  # noqa: E402
    DEFAULT_ADMIN_URL,
    PATH,
    BenchError,
    EventSource,
    Target,
    bench_database,
    new_webhook_secret,
    progress,
    run_guarded,
    targets,
)

SECRET_ENV = "REQUEST_COST_SECRET"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/request_cost.py",
        description=(
            "Count the CPU instructions (valgrind callgrind) the product and the bare Flask baseline "
            "of bench/ingest.py execute per accepted webhook, each app called in-process on PostgreSQL. "
            "Creates and drops its own database."
        ),
        epilog="Exit status: 0 measured, 3 could not run (e.g. no valgrind), 130 interrupted. "
               "No target: the figures go beside bench/ingest.py's in bench/README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=300, help="measured requests per target")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests before them")
    parser.add_argument("--postgres", dest="admin_url", default=DEFAULT_ADMIN_URL, metavar="URL",
                        help="postgresql:// URL of a role allowed to CREATE/DROP DATABASE")
    parser.add_argument("--json", dest="json_path", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--child", metavar="APP", help=argparse.SUPPRESS)  # one target, under callgrind
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup at least 0")
    return args


# --- the measured process ----------------------------------------------------------------------


def _callgrind(switch: str) -> None:
    subprocess.run(["callgrind_control", "--instr=" + switch, str(os.getpid())], check=True, capture_output=True)


def _load_app(spec: str) -> Any:
    """The app of a gunicorn spec, as bench/ingest.py's targets give it: `module:name` or
    `module:factory()`."""
    module, name = spec.split(":", 1)
    found = getattr(importlib.import_module(module), name.removesuffix("()"))
    return found() if name.endswith("()") else found


def child(spec: str, warmup: int, requests: int) -> int:
    from werkzeug.test import EnvironBuilder

    app = _load_app(spec)
    events = EventSource(os.environ[SECRET_ENV], pupils=0)
    environs = []
    for _ in range(warmup + requests):
        body, headers = events.next()
        environs.append(EnvironBuilder(path=PATH, method="POST", data=body, headers=headers).get_environ())
    statuses: Counter[str] = Counter()

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        statuses[status.split()[0]] += 1

    def send(batch: list[dict[str, Any]]) -> None:
        for environ in batch:
            b"".join(app(environ, start_response))

    send(environs[:warmup])
    _callgrind("on")
    send(environs[warmup:])
    _callgrind("off")
    print(json.dumps(statuses))
    return 0 if statuses == {"202": warmup + requests} else 1


# --- the driver --------------------------------------------------------------------------------


def measure(target: Target, secret: str, options: argparse.Namespace, workdir: Path) -> int:
    """Instructions per measured request of one target."""
    out = workdir / f"callgrind.{target.name}.out"
    env = {**target.env, SECRET_ENV: secret, "PYTHONPATH": os.pathsep.join(
        str(p) for p in (target.pythonpath, BENCH_DIR.parent, BENCH_DIR) if p)}
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
               sys.executable, __file__, "--child", target.app,
               "--warmup", str(options.warmup), "--requests", str(options.requests)]
    progress(f"{target.name}: {options.warmup} warm-up and {options.requests} measured requests under callgrind")
    done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"{target.name} did not answer 202 to every request: "
                         f"{done.stdout.strip() or done.stderr.strip()[-2000:]}")
    totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
    return int(totals[-1].split()[1]) // options.requests


def run(options: argparse.Namespace) -> int:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise BenchError("valgrind is not installed (Debian: apt-get install valgrind)")
    secret = new_webhook_secret()
    with tempfile.TemporaryDirectory(prefix="infoshare-cost-") as tmp, bench_database(options.admin_url) as url:
        workdir = Path(tmp)
        # Each accepted event sets the apply nudge's gate in this Redis (and publishes a nudge when open).
        per_request = {t.name: measure(t, secret, options, workdir)
                       for t in targets(url, secret, workdir, "redis://127.0.0.1:6379/14", "unused")}
    ratio = per_request["product"] / per_request["baseline"]
    print(f"{'target':<10}{'instructions/request':>22}")
    for name, count in per_request.items():
        print(f"{name:<10}{count / 1e6:>20.2f} M")
    print(f"\nproduct/baseline instructions: {ratio:.2f} (lower is better; {options.requests} requests each, "
          "in-process, PostgreSQL's CPU not counted)")
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(
            {"instructions_per_request": per_request, "ratio": round(ratio, 3), "requests": options.requests},
            indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if options.child:
        return child(options.child, options.warmup, options.requests)
    return run_guarded(lambda: run(options), "database dropped")


if __name__ == "__main__":
    sys.exit(main())
