"""How far a long command has got (`schedule run`, `audit verify`): a bar on a terminal; when
the output goes to a file or a pipe, a line at most once a second, and always the last."""

from __future__ import annotations

import time
from typing import Any

import click


class Progress:
    """How far a job has got: a bar on a terminal; otherwise a line at most once a second, and the last."""

    def __init__(self, job: str, on_terminal: bool, err: bool = False) -> None:
        self.job, self.on_terminal, self.err = job, on_terminal, err
        self.bar: Any = None
        self.shown_at: float | None = None
        self.last = ""

    def __call__(self, done: int, total: int) -> None:
        if self.on_terminal:
            if self.bar is None:
                self.bar = click.progressbar(length=max(total, 1), label=self.job, show_pos=True,
                                            file=click.get_text_stream("stderr" if self.err else "stdout")).__enter__()
            self.bar.length = max(total, 1)
            self.bar.update(done - self.bar.pos)
            return
        line = f"{self.job}: {done}/{total}"
        now = time.monotonic()
        if line != self.last and (self.shown_at is None or now - self.shown_at >= 1.0 or done >= total):
            click.echo(line, err=self.err)
            self.shown_at, self.last = now, line

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
