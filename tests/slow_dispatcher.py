"""A dispatcher process for fault tests: each point takes a little longer, so a test can
SIGKILL it in the middle of a batch. Run with the INFOSHARE_* environment of the test."""

from __future__ import annotations

import sys
import time

from infoshare_workflow.settings.config import load_settings
from infoshare_workflow.sharing import reminders
from infoshare_workflow.storage.runtime import build_runtime

real_fire = reminders.fire


def slow_fire(*args, **kwargs):  # type: ignore[no-untyped-def]
    time.sleep(float(sys.argv[2]))
    return real_fire(*args, **kwargs)


if __name__ == "__main__":
    reminders.fire = slow_fire
    runtime = build_runtime(load_settings())
    reminders.dispatch_timers(runtime.sessions, batch=int(sys.argv[1]),
                             on_batch=lambda r: print(f"committed {r.reminders}", flush=True))
