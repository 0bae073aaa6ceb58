"""Test helpers for races: run bodies side by side while engine hooks hold one at a chosen moment.

A race test forces its interleaving: a hook (a SQLAlchemy engine event such as
`after_cursor_execute`) holds one thread just after a statement until another has reached
its own, or for a bounded time when the code under test rightly makes it wait. So each test
fails the same way every time without the lock it proves, instead of now and then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

Hook = Callable[..., None]


def side_by_side(runtime: Any, hooks: dict[str, Hook], **bodies: Callable[[], Any]) -> dict[str, Any]:
    """Run each body in a thread of its name, with `hooks` (engine event name -> listener)
    listening meanwhile; what each body returned, or the exception it raised."""
    outcomes: dict[str, Any] = {}

    def run(name: str, body: Callable[[], Any]) -> None:
        try:
            outcomes[name] = body()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test reads
            outcomes[name] = exc

    for name, hook in hooks.items():
        event.listen(runtime.engine, name, hook)
    try:
        threads = [threading.Thread(target=run, args=(name, body), name=name) for name, body in bodies.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for name, hook in hooks.items():
            event.remove(runtime.engine, name, hook)
    return outcomes


def meeting_after(statement: str, threads: str = "", parties: int = 2, timeout: float = 1.0) -> Hook:
    """An `after_cursor_execute` hook: each thread named `threads…` waits, after its first
    statement starting with `statement`, until `parties` threads have got there, so each has
    read (or claimed) before any goes on; or until `timeout`, when the code under test rightly
    makes one wait for another before it can get there."""
    met, passed = threading.Barrier(parties), set[str]()

    def hook(_conn: Any, _cursor: Any, executed: str, *_: Any) -> None:
        name = threading.current_thread().name
        if name.startswith(threads) and executed.startswith(statement) and name not in passed:
            passed.add(name)
            try:
                met.wait(timeout=timeout)
            except threading.BrokenBarrierError:
                pass

    return hook
