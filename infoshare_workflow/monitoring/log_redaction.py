"""Log lines that carry neither a link's token nor a field's value.

Golden rule 6 ("shared securely") and INTERFACES.md §2: a task or disclosure token in a
URL is a key to a child's record, so an access log, an error log or a proxy's log must not
hold one; and an exception's message may quote what it failed on (a `KeyError('ibrahim')`,
a parser's "invalid value ..."), so tracebacks keep their frames and the exception's class
and withhold its message. One filter does both, installed on every handler of the web app
(gunicorn's access and error logs included, via `GunicornLogger`), the worker, beat and
the command line.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from gunicorn.glogging import Logger as _GunicornBaseLogger

# Everything after `/tasks/` and `/disclosures/`: a task or disclosure token, and the signed
# receipt of `/tasks/recorded/<receipt>` (which names a step), with whatever path follows them.
_TOKEN_PATH = re.compile(r"(/(?:tasks|disclosures)/)[^\s?#\"']+")
REDACTED = "[token]"
WITHHELD = "(message withheld: it may quote personal data)"


def redact(text: str) -> str:
    """The text with every task and disclosure token replaced."""
    return _TOKEN_PATH.sub(r"\1" + REDACTED, text)


def withheld_traceback(error: BaseException) -> str:
    """The chain of tracebacks with each exception's class and none of their messages."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for position, exc in enumerate(reversed(chain)):
        if position:
            parts.append("\nDuring handling of the above exception, another exception occurred:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(exc.__traceback__))
        parts.append(f"{_class_name(exc)} {WITHHELD}")
    return "".join(parts)


def _class_name(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


class RedactingFilter(logging.Filter):
    """Rewrites a record in place: tokens out of its message, messages out of its exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and isinstance(record.args, dict) and "exc" in record.args:
            # Celery's "Task ... raised unexpected: %(exc)s" quotes the exception's repr.
            record.args = {**record.args, "exc": f"{_class_name(error)} {WITHHELD}"}
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still logged, as its template
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if error is not None:
            record.exc_text = withheld_traceback(error)
        return True


_FILTER = RedactingFilter()


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of `logger` (the root logger by default); idempotent."""
    for handler in (logger or logging.getLogger()).handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


class GunicornLogger(_GunicornBaseLogger):  # type: ignore[misc]
    """gunicorn's logger with the filter on its access and error logs:
    `gunicorn --logger-class infoshare_workflow.monitoring.log_redaction.GunicornLogger`."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install(self.error_log)
        install(self.access_log)

