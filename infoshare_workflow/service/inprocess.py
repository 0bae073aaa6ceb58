"""The in-process worker for the embedded defaults (`infoshare serve`/`demo` with nothing set).

With no broker configured, published work goes onto a local queue that one background
thread runs through the same Celery tasks; every second it also runs the outbox relay, so
work committed but never run (say, the process stopped) is picked up on the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery

from infoshare_workflow.cases.intake import apply_pending
from infoshare_workflow.cases.rejections import flush_tallies
from infoshare_workflow.review.lists import remind_due_lists
from infoshare_workflow.schedules.runs import run_due_schedules
from infoshare_workflow.sharing.reminders import dispatch_timers
from infoshare_workflow.storage.outbox import relay
from infoshare_workflow.storage.runtime import Runtime

log = logging.getLogger(__name__)


class InProcessWorker(threading.Thread):
    def __init__(self, celery: Celery, runtime: Runtime, interval: float = 1.0,
                 after_task: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        super().__init__(name="infoshare-inprocess-worker", daemon=True)
        self.celery, self.runtime, self.interval = celery, runtime, interval
        self.after_task = after_task
        self.work: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.stopping = threading.Event()
        self.idle = threading.Event()
        celery.loader.import_default_modules()
        runtime.publish = self.submit

    def submit(self, message_id: str, task: str, kwargs: dict[str, Any]) -> None:
        self.work.put((task, {**kwargs, "outbox_id": message_id}))

    def run(self) -> None:
        relay(self.runtime.sessions, self.submit, self.runtime.lease)
        while not self.stopping.is_set():
            try:
                task, kwargs = self.work.get(timeout=self.interval)
            except queue.Empty:
                self.idle.set()
                self.tick()
                continue
            self.idle.clear()
            result = self.celery.tasks[task].apply(kwargs=kwargs)
            if not result.successful():
                log.error("in-process task %s failed: %s", task, result.result)
            elif self.after_task is not None:
                self.after_task(task, kwargs)

    def tick(self) -> None:
        """What beat's dispatch task does, in-process: reminders, escalations, review-list reminders
        and sweeps due, then the relay."""
        apply_pending(self.runtime.sessions)
        dispatch_timers(self.runtime.sessions)
        with self.runtime.transaction() as session:
            remind_due_lists(session)
        run_due_schedules(self.runtime.sessions)
        relay(self.runtime.sessions, self.submit, self.runtime.lease)
        flush_tallies(self.runtime.sessions)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
